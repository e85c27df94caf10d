from httpool._exchange cimport Exchange


cdef class Response:
    cdef:
        readonly int status_code
        readonly str http_version      # "HTTP/1.1"
        readonly str url
        readonly str method
        public object index            # the input position, in batch APIs
        readonly int retries           # the retries it took (httpool.Retry)
        bytes _reason
        object _headers                # the exchange's (bytes, bytes) list, then Headers
        bytes _content                 # the body once read whole, else None
        Exchange _exchange             # while the body is not all read: releases the connection
        double _started                # when the request began (monotonic)
        double _finished               # when the connection was released; < 0 until then
        bint _streamed                 # iter_bytes() took part of the body
        readonly bint _sets_cookie     # the head has Set-Cookie (httpool.policies.cookies)
        object _decoder                # of its Content-Encoding (httpool.policies.decoding), or None
        bytes _raw                     # the body as received, when _content is it decoded
        str _encoding                  # set by the caller, else None
        list _history                  # the responses before it (redirects, auth), or None
        # The Request it answers when a Flow sent it, else Plan.args (its own
        # arguments, or None), for next_request.
        object _request


# A redirect's status (301, 302, 303, 307, 308): a Flow takes over when it is to be followed.
cdef bint redirect_status(int status) noexcept
# The response of an exchange whose head arrived (its body too, when finished).
cdef Response response_of(Exchange exchange)
# The same, filling a new response of a subclass (httpool._async.AsyncResponse).
cdef Response fill_response(Response response, Exchange exchange)
# The exchange read() reads the body from (it raises if there is none).
cdef Exchange _to_read(Response response)
# The body, once read whole: kept, and decoded.
cdef int _took_body(Response response, bytes content) except -1
# The pieces iter_bytes() yields: of a body read whole, and of each chunk received.
cdef object _whole_body(Response response, Py_ssize_t chunk_size, object decoder)
cdef object _pieces(bytes chunk, Py_ssize_t chunk_size, object decoder)
# Let go of a finished exchange (its connection is back): a kept response
# holds only what it shows.
cdef int _forget_exchange(Response response) except -1
