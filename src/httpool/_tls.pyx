# cython: language_level=3
"""TLS on httpool's own sockets: an ``ssl.SSLObject`` over two memory BIOs.

Strategy
--------
The SSLObject only encrypts and decrypts; the bytes of its records cross the
socket where a plain connection's do: ``Connection._sock_recv`` (so the
blocking driver's folded wait, a recv bounded by SO_RCVTIMEO, works for TLS as
it does for plain HTTP) and ``send`` with MSG_DONTWAIT. The socket stays
httpool's, in the same epoll sets, under the same deadlines. A non-blocking
``ssl.SSLSocket`` would own the descriptor and its blocking mode instead; the
README gives the numbers that decided between the two.

The handshake runs in the connect phase (``handshake_step``: the connect
timeout and the total deadline bound it, whatever the peer trickles).
Verification is the SSLContext's (TLSConfig builds one from the pool's
``verify`` and ``cert``); its failures become a TLSError that says why in
words. Sessions: each origin keeps the last resumable session a connection
saw (a TLS 1.3 ticket arrives after the handshake, so it is taken when the
connection first goes idle) and new connections offer it.

Bytes waiting on an idle TLS connection are records, not necessarily
application data: ``check_alive`` reads them through the SSLObject, so a
NewSessionTicket or a KeyUpdate leaves the connection alive, close_notify
makes it stale like EOF, and application data is stray bytes.

Buffer lifetimes: the memoryviews handed to the SSLObject wrap C buffers
(the connection's receive buffer, the caller's body space, the iovecs of the
request being sent) and are used only within the call that makes them.
"""

from cpython.buffer cimport PyBUF_READ, PyBUF_WRITE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from cpython.memoryview cimport PyMemoryView_FromMemory
from libc.stdlib cimport malloc, free

import os
import ssl

from httpool._conn cimport Connection, CONN_CLOSED, Handshake, HS_FULL, HS_READ, HS_RESUMED, HS_WRITE
from httpool._sys cimport *
from httpool._exceptions import ConnectionClosed, TLSError

cdef enum:
    # Ciphertext is received in pieces of this size: a few full records.
    RECORDS_BUFFER = 65536
    # Plaintext is encrypted at most this much per send step, so a large
    # body is never held twice in memory at once.
    ENCRYPT_BYTES = 262144

# Certificate verification codes (OpenSSL's X509_V_ERR_*) said in words.
_VERIFY_REASONS = {
    2: "the certificate of its issuer is unknown (unknown certificate authority)",
    9: "its certificate is not yet valid",
    10: "its certificate has expired",
    18: "its certificate is self-signed and not trusted (unknown certificate authority)",
    19: "its chain ends in a self-signed certificate that is not trusted "
        "(unknown certificate authority)",
    20: "its certificate is signed by an unknown certificate authority",
    21: "its certificate is signed by an unknown certificate authority",
    62: "its certificate does not match the host name",
    64: "its certificate does not match the IP address",
}

# OpenSSL's reasons for a failed handshake, said in words.
_SSL_REASONS = {
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "handshake failure: no protocol version or cipher in common",
    "NO_SHARED_CIPHER": "handshake failure: no cipher in common",
    "NO_CIPHERS_AVAILABLE": "handshake failure: no cipher in common",
    "UNSUPPORTED_PROTOCOL": "handshake failure: no protocol version in common",
    "TLSV1_ALERT_PROTOCOL_VERSION": "handshake failure: no protocol version in common",
    "NO_PROTOCOLS_AVAILABLE": "handshake failure: no protocol version in common",
    "WRONG_VERSION_NUMBER": "the server did not answer in TLS (is it plain HTTP?)",
    "RECORD_LAYER_FAILURE": "the server did not answer in TLS (is it plain HTTP?)",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED":
        "the server requires a client certificate (the pool's cert= option)",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the server rejected the client certificate",
    "TLSV1_ALERT_UNKNOWN_CA": "the server does not trust the client certificate's authority",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "the server says the client certificate has expired",
    "TLSV1_ALERT_ACCESS_DENIED": "the server denied access to this client certificate",
}


def describe_tls_error(exc, str host) -> str:
    """What went wrong, in words, from one of the ssl module's exceptions."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = _VERIFY_REASONS.get(exc.verify_code)
        if reason is None:
            return f"the server's certificate failed verification: {exc.verify_message}"
        if exc.verify_code in (62, 64):
            reason = f"{reason} {host!r}"
        return f"the server's certificate failed verification: {reason}"
    if isinstance(exc, ssl.SSLEOFError):
        return "the server closed the connection in the middle of the TLS protocol"
    if isinstance(exc, ssl.SSLError):
        said = _SSL_REASONS.get(exc.reason or "")
        detail = exc.reason or exc.strerror or str(exc)
        return f"{said} ({detail})" if said else f"TLS error: {detail}"
    return f"TLS error: {exc}"


def _context_without_environment():
    """A default context that trusts OpenSSL's built-in locations, never
    the ones SSL_CERT_FILE and SSL_CERT_DIR name (trust_env=False)."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if cafile is None and capath is None:
        # Nothing to trust: every certificate check fails, which says so.
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return ssl.create_default_context(cafile=cafile, capath=capath)


cdef class TLSConfig:
    """The pool's TLS options, checked when the pool is made; the
    SSLContext is built on the first https connection (loading the system's
    trust store takes milliseconds that plain HTTP users need not pay)."""

    def __init__(self, verify=True, cert=None, bint trust_env=True):
        if isinstance(verify, ssl.SSLContext):
            if cert is not None:
                raise ValueError("cert= cannot be combined with verify=<SSLContext>: "
                                 "load the client certificate into the context "
                                 "(context.load_cert_chain)")
        elif isinstance(verify, (str, os.PathLike)):
            if not os.path.exists(verify):
                raise ValueError(f"verify={os.fspath(verify)!r}: no such CA file or directory")
        elif not isinstance(verify, bool):
            raise TypeError("verify must be True, False, a path to CA certificates or an "
                            f"ssl.SSLContext, not {type(verify).__name__}")
        if cert is not None:
            files = (cert,) if isinstance(cert, (str, os.PathLike)) else cert
            if (not isinstance(files, tuple) or not 1 <= len(files) <= 2
                    or not all(isinstance(f, (str, os.PathLike)) for f in files)):
                raise TypeError("cert must be a path to a PEM file holding the certificate "
                                "and its key, or a (certificate, key) pair of paths, "
                                f"not {cert!r}")
            for f in files:
                if not os.path.isfile(f):
                    raise ValueError(f"cert: no such file {os.fspath(f)!r}")
        self.verify = verify
        self.cert = cert
        self.trust_env = trust_env
        self._context = None
        self.sessions = {}

    cdef object context(self):
        if self._context is None:
            self._context = self._build_context()
        return self._context

    def _build_context(self):
        verify = self.verify
        if isinstance(verify, ssl.SSLContext):
            return verify   # the caller's, as given (ALPN included)
        if verify is True and not self.trust_env:
            context = _context_without_environment()
        else:
            # The system's trust store, or the one SSL_CERT_FILE and
            # SSL_CERT_DIR name: OpenSSL reads them in set_default_verify_paths.
            context = ssl.create_default_context()
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif verify is not True:
            path = os.fspath(verify)
            try:
                if os.path.isdir(path):
                    context.load_verify_locations(capath=path)
                else:
                    context.load_verify_locations(cafile=path)
            except (ssl.SSLError, OSError) as exc:
                raise TLSError(f"verify={path!r}: cannot load CA certificates: {exc}") from exc
        if self.cert is not None:
            files = (self.cert,) if isinstance(self.cert, (str, os.PathLike)) else self.cert
            try:
                context.load_cert_chain(*files)
            except (ssl.SSLError, OSError) as exc:
                raise TLSError(f"cert={self.cert!r}: cannot load the client certificate: "
                               f"{exc}") from exc
        context.set_alpn_protocols(["http/1.1"])
        return context

    cdef TLSConnection connection(self, object key, str origin, dict limits, str host):
        """A new connection that will speak TLS to host once connected."""
        cdef TLSConnection conn = TLSConnection(key, origin, limits)
        conn.config = self
        conn.host = host
        return conn


cdef class TLSConnection(Connection):
    """A Connection whose transport is TLS. Everything above the transport
    (parsing, reuse, deadlines, the engine) is the same."""

    def __cinit__(self, object key, str origin, dict limits=None):
        self._records = <char*>malloc(RECORDS_BUFFER)
        if self._records == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self._records)

    cdef Handshake handshake_step(self) except *:
        cdef int err
        cdef ssize_t n
        cdef bint done
        if self.tls is None:
            self.incoming = ssl.MemoryBIO()
            self.outgoing = ssl.MemoryBIO()
            # An IP address is checked against the certificate's IP SANs (no SNI is sent for it).
            self.tls = self.config.context().wrap_bio(
                self.incoming, self.outgoing, server_hostname=self.host,
                session=self.config.sessions.get(self.key))
            # SSLObject's read/write/pending are Python methods that call these.
            self._sslobj = getattr(self.tls, "_sslobj", self.tls)
        while True:
            done = False
            try:
                self._sslobj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:
                raise TLSError(f"{self.origin}: TLS handshake failed: "
                               f"{describe_tls_error(exc, self.host)}") from exc
            # What the handshake wrote (ClientHello, Finished) goes out first.
            if self._transport_flush(&err) < 0:
                if err != EAGAIN and err != EWOULDBLOCK:
                    self._handshake_io_failed(err)
                if not done:
                    return HS_WRITE
            if done:
                self.established = True
                return HS_RESUMED if self.tls.session_reused else HS_FULL
            n = self._sock_recv(self._records, RECORDS_BUFFER, &err)
            if n > 0:
                self.incoming.write(PyMemoryView_FromMemory(self._records, n, PyBUF_READ))
            elif n == 0:
                raise TLSError(f"{self.origin}: TLS handshake failed: the server closed the "
                               "connection during the handshake")
            elif err == EAGAIN or err == EWOULDBLOCK:
                return HS_READ
            elif err == EINTR:
                PyErr_CheckSignals()
            else:
                self._handshake_io_failed(err)

    cdef int _handshake_io_failed(self, int err) except -1:
        what = ("the server reset the connection" if err == ECONNRESET or err == EPIPE
                else strerror(err).decode())
        raise TLSError(f"{self.origin}: TLS handshake failed: {what} during the handshake")

    cdef ssize_t _transport_send(self, msghdr* msg, int* err) noexcept:
        """Encrypt what is loaded (up to ENCRYPT_BYTES) and send what the
        socket takes; the plaintext bytes consumed. Records the socket did
        not take wait in _pending for _transport_flush."""
        cdef size_t i, take
        cdef size_t total = 0
        if self._transport_flush(err) < 0:
            return -1
        try:
            for i in range(msg.msg_iovlen):
                take = min(msg.msg_iov[i].iov_len, ENCRYPT_BYTES - total)
                self._sslobj.write(PyMemoryView_FromMemory(<char*>msg.msg_iov[i].iov_base, take,
                                                           PyBUF_READ))
                total += take
                if total == ENCRYPT_BYTES:
                    break
        except BaseException as exc:
            self.tls_error = exc
            err[0] = EPROTO
            return -1
        if self._transport_flush(err) < 0 and err[0] != EAGAIN and err[0] != EWOULDBLOCK:
            return -1
        return total

    cdef int _transport_flush(self, int* err) noexcept:
        cdef ssize_t n
        while True:
            if self._pending is None or self._pending_sent == PyBytes_GET_SIZE(self._pending):
                try:
                    self._pending = self.outgoing.read()
                except BaseException:
                    self._pending = b""
                self._pending_sent = 0
                if not PyBytes_GET_SIZE(self._pending):
                    return 0
            n = send(self.fd, PyBytes_AS_STRING(self._pending) + self._pending_sent,
                     PyBytes_GET_SIZE(self._pending) - self._pending_sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT)
            if n < 0:
                err[0] = errno
                if err[0] == EINTR:
                    continue
                return -1
            self._pending_sent += n

    cdef ssize_t _transport_recv(self, char* buf, size_t size, int* err) noexcept:
        """Decrypt into buf: the bytes of application data, 0 at the end
        (close_notify, or EOF without it: the parser decides whether the
        response is complete), -1 with *err set (EAGAIN: no full record yet;
        EPROTO: a TLS error, kept in tls_error)."""
        cdef ssize_t n
        cdef bint received = self.incoming.pending or self._sslobj.pending()
        while True:
            # Nothing received and nothing decrypted yet: no read can succeed,
            # so go to the socket (a failed read costs an exception).
            if received:
                try:
                    return self._sslobj.read(size, PyMemoryView_FromMemory(buf, size, PyBUF_WRITE))
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLZeroReturnError:
                    return 0
                except BaseException as exc:
                    self.tls_error = exc
                    err[0] = EPROTO
                    return -1
            n = self._sock_recv(self._records, RECORDS_BUFFER, err)
            if n <= 0:
                return n
            received = True
            try:
                self.incoming.write(PyMemoryView_FromMemory(self._records, n, PyBUF_READ))
            except BaseException as exc:
                self.tls_error = exc
                err[0] = EPROTO
                return -1

    cdef int _recv_failed(self, int err) except -1:
        cdef object exc = self.tls_error
        if err != EPROTO or exc is None:
            return Connection._recv_failed(self, err)
        self.tls_error = None
        what = describe_tls_error(exc, self.host)
        if isinstance(exc, ssl.SSLError) and (exc.reason or "") in _SSL_REASONS:
            # The server refused the session after the handshake (TLS 1.3
            # checks the client certificate then): a TLS failure, not a
            # broken response.
            raise TLSError(f"{self.origin}: {what}") from exc
        raise ConnectionClosed(f"{self.origin}: {what} {self._progress()}") from exc

    cdef bint holds_input(self):
        """Records a response's last recv brought along (close_notify, a
        ticket): an epoll set cannot see them."""
        return self.incoming.pending > 0

    cpdef int check_alive(self):
        """Like a plain connection's, but what waits is read as records (a
        recv instead of the MSG_PEEK; records a response's last recv brought
        along are already in the incoming BIO): a session ticket or a
        KeyUpdate keeps the connection alive; close_notify is EOF (1);
        application data is stray bytes (2); a TLS error is 3."""
        cdef ssize_t n
        cdef int err, state
        while True:
            if self.incoming.pending:
                state = self._idle_records()
                if state:
                    return state
            n = self._sock_recv(self._records, RECORDS_BUFFER, &err)
            if n == 0:
                return 1
            if n < 0:
                return 0 if err == EAGAIN or err == EWOULDBLOCK else 3
            self.incoming.write(PyMemoryView_FromMemory(self._records, n, PyBUF_READ))

    cdef int _idle_records(self) except -1:
        """Decrypt what arrived while idle: 0 when it held only handshake
        records (or part of a record), else check_alive's verdict."""
        cdef char byte
        cdef int err
        try:
            n = self._sslobj.read(1, PyMemoryView_FromMemory(&byte, 1, PyBUF_WRITE))
        except ssl.SSLWantReadError:
            # A KeyUpdate is answered: the answer goes out before the next request.
            if self._transport_flush(&err) < 0 and err != EAGAIN and err != EWOULDBLOCK:
                return 3
            return 0
        except ssl.SSLZeroReturnError:
            return 1
        except ssl.SSLError:
            return 3
        return 2 if n else 1   # the ssl module reads close_notify as 0 bytes

    cpdef set_idle(self, double now, double idle_timeout, double max_lifetime):
        Connection.set_idle(self, now, idle_timeout, max_lifetime)
        self._keep_session()

    cpdef close(self, int reason):
        """Send close_notify (without waiting for the server's) and close.
        OpenSSL marks a session that ended without close_notify unfit for
        resumption, so this is also what keeps the session resumable."""
        cdef int err
        if self.state != CONN_CLOSED and self.established:
            self._keep_session()
            try:
                self.tls.unwrap()
            except (ssl.SSLError, ValueError):
                pass   # close_notify is written; the server's is not awaited
            self._transport_flush(&err)
        Connection.close(self, reason)

    cdef int _keep_session(self) except -1:
        """Offer this connection's session to the next ones to the origin,
        once it is resumable: a TLS 1.3 server's tickets arrive after the
        handshake, by the end of the first response. A connection that
        resumed the origin's session leaves it in place: the server took it,
        and reading a session costs a serialisation and a parse of the
        server's certificate in the ssl module (about 0.3 ms here)."""
        if self._session_kept:
            return 0
        if self.tls.session_reused and self.key in self.config.sessions:
            self._session_kept = True
            return 0
        session = self.tls.session
        if session is not None and (session.has_ticket or session.id):
            self.config.sessions[self.key] = session
            self._session_kept = True
        return 0
