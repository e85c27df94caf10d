"""httpool: a fast HTTP/1.1 client connection pool."""

from httpool._exceptions import (
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    HTTPError,
    HTTPStatusError,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    ReadTimeout,
    RemoteProtocolError,
    TimeoutError,
    TransportError,
    WriteTimeout,
)
from httpool._parser import ResponseParser

__version__ = "0.1.0"

__all__ = [
    "ConnectError",
    "ConnectionClosed",
    "ConnectTimeout",
    "HTTPError",
    "HTTPStatusError",
    "PoolClosed",
    "PoolTimeout",
    "ProtocolError",
    "ReadTimeout",
    "RemoteProtocolError",
    "ResponseParser",
    "TimeoutError",
    "TransportError",
    "WriteTimeout",
    "__version__",
]
