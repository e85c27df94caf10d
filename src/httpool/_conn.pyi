from typing import Optional, Union

from typing_extensions import disjoint_base

from httpool._idle import OriginSlots
from httpool._parser import ResponseParser

_Field = Union[str, bytes, bytearray]

@disjoint_base
class AddressList:
    """The addresses of host:port, from getaddrinfo (run without the GIL)."""

@disjoint_base
class Connection:
    """A connection to one origin. Created by an Exchange; not used directly."""

    slots: Optional[OriginSlots]
    expires_at: float
    expire_reason: int
    reused: bool
    def __new__(cls, key: tuple[str, str, int], origin: str,
                limits: Optional[dict[str, Optional[int]]] = None) -> Connection: ...
    @property
    def key(self) -> tuple[str, str, int]: ...
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
