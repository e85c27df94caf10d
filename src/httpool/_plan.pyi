from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Optional, Union

from _typeshed import SupportsRead
from typing_extensions import disjoint_base

from httpool._idle import OriginSlots, PoolCore
from httpool._models import HeaderSource

_Buffer = Union[bytes, bytearray, memoryview]
# What request(..., body=) takes: sent with Content-Length, or chunked.
_Body = Union[_Buffer, str, SupportsRead[bytes], Iterable[Union[_Buffer, str]], None]
_Params = Union[Mapping[str, Any], Sequence[tuple[str, Any]], None]

class _Target:
    """Where a URL points, parsed once and cached."""

    scheme: str
    key: tuple[str, str, int]
    origin: str
    host: str
    port: int
    path: str
    host_header: str
    def __init__(self, url: str) -> None: ...

def asks_close(headers: Iterable[tuple[str, str]]) -> bool: ...

@disjoint_base
class Plan:
    """A request ready to send: checked, its head encoded, its body framed."""

    def __init__(self, method: str, url: str, path: str, target: _Target, slots: OriginSlots,
                 head: bytes, body: Optional[_Buffer],
                 chunks: Optional[Iterator[Union[_Buffer, str]]], chunked: bool, length: int,
                 client_close: bool, replayable: bool) -> None: ...
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
    def body(self) -> Optional[_Buffer]: ...
    @property
    def chunks(self) -> Optional[Iterator[Union[_Buffer, str]]]: ...
    @property
    def chunked(self) -> bool: ...
    @property
    def length(self) -> int: ...
    @property
    def client_close(self) -> bool: ...
    @property
    def replayable(self) -> bool: ...
    @property
    def head_request(self) -> bool: ...

@disjoint_base
class Planner:
    """Checks and encodes requests once: default headers, parsed URLs, cached plans."""

    def __init__(self, core: PoolCore, headers: list[tuple[str, str]]) -> None: ...
    def plan(self, method: str, url: str, headers: HeaderSource, body: _Body, params: _Params,
             json: Any) -> Plan: ...
    def _target(self, url: str, params: _Params) -> tuple[_Target, str, str]: ...
    def _head(self, method: str, target: _Target, path: str,
              extra: Optional[list[tuple[str, str]]],
              framing: list[tuple[str, str]]) -> tuple[bytes, bool]: ...
