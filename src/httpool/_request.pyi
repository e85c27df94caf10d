from typing import Any, Optional

from httpool._conn import Connection
from httpool._idle import OriginSlots, PoolCore
from httpool._response import Response

class Plan:
    """A request ready to send: checked, its head encoded, its body framed."""

    method: str
    url: str
    path: str
    target: Any
    slots: OriginSlots
    head: bytes
    body: Any
    chunks: Any
    client_close: bool
    replayable: bool
    head_request: bool
    def __init__(self, method: str, url: str, path: str, target: Any, slots: OriginSlots,
                 head: bytes, body: Any, chunks: Any, client_close: bool, replayable: bool) -> None: ...

class Runner:
    """Runs requests on a pool: the per-request hot path."""

    def __init__(self, pool: Any, core: PoolCore, retries: int, timeout: Any) -> None: ...
    def send(self, method: str, url: str, headers: Any, body: Any, params: Any, json: Any,
             timeout: Any, read_body: bool) -> Response: ...
    def finish(self, response: Response) -> None: ...
