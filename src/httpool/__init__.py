"""httpool: a fast HTTP/1.1 client connection pool."""

from httpool._async import AsyncResponse
from httpool._async_pool import AsyncPool
from httpool._exceptions import (
    BodyNotRepeatable,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    DecodingError,
    HTTPError,
    HTTPStatusError,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadTimeout,
    RedirectError,
    RemoteProtocolError,
    TimeoutError,
    TLSError,
    TooManyRedirects,
    TransportError,
    WriteTimeout,
)
from httpool._models import Auth, Headers, Request, Timeout
from httpool._parser import ResponseParser
from httpool._pool import Pool
from httpool._reasons import CloseReason
from httpool._response import Response
from httpool._stats import ClosedStats, OriginStats, PoolStats
from httpool._version import __version__
from httpool.policies.auth import BasicAuth, DigestAuth
from httpool.policies.retry import Retry

__all__ = [
    "AsyncPool",
    "AsyncResponse",
    "Auth",
    "BasicAuth",
    "BodyNotRepeatable",
    "DigestAuth",
    "ClosedStats",
    "CloseReason",
    "Headers",
    "OriginStats",
    "Pool",
    "PoolStats",
    "Request",
    "Response",
    "Retry",
    "Timeout",
    "ConnectError",
    "ConnectionClosed",
    "ConnectTimeout",
    "DecodingError",
    "HTTPError",
    "HTTPStatusError",
    "PoolClosed",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "ReadTimeout",
    "RedirectError",
    "RemoteProtocolError",
    "ResponseParser",
    "TimeoutError",
    "TLSError",
    "TooManyRedirects",
    "TransportError",
    "WriteTimeout",
    "__version__",
]
