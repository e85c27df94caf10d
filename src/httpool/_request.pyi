from collections.abc import Generator

from typing_extensions import disjoint_base

from httpool._exchange import Settings
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
    Timeout,
    TimeoutSource,
)
from httpool._plan import Plan, Planner
from httpool._response import Response
from httpool.policies.flow import Flow, Policies

# The keywords of every request method, as httpool.Pool documents them:
#   headers: a mapping or (name, value) pairs, str or bytes (Latin-1)
#   body:    bytes-like or str, a binary file, or an iterable of bytes chunks
#   params:  a mapping or (key, value) pairs, urlencoded into the query
#   json:    a value json.dumps encodes (body=, json=, data= and files= exclude each
#            other, but data= goes with files=)
#   data:    form fields (urlencoded), the other fields of files=, or raw content
#   files:   multipart form-data files
#   auth:    (user, password), an httpool.Auth, or a callable that signs the Request
#   cookies: cookies for this request (a dict or a CookieJar)
#   follow_redirects: this request's choice, else the pool's
#   timeout: a Timeout, or a number of seconds for the whole request

@disjoint_base
class Client:
    """The public request methods, compiled: the base class of httpool.Pool."""

    @property
    def _settings(self) -> Settings: ...
    @property
    def _planner(self) -> Planner: ...
    @property
    def _policies(self) -> Policies: ...
    uses_policies: bool
    def _setup(self, settings: Settings, planner: Planner, timeout: Timeout,
               policies: Policies) -> None: ...
    def request(self, method: str, url: str, *, headers: HeaderSource = None,
                body: Body = None, params: Params = None, json: JSONInput = None,
                data: FormData = None, files: Files = None, auth: AuthSource = None,
                cookies: CookieSource = None, follow_redirects: bool | None = None,
                timeout: TimeoutSource = None) -> Response: ...
    def get(self, url: str, *, headers: HeaderSource = None,
            body: Body = None, params: Params = None, json: JSONInput = None,
            data: FormData = None, files: Files = None, auth: AuthSource = None,
            cookies: CookieSource = None, follow_redirects: bool | None = None,
            timeout: TimeoutSource = None) -> Response: ...
    def head(self, url: str, *, headers: HeaderSource = None,
             body: Body = None, params: Params = None, json: JSONInput = None,
             data: FormData = None, files: Files = None, auth: AuthSource = None,
             cookies: CookieSource = None, follow_redirects: bool | None = None,
             timeout: TimeoutSource = None) -> Response: ...
    def post(self, url: str, *, headers: HeaderSource = None,
             body: Body = None, params: Params = None, json: JSONInput = None,
             data: FormData = None, files: Files = None, auth: AuthSource = None,
             cookies: CookieSource = None, follow_redirects: bool | None = None,
             timeout: TimeoutSource = None) -> Response: ...
    def put(self, url: str, *, headers: HeaderSource = None,
            body: Body = None, params: Params = None, json: JSONInput = None,
            data: FormData = None, files: Files = None, auth: AuthSource = None,
            cookies: CookieSource = None, follow_redirects: bool | None = None,
            timeout: TimeoutSource = None) -> Response: ...
    def patch(self, url: str, *, headers: HeaderSource = None,
              body: Body = None, params: Params = None, json: JSONInput = None,
              data: FormData = None, files: Files = None, auth: AuthSource = None,
              cookies: CookieSource = None, follow_redirects: bool | None = None,
              timeout: TimeoutSource = None) -> Response: ...
    def delete(self, url: str, *, headers: HeaderSource = None,
               body: Body = None, params: Params = None, json: JSONInput = None,
               data: FormData = None, files: Files = None, auth: AuthSource = None,
               cookies: CookieSource = None, follow_redirects: bool | None = None,
               timeout: TimeoutSource = None) -> Response: ...
    def options(self, url: str, *, headers: HeaderSource = None,
                body: Body = None, params: Params = None, json: JSONInput = None,
                data: FormData = None, files: Files = None, auth: AuthSource = None,
                cookies: CookieSource = None, follow_redirects: bool | None = None,
                timeout: TimeoutSource = None) -> Response: ...
    def _open_stream(self, method: str, url: str, headers: HeaderSource, body: Body,
                     params: Params, json: JSONInput, data: FormData, files: Files,
                     auth: AuthSource, cookies: CookieSource, follow_redirects: bool | None,
                     timeout: TimeoutSource) -> Response: ...
    def _send_request(self, request: Request, timeout: TimeoutSource, stream: bool) -> Response: ...

# A step of hop_steps(): (HOP_SEND = 0, Plan), (HOP_CLOSE = 1, Response) or (HOP_WAIT = 2, seconds).
_HopStep = tuple[int, Plan] | tuple[int, Response] | tuple[int, float]

def hop_steps(flow: Flow, response: Response | None, since: float,
              total: float) -> Generator[_HopStep, Response | None, Response]: ...
def _attempt_steps(flow: Flow, plan: Plan) -> Generator[_HopStep, Response | None, Response]: ...
# hop: a BlockingHop, or httpool._async.AsyncHop (send, close, wait).
async def run_hops(steps: Generator[_HopStep, Response | None, Response], hop: object) -> Response: ...

@disjoint_base
class BlockingHop:
    """The blocking API's side of run_hops()."""

    async def send(self, plan: Plan) -> Response: ...
    async def close(self, response: Response) -> None: ...
    async def wait(self, seconds: float) -> None: ...
