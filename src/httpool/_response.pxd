from httpool._conn cimport Connection


cdef class Response:
    cdef:
        readonly int status_code
        readonly str http_version      # "HTTP/1.1"
        readonly str url
        readonly str method
        public object index            # the input position, in batch APIs
        bytes _reason
        object _headers                # the parser's (bytes, bytes) list, then Headers
        public object _content         # the body once read whole, else None
        public Connection _conn        # None once the connection went back (released)
        object _pool
        readonly double _deadline      # absolute monotonic time, or < 0
        readonly double _read_timeout  # seconds, or < 0
        readonly double _started
        public double _finished        # when the body ended; < 0 until then
        public bint _streamed          # iter_bytes() took part of the body

    cdef fill(self, object pool, Connection conn, str method, str url, double deadline,
              double read_timeout, double started)
