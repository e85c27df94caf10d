import os
import ssl

from typing_extensions import disjoint_base

from httpool._conn import Connection

_Path = str | os.PathLike[str]

def describe_tls_error(exc: BaseException, host: str) -> str: ...

@disjoint_base
class TLSConfig:
    """The pool's TLS options, checked when the pool is made; the
    SSLContext is built on the first https connection (loading the system's
    trust store takes milliseconds that plain HTTP users need not pay)."""

    def __init__(self, verify: bool | _Path | ssl.SSLContext = True,
                 cert: _Path | tuple[_Path, _Path] | None = None, trust_env: bool = True) -> None: ...
    @property
    def verify(self) -> bool | _Path | ssl.SSLContext: ...
    @property
    def trust_env(self) -> bool: ...
    @property
    def cert(self) -> _Path | tuple[_Path, _Path] | None: ...
    @property
    def sessions(self) -> dict[tuple[str | int | None, ...], ssl.SSLSession]: ...
    def _build_context(self) -> ssl.SSLContext: ...

@disjoint_base
class TLSConnection(Connection):
    """A Connection whose transport is TLS. Everything above the transport
    (parsing, reuse, deadlines, the engine) is the same."""

    def check_alive(self) -> int: ...
    def set_idle(self, now: float, idle_timeout: float, max_lifetime: float) -> None: ...
    def close(self, reason: int) -> None: ...
