from typing import Optional, Union

from httpool._exchange import Settings
from httpool._models import Timeout
from httpool._plan import Plan
from httpool._response import Response

class Batch:
    """The driver of one request_many / iter_many call: many exchanges, one epoll set."""

    def __init__(self, settings: Settings, plans: list[Plan], concurrency: int,
                 timeout: Timeout) -> None: ...
    def __len__(self) -> int: ...
    def next_done(self) -> Optional[tuple[int, Union[Response, BaseException]]]: ...
    def close(self) -> None: ...
