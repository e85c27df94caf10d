"""Response parse throughput: httpool against httptools and h11, in one run.

    pytest bench/test_parser_bench.py --benchmark-json=bench/results/local/parser.json
    python bench/report.py bench/results/local/parser.json

Cases (one pytest-benchmark group each, so the three parsers sit side by side):

  (a) parse-a-200-10-headers-1KiB     200 OK, 10 header lines, 1 KiB Content-Length body
  (b) parse-b-chunked-64KiB-4KiB      64 KiB chunked body in 16 chunks of 4 KiB
  (c) parse-c-content-length-1MiB     1 MiB Content-Length body

Case (a) is 256 different responses, parsed one after the other in each timed
call (the report divides by 256): Date, ETag and X-Request-Id differ from one
response to the next, as on a connection that serves one resource after
another, while the other 7 lines repeat. A parser may remember lines it has
seen on a connection (a cache of header tuples); parsing one response over
and over would let every line hit such a cache, which real traffic does not.
256 responses of 3 new lines each are far more than such a cache holds. Cases
(b) and (c) are about the body: one response, parsed once per call.

Every parser does the same work per response: parse one whole response given
as one bytes object, and obtain the status code, the reason phrase, all header
lines as a list of (name, value) pairs in the order and case received, that the
message is complete, and the whole body as one bytes object.

Parser lifetime, per library (the cheapest correct use each allows, as a client
reading a keep-alive connection would do it):

* httpool: one ResponseParser, start() before each response (its documented
  use on a connection).
* httptools: one HttpResponseParser, reused. httptools is not single-message:
  on a keep-alive response llhttp resets itself after on_message_complete and
  parses the next response on the same parser, so no per-response construction
  is charged to it. Its callbacks are the ones a client needs: on_status,
  on_header, on_headers_complete, on_body, on_message_complete; body parts are
  joined with b"".join (a single part is returned as is, without a copy).
* h11: a client Connection only accepts a response after it has sent a
  request, and both sides must finish a cycle before the next one. A fresh
  Connection with a GET request already sent is made in pedantic mode's setup,
  which is not timed, so only receive_data() and the next_event() loop are
  measured (in h11's favour).
"""

from __future__ import annotations

import email.utils
import json
import random
import time
import uuid
from dataclasses import dataclass

import h11
import httptools
import pytest

import httpool

# --- The responses -------------------------------------------------------

@dataclass(frozen=True)
class Response:
    data: bytes       # the whole response on the wire
    headers: list     # [(name, value)] as sent
    body: bytes       # the decoded body


@dataclass(frozen=True)
class Case:
    key: str          # "a", "b", "c"
    group: str        # pytest-benchmark group
    responses: tuple  # Response objects, all parsed in each timed call

    @property
    def datas(self) -> tuple:
        return tuple(r.data for r in self.responses)


def _head(status_line: bytes, headers: list) -> bytes:
    return status_line + b"".join(n + b": " + v + b"\r\n" for n, v in headers) + b"\r\n"


def _json_body(size: int) -> bytes:
    """A JSON document of exactly `size` bytes."""
    rnd = random.Random(1)
    items = []
    while True:
        item = {"id": len(items), "name": f"item-{rnd.randrange(10**6):06d}",
                "price": round(rnd.uniform(1, 500), 2), "tags": ["a", "b"]}
        trial = json.dumps({"items": items + [item], "pad": ""}, separators=(",", ":"))
        if len(trial) > size:
            break
        items.append(item)
    doc = json.dumps({"items": items, "pad": ""}, separators=(",", ":"))
    doc = json.dumps({"items": items, "pad": "x" * (size - len(doc))}, separators=(",", ":"))
    assert len(doc) == size
    return doc.encode()


A_RESPONSES = 256


def _case_a() -> Case:
    body = _json_body(1024)
    rnd = random.Random(4)
    start = 1795273347   # Sat, 21 Nov 2026 15:02:27 GMT
    responses = []
    for i in range(A_RESPONSES):
        headers = [
            (b"Date", email.utils.formatdate(start + i, usegmt=True).encode()),
            (b"Server", b"nginx/1.25.3"),
            (b"Content-Type", b"application/json; charset=utf-8"),
            (b"Content-Length", str(len(body)).encode()),
            (b"Connection", b"keep-alive"),
            (b"Cache-Control", b"no-cache, no-store, must-revalidate"),
            (b"ETag", b'"%08x-400"' % rnd.getrandbits(32)),
            (b"Vary", b"Accept-Encoding"),
            (b"X-Request-Id", str(uuid.UUID(int=rnd.getrandbits(128), version=4)).encode()),
            (b"Strict-Transport-Security", b"max-age=31536000; includeSubDomains"),
        ]
        responses.append(Response(_head(b"HTTP/1.1 200 OK\r\n", headers) + body, headers, body))
    assert len(responses[0].headers) == 10
    assert len({r.data for r in responses}) == A_RESPONSES
    return Case("a", "parse-a-200-10-headers-1KiB", tuple(responses))


def _case_b() -> Case:
    chunk_size, chunks = 4096, 16
    body = random.Random(2).randbytes(chunk_size * chunks)
    headers = [
        (b"Date", b"Sat, 21 Nov 2026 15:02:27 GMT"),
        (b"Server", b"nginx/1.25.3"),
        (b"Content-Type", b"application/octet-stream"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Connection", b"keep-alive"),
    ]
    framed = b"".join(b"%x\r\n" % chunk_size + body[i:i + chunk_size] + b"\r\n"
                      for i in range(0, len(body), chunk_size)) + b"0\r\n\r\n"
    return Case("b", "parse-b-chunked-64KiB-4KiB",
                (Response(_head(b"HTTP/1.1 200 OK\r\n", headers) + framed, headers, body),))


def _case_c() -> Case:
    body = random.Random(3).randbytes(1 << 20)
    headers = [
        (b"Date", b"Sat, 21 Nov 2026 15:02:27 GMT"),
        (b"Server", b"nginx/1.25.3"),
        (b"Content-Type", b"application/octet-stream"),
        (b"Content-Length", str(len(body)).encode()),
        (b"Connection", b"keep-alive"),
    ]
    return Case("c", "parse-c-content-length-1MiB",
                (Response(_head(b"HTTP/1.1 200 OK\r\n", headers) + body, headers, body),))


CASES = {case.key: case for case in (_case_a(), _case_b(), _case_c())}


# --- One parse per library -----------------------------------------------
# Each returns (status, reason, headers, complete, body).

def httpool_parser():
    parser = httpool.ResponseParser()

    def parse(data):
        parser.start()
        parser.feed(data)
        return (parser.status_code, parser.reason, parser.headers,
                parser.message_complete, parser.take_body())

    return parse


class _HttptoolsClient:
    """The callbacks a client needs, collecting into plain Python lists."""

    __slots__ = ("reason", "headers", "body", "headers_done", "complete")

    def reset(self):
        self.reason = b""
        self.headers = []
        self.body = []
        self.headers_done = False
        self.complete = False

    def on_status(self, reason):
        self.reason += reason     # b"" + x is x: no copy for a one-piece reason

    def on_header(self, name, value):
        self.headers.append((name, value))

    def on_headers_complete(self):
        self.headers_done = True

    def on_body(self, body):
        self.body.append(body)

    def on_message_complete(self):
        self.complete = True


def httptools_parser():
    client = _HttptoolsClient()
    parser = httptools.HttpResponseParser(client)

    def parse(data):
        client.reset()
        parser.feed_data(data)
        return (parser.get_status_code(), client.reason, client.headers,
                client.complete, b"".join(client.body))

    return parse


def h11_connection():
    conn = h11.Connection(our_role=h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "example.com")]))
    conn.send(h11.EndOfMessage())
    return conn


def h11_parse(conn, data):
    conn.receive_data(data)
    status = reason = headers = None
    body = []
    while True:
        event = conn.next_event()
        if type(event) is h11.Data:
            body.append(event.data)
        elif type(event) is h11.Response:
            status, reason, headers = event.status_code, event.reason, event.headers.raw_items()
        elif type(event) is h11.EndOfMessage:
            return status, reason, headers, True, b"".join(body)
        else:
            raise AssertionError(f"unexpected h11 event {event!r}")


# --- The benchmarks --------------------------------------------------------

PARSERS = ["httpool", "httptools", "h11"]
VERSIONS = {"httpool": httpool.__version__, "httptools": httptools.__version__,
            "h11": h11.__version__}


def _check(result, expected: Response):
    status, reason, headers, complete, body = result
    assert status == 200
    assert reason == b"OK"
    assert headers == expected.headers
    assert complete is True
    assert len(body) == len(expected.body)
    assert body == expected.body


def _check_all(results, case: Case):
    assert len(results) == len(case.responses)
    for result, expected in zip(results, case.responses):
        _check(result, expected)


def _run(parse, datas):
    """Parse each response in turn; the timed call. Returns the last result."""
    for data in datas:
        result = parse(data)
    return result


def _run_h11(conns, datas):
    for conn, data in zip(conns, datas):
        result = h11_parse(conn, data)
    return result


@pytest.mark.benchmark(warmup=True, warmup_iterations=1000)
@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("case_key", sorted(CASES))
def test_parse(benchmark, case_key, parser):
    case = CASES[case_key]
    datas = case.datas
    benchmark.group = case.group
    benchmark.extra_info.update(
        case=case.key, parser=parser, version=VERSIONS[parser],
        responses_per_call=len(datas),
        response_bytes=sum(map(len, datas)) / len(datas),
        body_bytes=sum(len(r.body) for r in case.responses) / len(datas))

    if parser == "h11":
        # Correct, on fresh connections each time.
        for _ in range(2):
            _check_all([h11_parse(h11_connection(), data) for data in datas], case)
        # Pedantic mode, to keep the connection set-up out of the timing: one
        # call per round (a call takes tens of microseconds or more, far above
        # the timer's resolution), as many rounds as fit in about a second.
        conns = [h11_connection() for _ in datas]
        start = time.perf_counter()
        _run_h11(conns, datas)
        per_call = time.perf_counter() - start
        rounds = max(20, min(100_000, int(1.0 / per_call)))
        result = benchmark.pedantic(
            _run_h11, setup=lambda: (([h11_connection() for _ in datas], datas), {}),
            rounds=rounds, iterations=1, warmup_rounds=min(100, rounds // 10))
    else:
        parse = httpool_parser() if parser == "httpool" else httptools_parser()
        # Correct, and again on the reused parser.
        for _ in range(2):
            _check_all([parse(data) for data in datas], case)
        result = benchmark(_run, parse, datas)
    _check(result, case.responses[-1])
