from collections.abc import Callable, Iterable, Iterator

from typing_extensions import disjoint_base

from httpool._idle import OriginSlots, PoolCore
from httpool._models import Body, Buffer, Files, FormData, HeaderSource, JSONInput, Params, PlanArgs
from httpool.routes.proxies import Routes
from httpool.routes.tunnels import Tunnel

class _Target:
    """Where a URL points, parsed once and cached."""

    scheme: str
    key: tuple[str, str, int]
    origin: str
    host: str
    port: int
    path: str
    host_header: str
    credentials: tuple[str, str] | None    # user:password@ of the URL
    def __init__(self, url: str) -> None: ...

class _Proxy:
    """A proxy from the pool's proxy= option, parsed once: http://, socks5://
    (the client resolves the URL's host) or socks5h:// (the proxy does)."""

    scheme: str                              # "http", "socks5" or "socks5h"
    url: str                                 # scheme://host:port, without credentials
    host: str
    port: int
    authorization: str | None                # Proxy-Authorization (Basic) from user:password@
    credentials: tuple[bytes, bytes] | None  # SOCKS5's username and password (RFC 1929)
    key: tuple[str, str, str, int, str | None]
    def __init__(self, url: str) -> None: ...
    def tunnel(self, target: _Target) -> Tunnel: ...

def asks_close(headers: Iterable[tuple[str, str]]) -> bool: ...

@disjoint_base
class Plan:
    """A request ready to send: checked, its head encoded, its body framed."""

    def __init__(self, method: str, url: str, path: str, target: _Target, slots: OriginSlots,
                 head: bytes, body: Buffer | None,
                 chunks: Iterator[Buffer | str] | None, chunked: bool, length: int,
                 rewind: Callable[[], bool] | None, client_close: bool,
                 replayable: bool,
                 args: PlanArgs | None = None, proxy: _Proxy | None = None,
                 tunnel: Tunnel | None = None) -> None: ...
    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def target(self) -> _Target: ...
    @property
    def slots(self) -> OriginSlots: ...
    @property
    def head(self) -> bytes: ...
    @property
    def body(self) -> Buffer | None: ...
    @property
    def chunks(self) -> Iterator[Buffer | str] | None: ...
    @property
    def chunked(self) -> bool: ...
    @property
    def length(self) -> int: ...
    @property
    def rewind(self) -> Callable[[], bool] | None:
        """None when the body can be sent again as it is; else rewinds it
        for another send, False when it cannot."""
    @property
    def args(self) -> PlanArgs | None:
        """The request's own arguments (for Response.next_request); None when none."""
    @property
    def has_credentials(self) -> bool: ...
    @property
    def client_close(self) -> bool: ...
    @property
    def replayable(self) -> bool: ...
    @property
    def head_request(self) -> bool: ...
    @property
    def proxy(self) -> _Proxy | None:
        """The proxy to connect to instead of the URL's host, or None."""
    @property
    def tunnel(self) -> Tunnel | None:
        """The tunnel to open first (https through an HTTP proxy, any request
        through SOCKS5), or None."""

@disjoint_base
class Planner:
    """Checks and encodes requests once: default headers, parsed URLs, cached plans."""

    def __init__(self, core: PoolCore, headers: list[tuple[str, str]], uds: str | None = None,
                 routes: Routes | None = None) -> None: ...
    def plan(self, method: str, url: str, headers: HeaderSource, body: Body, params: Params,
             json: JSONInput, data: FormData = None, files: Files = None) -> Plan: ...
    def _target(self, url: str, params: Params) -> tuple[_Target, str, str]: ...
    def _head(self, method: str, target: _Target, path: str,
              extra: list[tuple[str, str]] | None,
              framing: list[tuple[str, str]], proxy_auth: str | None) -> tuple[bytes, bool]: ...
