from typing_extensions import disjoint_base

from httpool._idle import OriginSlots
from httpool._parser import ResponseParser
from httpool.routes.tunnels import Tunnel

_Field = str | bytes | bytearray

@disjoint_base
class AddressList:
    """The addresses to connect to: those of host:port, or one Unix socket."""

@disjoint_base
class Connection:
    """A connection to one origin. Created by an Exchange; not used directly."""

    slots: OriginSlots | None
    expires_at: float
    expire_reason: int
    reused: bool
    via_proxy: bool          # it goes through a proxy (named in origin)
    tunnel: Tunnel | None    # the tunnel to open first (HTTP CONNECT or SOCKS5), None once open
    def __new__(cls, key: tuple[str | int | None, ...], origin: str,
                limits: dict[str, int | None] | None = None) -> Connection: ...
    @property
    def key(self) -> tuple[str | int | None, ...]: ...
    @property
    def origin(self) -> str: ...
    @property
    def created(self) -> float: ...
    @property
    def state(self) -> int: ...
    @property
    def requests(self) -> int: ...
    @property
    def close_reason(self) -> int: ...
    @property
    def received(self) -> int: ...
    @property
    def parser(self) -> ResponseParser: ...
    @property
    def fileno(self) -> int: ...
    def check_alive(self) -> int: ...
    def set_idle(self, now: float, idle_timeout: float, max_lifetime: float) -> None: ...
    def close(self, reason: int) -> None: ...

def build_request_head(method: str, target: str, fixed: bytes,
                       headers: list[tuple[_Field, _Field]]) -> bytes: ...
