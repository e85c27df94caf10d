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
    """The per-request hot path; the base class of httpool.Pool."""

    def _setup(self, core: PoolCore, retries: int, timeout: Any) -> None: ...
    def request(self, method: str, url: str, *, headers: Any = None, body: Any = None,
                params: Any = None, json: Any = None, timeout: Any = None) -> Response: ...
    def get(self, url: str, *, headers: Any = None, body: Any = None, params: Any = None,
            json: Any = None, timeout: Any = None) -> Response: ...
    def head(self, url: str, *, headers: Any = None, body: Any = None, params: Any = None,
             json: Any = None, timeout: Any = None) -> Response: ...
    def post(self, url: str, *, headers: Any = None, body: Any = None, params: Any = None,
             json: Any = None, timeout: Any = None) -> Response: ...
    def put(self, url: str, *, headers: Any = None, body: Any = None, params: Any = None,
            json: Any = None, timeout: Any = None) -> Response: ...
    def patch(self, url: str, *, headers: Any = None, body: Any = None, params: Any = None,
              json: Any = None, timeout: Any = None) -> Response: ...
    def delete(self, url: str, *, headers: Any = None, body: Any = None, params: Any = None,
               json: Any = None, timeout: Any = None) -> Response: ...
    def options(self, url: str, *, headers: Any = None, body: Any = None, params: Any = None,
                json: Any = None, timeout: Any = None) -> Response: ...
    def send(self, method: str, url: str, headers: Any, body: Any, params: Any, json: Any,
             timeout: Any, read_body: bool) -> Response: ...
    def plan(self, method: str, url: str, headers: Any, body: Any, params: Any,
             json: Any) -> Plan: ...
    def finish(self, response: Response) -> None: ...
