from typing import Any, Optional

from httpool._request import Plan, Runner

class Job:
    """One request of a batch."""

    index: int
    result: Any

class Batch:
    """The requests of one request_many / iter_many call."""

    def __init__(self, pool: Runner, plans: list[Plan], concurrency: int, timeout: float,
                 read_timeout: float, retries: int) -> None: ...
    def __len__(self) -> int: ...
    def next_done(self) -> Optional[Job]: ...
    def close(self) -> None: ...
