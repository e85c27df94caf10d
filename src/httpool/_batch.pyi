from typing_extensions import disjoint_base

from httpool._exchange import Settings
from httpool._models import Timeout
from httpool._plan import Plan
from httpool._response import Response
from httpool.policies.flow import Flow, Policies

@disjoint_base
class Batch:
    """The driver of one request_many / iter_many call: many exchanges, one epoll set."""

    def __new__(cls, settings: Settings, items: list[tuple[Plan, Flow | None, bool]], concurrency: int,
                timeout: Timeout, policies: Policies) -> Batch: ...
    def __len__(self) -> int: ...
    # A request's failure is an Exception: a BaseException that is not one
    # (KeyboardInterrupt) propagates out of next_done() instead.
    def next_done(self) -> tuple[int, Response | Exception] | None: ...
    # next_done() without waiting (httpool._async): () when none is ready yet.
    def poll_done(self) -> tuple[int, Response | Exception] | tuple[()] | None: ...
    def close(self) -> None: ...
