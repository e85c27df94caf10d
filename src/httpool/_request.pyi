from typing_extensions import disjoint_base

from httpool._exchange import Settings
from httpool._models import Body, HeaderSource, JSONInput, Params, Timeout, TimeoutSource
from httpool._plan import Planner
from httpool._response import Response

# The keywords of every request method, as httpool.Pool documents them:
#   headers: a mapping or (name, value) pairs, str or bytes (Latin-1)
#   body:    bytes-like or str, a binary file, or an iterable of bytes chunks
#   params:  a mapping or (key, value) pairs, urlencoded into the query
#   json:    a value json.dumps encodes (body= and json= exclude each other)
#   timeout: a Timeout, or a number of seconds for the whole request

@disjoint_base
class Client:
    """The public request methods, compiled: the base class of httpool.Pool."""

    @property
    def _settings(self) -> Settings: ...
    @property
    def _planner(self) -> Planner: ...
    def _setup(self, settings: Settings, planner: Planner, timeout: Timeout) -> None: ...
    def request(self, method: str, url: str, *, headers: HeaderSource = None,
                body: Body = None, params: Params = None, json: JSONInput = None,
                timeout: TimeoutSource = None) -> Response: ...
    def get(self, url: str, *, headers: HeaderSource = None,
            body: Body = None, params: Params = None, json: JSONInput = None,
            timeout: TimeoutSource = None) -> Response: ...
    def head(self, url: str, *, headers: HeaderSource = None,
             body: Body = None, params: Params = None, json: JSONInput = None,
             timeout: TimeoutSource = None) -> Response: ...
    def post(self, url: str, *, headers: HeaderSource = None,
             body: Body = None, params: Params = None, json: JSONInput = None,
             timeout: TimeoutSource = None) -> Response: ...
    def put(self, url: str, *, headers: HeaderSource = None,
            body: Body = None, params: Params = None, json: JSONInput = None,
            timeout: TimeoutSource = None) -> Response: ...
    def patch(self, url: str, *, headers: HeaderSource = None,
              body: Body = None, params: Params = None, json: JSONInput = None,
              timeout: TimeoutSource = None) -> Response: ...
    def delete(self, url: str, *, headers: HeaderSource = None,
               body: Body = None, params: Params = None, json: JSONInput = None,
               timeout: TimeoutSource = None) -> Response: ...
    def options(self, url: str, *, headers: HeaderSource = None,
                body: Body = None, params: Params = None, json: JSONInput = None,
                timeout: TimeoutSource = None) -> Response: ...
    def _open_stream(self, method: str, url: str, headers: HeaderSource, body: Body,
                     params: Params, json: JSONInput, timeout: TimeoutSource) -> Response: ...
