from httpool._conn cimport Connection


cdef class TLSConfig:
    cdef:
        readonly object verify        # True, False, a path, or an ssl.SSLContext
        readonly object cert          # None, a path, or (certificate, key)
        readonly bint trust_env       # verify=True honours SSL_CERT_FILE and SSL_CERT_DIR
        object _context               # the SSLContext, built on first use
        readonly dict sessions        # origin key -> the last resumable ssl.SSLSession

    cdef object context(self)
    cdef TLSConnection connection(self, object key, str origin, dict limits, str host)


cdef class TLSConnection(Connection):
    cdef:
        TLSConfig config
        str host                      # for SNI and the certificate check
        object tls                    # ssl.SSLObject, from the first handshake step
        object _sslobj                # its C object (_ssl._SSLSocket), for the calls per record
        object incoming               # ssl.MemoryBIO: records received, not yet decrypted
        object outgoing               # ssl.MemoryBIO: records written, not yet taken
        bytes _pending                # records taken from outgoing, not all sent
        Py_ssize_t _pending_sent
        char* _records                # receive buffer for ciphertext
        object tls_error              # the ssl error behind an EPROTO, for its message
        bint established              # the handshake is done
        bint _session_kept            # this connection's session is in config.sessions

    cdef int _handshake_io_failed(self, int err) except -1
    cdef int _keep_session(self) except -1
    cdef int _idle_records(self) except -1
