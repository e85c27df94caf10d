from collections.abc import AsyncIterator, Generator, Iterator
from types import TracebackType

from typing_extensions import disjoint_base

from httpool._batch import Batch
from httpool._models import (
    AuthSource,
    Body,
    CookieSource,
    Files,
    FormData,
    HeaderSource,
    JSONInput,
    Params,
    Request,
    TimeoutSource,
)
from httpool._plan import Plan
from httpool._request import Client, _HopStep
from httpool._response import Response
from httpool.policies.decoding import Decoder

@disjoint_base
class Binding:
    """A batch (its epoll set, its nearest wake-up) watched by an event loop."""

    @property
    def loop(self) -> object: ...
    def _ready(self) -> None: ...
    def _fire(self) -> None: ...
    async def next_done(self) -> tuple[int, Response | Exception] | None: ...
    def close(self) -> None: ...

@disjoint_base
class Ticket:
    """One request of an AsyncPool's standing batch."""

@disjoint_base
class AsyncDriver(Batch):
    """An AsyncPool's standing batch: requests come and go, on one loop."""

@disjoint_base
class AsyncHop:
    """A stream's side of run_hops() (httpool._request)."""

    async def send(self, plan: Plan) -> AsyncResponse: ...
    async def close(self, response: AsyncResponse) -> None: ...
    async def wait(self, seconds: float) -> None: ...

@disjoint_base
class AsyncResponse(Response):
    """A Response of an AsyncPool whose body may still be on its way (a stream)."""

    async def aread(self) -> bytes: ...
    def aiter_bytes(self, chunk_size: int = 65536) -> AsyncIterator[bytes]: ...
    def aiter_raw(self, chunk_size: int = 65536) -> AsyncIterator[bytes]: ...
    async def _aiter_body(self, chunk_size: int, decoder: Decoder | None) -> AsyncIterator[bytes]: ...
    async def _next_chunk(self, max_bytes: int) -> bytes: ...
    async def aclose(self) -> None: ...
    # The blocking methods raise RuntimeError while the body is on its way;
    # close() then closes the connection rather than drain it.
    def read(self) -> bytes: ...
    def iter_bytes(self, chunk_size: int = 65536) -> Iterator[bytes]: ...
    def close(self) -> None: ...
    async def __aenter__(self) -> AsyncResponse: ...
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

@disjoint_base
class AsyncClient:
    """The request methods of httpool.AsyncPool (its base class)."""

    def _bind(self, client: Client) -> None: ...
    async def request(self, method: str, url: str, *, headers: HeaderSource = None, body: Body = None,
                      params: Params = None, json: JSONInput = None, data: FormData = None,
                      files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
                      follow_redirects: bool | None = None, timeout: TimeoutSource = None) -> Response: ...
    async def get(self, url: str, *, headers: HeaderSource = None, body: Body = None,
                  params: Params = None, json: JSONInput = None, data: FormData = None,
                  files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
                  follow_redirects: bool | None = None, timeout: TimeoutSource = None) -> Response: ...
    async def head(self, url: str, *, headers: HeaderSource = None, body: Body = None,
                   params: Params = None, json: JSONInput = None, data: FormData = None,
                   files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
                   follow_redirects: bool | None = None, timeout: TimeoutSource = None) -> Response: ...
    async def post(self, url: str, *, headers: HeaderSource = None, body: Body = None,
                   params: Params = None, json: JSONInput = None, data: FormData = None,
                   files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
                   follow_redirects: bool | None = None, timeout: TimeoutSource = None) -> Response: ...
    async def put(self, url: str, *, headers: HeaderSource = None, body: Body = None,
                  params: Params = None, json: JSONInput = None, data: FormData = None,
                  files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
                  follow_redirects: bool | None = None, timeout: TimeoutSource = None) -> Response: ...
    async def patch(self, url: str, *, headers: HeaderSource = None, body: Body = None,
                    params: Params = None, json: JSONInput = None, data: FormData = None,
                    files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
                    follow_redirects: bool | None = None, timeout: TimeoutSource = None) -> Response: ...
    async def delete(self, url: str, *, headers: HeaderSource = None, body: Body = None,
                     params: Params = None, json: JSONInput = None, data: FormData = None,
                     files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
                     follow_redirects: bool | None = None, timeout: TimeoutSource = None) -> Response: ...
    async def options(self, url: str, *, headers: HeaderSource = None, body: Body = None,
                      params: Params = None, json: JSONInput = None, data: FormData = None,
                      files: Files = None, auth: AuthSource = None, cookies: CookieSource = None,
                      follow_redirects: bool | None = None, timeout: TimeoutSource = None) -> Response: ...
    async def _send(self, method: str, url: str, headers: HeaderSource, body: Body, params: Params,
                    json: JSONInput, data: FormData, files: Files, auth: AuthSource,
                    cookies: CookieSource, follow_redirects: bool | None,
                    timeout: TimeoutSource) -> Response: ...
    async def _open_stream(self, method: str, url: str, headers: HeaderSource, body: Body,
                           params: Params, json: JSONInput, data: FormData, files: Files,
                           auth: AuthSource, cookies: CookieSource, follow_redirects: bool | None,
                           timeout: TimeoutSource) -> AsyncResponse: ...
    async def _send_request(self, request: Request, timeout: TimeoutSource,
                            stream: bool) -> Response: ...
    async def _hops(self, driver: AsyncDriver, steps: Generator[_HopStep, Response | None, Response],
                    since: float, request: Ticket) -> AsyncResponse: ...
    async def _result(self, driver: AsyncDriver, ticket: Ticket) -> Response: ...
    def _batch_binding(self, batch: Batch) -> Binding: ...
    def _after_close(self) -> None: ...
