"""The exceptions httpool raises.

Every error httpool raises on purpose derives from one root, grouped by kind::

    HTTPError
    ├── TransportError               the network failed us
    │   ├── ConnectError             could not connect (refused, unreachable, DNS)
    │   │   ├── TLSError             the TLS handshake failed, or the server refused the session
    │   │   └── ProxyError           the proxy could not be reached, or refused the tunnel (CONNECT, SOCKS5)
    │   ├── ConnectionClosed         the peer closed or reset mid-response
    │   └── TimeoutError             a deadline passed (also builtins.TimeoutError)
    │       ├── ConnectTimeout
    │       ├── WriteTimeout
    │       ├── ReadTimeout
    │       └── PoolTimeout          no connection became free in time
    ├── ProtocolError
    │   └── RemoteProtocolError      the peer broke HTTP/1.1
    │       └── DecodingError        a Content-Encoding could not be decoded, or decoded past max_body_size
    ├── RedirectError                a redirect could not be followed
    │   └── TooManyRedirects         more than max_redirects in a row
    ├── BodyNotRepeatable            a redirect or an auth challenge needs a body sent again that cannot be
    ├── HTTPStatusError              raise_for_status() on a 4xx or 5xx response
    └── PoolClosed                   the pool was used after close()

Invalid arguments are not HTTPErrors: they raise ValueError or TypeError before
any I/O. Messages name the origin (``http://host:port``) and what happened.
Every class pickles with its message (only ``args`` is stored).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from httpool._response import Response

__all__ = [
    "HTTPError",
    "TransportError",
    "ConnectError",
    "TLSError",
    "ProxyError",
    "ConnectionClosed",
    "TimeoutError",
    "ConnectTimeout",
    "WriteTimeout",
    "ReadTimeout",
    "PoolTimeout",
    "ProtocolError",
    "RemoteProtocolError",
    "DecodingError",
    "RedirectError",
    "TooManyRedirects",
    "BodyNotRepeatable",
    "HTTPStatusError",
    "PoolClosed",
]


class HTTPError(Exception):
    """Root of every error httpool raises on purpose."""


class TransportError(HTTPError):
    """The network failed: connect, send or receive did not complete."""


class ConnectError(TransportError, ConnectionError):
    """The connection could not be opened."""


class TLSError(ConnectError):
    """TLS could not be set up: the server's certificate failed verification
    (unknown authority, wrong host name, expired, not yet valid), no protocol
    or cipher in common, the server closed during the handshake, or it refused
    the client's certificate. The message says which; ``__cause__`` is the
    ssl module's exception when there is one."""


class ProxyError(ConnectError):
    """A proxy (the pool's proxy=) could not be resolved or reached, or it
    refused the CONNECT tunnel to an https origin (407, 403, 502...), or a
    SOCKS5 proxy's negotiation failed (its reply code, authentication, not
    SOCKS5, closed). The message names the proxy and what went wrong, and
    status_code is an HTTP proxy's status when it answered (None otherwise).
    refused: the proxy turned this client away (407 or 403; SOCKS5 credentials
    rejected, no acceptable authentication method, or "not allowed by
    ruleset"), so sending again cannot help: a Retry does not."""

    def __init__(self, message: str, status_code: int | None = None, refused: bool = False) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.refused = refused

    def __reduce__(self) -> tuple[type[ProxyError], tuple[object, ...]]:
        return (type(self), (*self.args, self.status_code, self.refused))


class ConnectionClosed(TransportError, ConnectionError):
    """The peer closed or reset the connection before the response was complete."""


class TimeoutError(TransportError, builtins.TimeoutError):
    """A deadline passed; the connection involved was closed."""


class ConnectTimeout(TimeoutError):
    """Connecting took longer than the connect or total timeout."""


class WriteTimeout(TimeoutError):
    """Sending the request took longer than the write or total timeout."""


class ReadTimeout(TimeoutError):
    """The response did not arrive within the read or total timeout."""


class PoolTimeout(TimeoutError):
    """No connection became free within the pool or total timeout."""


class ProtocolError(HTTPError):
    """An HTTP/1.1 protocol rule was broken."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that is not a valid HTTP/1.1 response."""


class DecodingError(RemoteProtocolError):
    """The body's Content-Encoding could not be decoded (a corrupt or
    truncated stream), or it decoded to more than max_body_size bytes."""


class RedirectError(HTTPError):
    """A redirect could not be followed: no usable Location, or a downgrade
    from https to http that was not allowed."""


class TooManyRedirects(RedirectError):
    """More redirects in a row than max_redirects."""


class BodyNotRepeatable(HTTPError):
    """A 307/308 redirect or an auth challenge (Digest's 401) asks for the
    request again, but its body was an iterator or a stream that cannot seek
    back: pass bytes or a seekable file to allow it."""


class HTTPStatusError(HTTPError):
    """raise_for_status() found a 4xx or 5xx status."""

    def __init__(self, message: str, response: Response | None = None) -> None:
        super().__init__(message)
        self.response = response

    def __reduce__(self) -> tuple[type[HTTPStatusError], tuple[object, ...]]:
        # the response holds a connection: it does not pickle
        return (type(self), self.args)


class PoolClosed(HTTPError):
    """The pool was used after close()."""
