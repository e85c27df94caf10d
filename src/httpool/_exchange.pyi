
from typing_extensions import disjoint_base

from httpool._conn import Connection
from httpool._idle import PoolCore, Waiter
from httpool._plan import Plan
from httpool._tls import TLSConfig
from httpool.policies.flow import Flow

@disjoint_base
class Settings:
    """The pool-wide parts of every exchange, fixed when the pool is made."""

    def __new__(cls, core: PoolCore, retries: int, max_drain: int, max_drain_time: float,
                parser_limits: dict[str, int | None], tls: TLSConfig,
                uds: bytes | None = None,
                pinned: dict[str, list[str]] | None = None) -> Settings: ...

@disjoint_base
class Exchange:
    """One request on one connection, from checkout to release; made by a Pool, not directly."""

    # Drivers' own bookkeeping; the exchange never reads them.
    driver_fd: int
    driver_at: float
    driver_index: int | None
    driver_flow: Flow | None
    driver_follows: bool
    def __init__(self, *args: object) -> None: ...  # raises TypeError
    @property
    def plan(self) -> Plan: ...
    @property
    def conn(self) -> Connection | None: ...
    @property
    def state(self) -> int: ...
    @property
    def need(self) -> int: ...
    @property
    def wake_at(self) -> float: ...
    @property
    def started(self) -> float: ...
    @property
    def since(self) -> float: ...
    @property
    def finished_at(self) -> float: ...
    @property
    def waiter(self) -> Waiter | None: ...
    @property
    def status_code(self) -> int: ...
    @property
    def reason(self) -> bytes | None: ...
    @property
    def version(self) -> str | None: ...
    @property
    def headers(self) -> list[tuple[bytes, bytes]] | None: ...
    @property
    def content(self) -> bytes | None: ...
    @property
    def content_encoded(self) -> bool: ...
    @property
    def sets_cookie(self) -> bool: ...
    @property
    def error(self) -> BaseException | None: ...
