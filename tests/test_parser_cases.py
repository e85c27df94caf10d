"""httpool's own response cases for ResponseParser, and its body/tail/reuse API.

The table covers what llhttp's response corpus covers, in httpool's terms:
Content-Length and chunked framing (extensions, trailers, hex sizes in either
case), connection persistence (HTTP/1.0 and 1.1, Connection and Keep-Alive),
bodies delimited by the close, interim 1xx responses, HEAD, 204 and 304,
duplicate fields, and the inputs and limits that must be refused. Every case is
fed whole, split in two at every byte and one byte at a time, as bytes,
bytearray and memoryview, and must give the same result each way.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass, field

import pytest

from httpool import RemoteProtocolError, ResponseParser

from support.parser_helpers import BUFFER_KINDS, FEEDINGS, as_buffer, drain_mode, drive, feedings

UNCHECKED = object()  # a field a case does not state


@dataclass(frozen=True)
class Case:
    id: str
    data: bytes
    # Valid responses: what the parser reports once the response is complete.
    status: int = 200
    reason: bytes = b"OK"
    version: str = "1.1"
    headers: tuple = ()
    body: bytes = b""
    keep_alive: bool = True
    trailers: tuple = ()
    content_length: object = None
    chunked: object = False
    keep_alive_timeout: float | None = None
    keep_alive_max: int | None = None
    after: bytes = b""  # bytes after the response, left in tail
    eof: bool = False  # the body ends with the connection: feed_eof() completes it
    head: bool = False  # start(head=True): the response answers a HEAD request
    limits: dict = field(default_factory=dict)
    unsafe_framing: bool = False  # read, but the connection is never reused
    # Invalid responses: a part of the RemoteProtocolError message.
    error: str | None = None


def ok(id, data, **expected) -> Case:
    return Case(id, data, **expected)


def bad(id, data, error, **options) -> Case:
    return Case(id, data, error=error, **options)


def chunk(payload: bytes, size: str | None = None, ext: bytes = b"") -> bytes:
    return (size or f"{len(payload):x}").encode() + ext + b"\r\n" + payload + b"\r\n"


OK = b"HTTP/1.1 200 OK\r\n"
CL5 = OK + b"Content-Length: 5\r\n\r\nhello"
CHUNKED = OK + b"Transfer-Encoding: chunked\r\n\r\n"
NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
ALPHABET = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

VALID = [
    # --- Content-Length -------------------------------------------------
    ok("cl", CL5, headers=((b"Content-Length", b"5"),), body=b"hello", content_length=5),
    ok("cl-zero", OK + b"Content-Length: 0\r\n\r\n", headers=((b"Content-Length", b"0"),),
       content_length=0),
    ok("cl-binary-body", OK + b"Content-Length: 256\r\n\r\n" + bytes(range(256)),
       headers=((b"Content-Length", b"256"),), body=bytes(range(256)), content_length=256),
    ok("cl-leading-zeros", OK + b"Content-Length: 007\r\n\r\n1234567",
       headers=((b"Content-Length", b"007"),), body=b"1234567", content_length=7),
    ok("cl-whitespace", OK + b"Content-Length:   5  \r\n\r\nhello",
       headers=((b"Content-Length", b"5"),), body=b"hello", content_length=5),
    ok("cl-bytes-after", CL5 + NEXT, headers=((b"Content-Length", b"5"),), body=b"hello",
       content_length=5, after=NEXT),
    ok("cl-header-order", OK + b"Server: x\r\nContent-Length: 2\r\nDate: y\r\n\r\nhi",
       headers=((b"Server", b"x"), (b"Content-Length", b"2"), (b"Date", b"y")), body=b"hi",
       content_length=2),
    # --- chunked --------------------------------------------------------
    ok("chunked", CHUNKED + chunk(b"hello") + b"0\r\n\r\n",
       headers=((b"Transfer-Encoding", b"chunked"),), body=b"hello", chunked=True),
    ok("chunked-several", CHUNKED + chunk(b"hello") + chunk(b" ") + chunk(b"world") + b"0\r\n\r\n",
       headers=((b"Transfer-Encoding", b"chunked"),), body=b"hello world", chunked=True),
    ok("chunked-hex-upper", CHUNKED + chunk(ALPHABET[:10], "A") + chunk(ALPHABET[:31], "1F")
       + b"0\r\n\r\n", headers=((b"Transfer-Encoding", b"chunked"),),
       body=ALPHABET[:10] + ALPHABET[:31], chunked=True),
    ok("chunked-hex-lower", CHUNKED + chunk(ALPHABET[:10], "a") + chunk(ALPHABET[:31], "1f")
       + b"0\r\n\r\n", headers=((b"Transfer-Encoding", b"chunked"),),
       body=ALPHABET[:10] + ALPHABET[:31], chunked=True),
    ok("chunked-hex-mixed-leading-zeros", CHUNKED + chunk(ALPHABET[:43], "002B")
       + chunk(ALPHABET[:45], "2d") + b"000\r\n\r\n", headers=((b"Transfer-Encoding", b"chunked"),),
       body=ALPHABET[:43] + ALPHABET[:45], chunked=True),
    ok("chunked-extensions", CHUNKED + chunk(b"hello", ext=b";name=value")
       + chunk(b" world", ext=b';a;b="quoted; \\"x\\""') + b"0;last=1\r\n\r\n",
       headers=((b"Transfer-Encoding", b"chunked"),), body=b"hello world", chunked=True),
    ok("chunked-trailers", CHUNKED + chunk(b"hello") + b"0\r\nX-Checksum: abc\r\nX-Other: 1 2\r\n\r\n",
       headers=((b"Transfer-Encoding", b"chunked"),), body=b"hello", chunked=True,
       trailers=((b"X-Checksum", b"abc"), (b"X-Other", b"1 2"))),
    ok("chunked-empty", CHUNKED + b"0\r\n\r\n", headers=((b"Transfer-Encoding", b"chunked"),),
       chunked=True),
    ok("chunked-crlf-in-data", CHUNKED + chunk(b"a\r\n0\r\n\r\n") + b"0\r\n\r\n",
       headers=((b"Transfer-Encoding", b"chunked"),), body=b"a\r\n0\r\n\r\n", chunked=True),
    ok("chunked-coding-name-case", OK + b"Transfer-Encoding: Chunked\r\n\r\n" + chunk(b"x")
       + b"0\r\n\r\n", headers=((b"Transfer-Encoding", b"Chunked"),), body=b"x", chunked=True),
    ok("chunked-last-of-several-codings", OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n"
       + chunk(b"\x1f\x8b") + b"0\r\n\r\n", headers=((b"Transfer-Encoding", b"gzip, chunked"),),
       body=b"\x1f\x8b", chunked=True),
    ok("chunked-bytes-after", CHUNKED + chunk(b"hello") + b"0\r\n\r\n" + NEXT,
       headers=((b"Transfer-Encoding", b"chunked"),), body=b"hello", chunked=True, after=NEXT),
    # --- connection persistence -------------------------------------------
    ok("http11-close", OK + b"Connection: close\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Connection", b"close"), (b"Content-Length", b"0")), keep_alive=False,
       content_length=0),
    ok("http11-close-any-case", OK + b"connection: CLOSE\r\nContent-Length: 0\r\n\r\n",
       headers=((b"connection", b"CLOSE"), (b"Content-Length", b"0")), keep_alive=False,
       content_length=0),
    ok("http11-close-in-list", OK + b"Connection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Connection", b"keep-alive, close"), (b"Content-Length", b"0")),
       keep_alive=False, content_length=0),
    ok("http11-explicit-keep-alive", OK + b"Connection: keep-alive\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Connection", b"keep-alive"), (b"Content-Length", b"0")), content_length=0),
    ok("http10-default-close", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", version="1.0",
       headers=((b"Content-Length", b"2"),), body=b"hi", keep_alive=False, content_length=2),
    ok("http10-keep-alive", b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi",
       version="1.0", headers=((b"Connection", b"Keep-Alive"), (b"Content-Length", b"2")),
       body=b"hi", content_length=2),
    # llhttp reads Proxy-Connection as Connection (its corpus case connection.md:7 too).
    ok("proxy-connection-close", OK + b"Proxy-Connection: close\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Proxy-Connection", b"close"), (b"Content-Length", b"0")), keep_alive=False,
       content_length=0),
    ok("upgrade-header-on-200", OK + b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
       b"Content-Length: 2\r\n\r\nhi", headers=((b"Connection", b"Upgrade"),
       (b"Upgrade", b"websocket"), (b"Content-Length", b"2")), body=b"hi", content_length=2),
    # --- bodies delimited by the close (feed_eof) -------------------------
    ok("close-delimited", OK + b"Content-Type: text/plain\r\n\r\nhello world", eof=True,
       headers=((b"Content-Type", b"text/plain"),), body=b"hello world", keep_alive=False),
    ok("close-delimited-empty", OK + b"Connection: close\r\n\r\n", eof=True,
       headers=((b"Connection", b"close"),), keep_alive=False),
    ok("close-delimited-http10", b"HTTP/1.0 200 OK\r\n\r\nold", eof=True, version="1.0",
       body=b"old", keep_alive=False),
    ok("close-delimited-http10-keep-alive", b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nx",
       eof=True, version="1.0", headers=((b"Connection", b"keep-alive"),), body=b"x",
       keep_alive=False),
    ok("close-delimited-chunked-not-last", OK + b"Transfer-Encoding: chunked, gzip\r\n\r\n1\r\nx",
       eof=True, headers=((b"Transfer-Encoding", b"chunked, gzip"),), body=b"1\r\nx",
       keep_alive=False),
    ok("close-delimited-unknown-coding", OK + b"Transfer-Encoding: gzip\r\n\r\n\x1f\x8b", eof=True,
       headers=((b"Transfer-Encoding", b"gzip"),), body=b"\x1f\x8b", keep_alive=False),
    # --- interim 1xx ---------------------------------------------------------
    ok("interim-100", b"HTTP/1.1 100 Continue\r\n\r\n" + CL5, headers=((b"Content-Length", b"5"),),
       body=b"hello", content_length=5),
    ok("interim-103-headers-dropped", b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n"
       b"Keep-Alive: timeout=1\r\n\r\n" + CL5, headers=((b"Content-Length", b"5"),),
       body=b"hello", content_length=5),
    ok("interim-several", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
       b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + CL5,
       headers=((b"Content-Length", b"5"),), body=b"hello", content_length=5),
    ok("interim-at-limit", b"HTTP/1.1 100 Continue\r\n\r\n" * 2 + CL5, limits={"max_interim": 2},
       headers=((b"Content-Length", b"5"),), body=b"hello", content_length=5),
    ok("interim-then-close", b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"Connection: close\r\n"
       b"Content-Length: 0\r\n\r\n", headers=((b"Connection", b"close"), (b"Content-Length", b"0")),
       keep_alive=False, content_length=0),
    ok("interim-then-head", b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"Content-Length: 5\r\n\r\n",
       head=True, headers=((b"Content-Length", b"5"),)),
    # --- HEAD --------------------------------------------------------------
    ok("head-content-length", OK + b"Content-Length: 10\r\n\r\n", head=True,
       headers=((b"Content-Length", b"10"),)),
    ok("head-chunked", CHUNKED, head=True, headers=((b"Transfer-Encoding", b"chunked"),),
       chunked=UNCHECKED),
    ok("head-no-framing", OK + b"Content-Type: text/html\r\n\r\n", head=True,
       headers=((b"Content-Type", b"text/html"),)),
    ok("head-bytes-after", OK + b"Content-Length: 5\r\n\r\n" + NEXT, head=True,
       headers=((b"Content-Length", b"5"),), after=NEXT),
    # --- 204 and 304 -------------------------------------------------------------
    ok("204", b"HTTP/1.1 204 No Content\r\n\r\n", status=204, reason=b"No Content"),
    ok("204-content-length-ignored", b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n" + NEXT,
       status=204, reason=b"No Content", headers=((b"Content-Length", b"10"),), after=NEXT),
    ok("204-http10", b"HTTP/1.0 204 No Content\r\n\r\n", status=204, reason=b"No Content",
       version="1.0", keep_alive=False),
    ok("304-content-length", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
       status=304, reason=b"Not Modified", headers=((b"Content-Length", b"100"),)),
    ok("304-chunked", b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n" + NEXT,
       status=304, reason=b"Not Modified", headers=((b"Transfer-Encoding", b"chunked"),),
       chunked=True, after=NEXT),
    # --- Keep-Alive parameters -----------------------------------------------
    ok("keep-alive-timeout-max", OK + b"Keep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Keep-Alive", b"timeout=5, max=100"), (b"Content-Length", b"0")),
       content_length=0, keep_alive_timeout=5.0, keep_alive_max=100),
    ok("keep-alive-timeout-only", OK + b"Keep-Alive: timeout=30\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Keep-Alive", b"timeout=30"), (b"Content-Length", b"0")), content_length=0,
       keep_alive_timeout=30.0),
    ok("keep-alive-max-only", OK + b"Keep-Alive: max=7\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Keep-Alive", b"max=7"), (b"Content-Length", b"0")), content_length=0,
       keep_alive_max=7),
    ok("keep-alive-case-and-spaces", OK + b"keep-alive:  Timeout = 7 ,MAX=3\r\nContent-Length: 0\r\n\r\n",
       headers=((b"keep-alive", b"Timeout = 7 ,MAX=3"), (b"Content-Length", b"0")),
       content_length=0, keep_alive_timeout=7.0, keep_alive_max=3),
    ok("keep-alive-unknown-parameters", OK + b"Keep-Alive: foo=bar, timeout=2, x\r\n"
       b"Content-Length: 0\r\n\r\n", headers=((b"Keep-Alive", b"foo=bar, timeout=2, x"),
       (b"Content-Length", b"0")), content_length=0, keep_alive_timeout=2.0),
    ok("keep-alive-invalid-numbers", OK + b"Keep-Alive: timeout=abc, max=-1, timeout=1.5\r\n"
       b"Content-Length: 0\r\n\r\n", headers=((b"Keep-Alive", b"timeout=abc, max=-1, timeout=1.5"),
       (b"Content-Length", b"0")), content_length=0),
    ok("keep-alive-number-too-long", OK + b"Keep-Alive: timeout=1234567890\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Keep-Alive", b"timeout=1234567890"), (b"Content-Length", b"0")), content_length=0),
    ok("keep-alive-first-wins", OK + b"Keep-Alive: timeout=5, timeout=9\r\nKeep-Alive: max=1\r\n"
       b"Keep-Alive: max=2\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Keep-Alive", b"timeout=5, timeout=9"), (b"Keep-Alive", b"max=1"),
                (b"Keep-Alive", b"max=2"), (b"Content-Length", b"0")),
       content_length=0, keep_alive_timeout=5.0, keep_alive_max=1),
    ok("keep-alive-http10", b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=15\r\n"
       b"Content-Length: 0\r\n\r\n", version="1.0", headers=((b"Connection", b"keep-alive"),
       (b"Keep-Alive", b"timeout=15"), (b"Content-Length", b"0")), content_length=0,
       keep_alive_timeout=15.0),
    # --- header fields and status line ----------------------------------------
    ok("set-cookie-twice", OK + b"Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Set-Cookie", b"a=1; Path=/"), (b"Set-Cookie", b"b=2"), (b"Content-Length", b"0")),
       content_length=0),
    ok("framing-tokens-leading-tab-and-trailing-spaces", OK + b"Transfer-Encoding:\tchunked  \r\n"
       b"Connection:\tclose \r\n\r\n" + chunk(b"hello") + b"0\r\n\r\n",
       headers=((b"Transfer-Encoding", b"chunked"), (b"Connection", b"close")), body=b"hello",
       chunked=True, keep_alive=False),
    ok("header-whitespace", OK + b"A:value\r\nB: \t value \t \r\nC: a  b\r\nContent-Length: 0\r\n\r\n",
       headers=((b"A", b"value"), (b"B", b"value"), (b"C", b"a  b"), (b"Content-Length", b"0")),
       content_length=0),
    ok("header-empty-value", OK + b"X-Empty:\r\nX-Blank:   \r\nContent-Length: 0\r\n\r\n",
       headers=((b"X-Empty", b""), (b"X-Blank", b""), (b"Content-Length", b"0")), content_length=0),
    ok("header-name-case-kept", OK + b"x-LoWeR: 1\r\nCONTENT-LENGTH: 0\r\n\r\n",
       headers=((b"x-LoWeR", b"1"), (b"CONTENT-LENGTH", b"0")), content_length=0),
    ok("header-token-chars", OK + b"!#$%&'*+-.^_`|~09azAZ: v\r\nContent-Length: 0\r\n\r\n",
       headers=((b"!#$%&'*+-.^_`|~09azAZ", b"v"), (b"Content-Length", b"0")), content_length=0),
    ok("header-obs-text", OK + b"X: caf\xe9 \xff\r\nContent-Length: 0\r\n\r\n",
       headers=((b"X", b"caf\xe9 \xff"), (b"Content-Length", b"0")), content_length=0),
    ok("no-reason-phrase", b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", reason=b"",
       headers=((b"Content-Length", b"0"),), content_length=0),
    ok("reason-with-spaces", b"HTTP/1.1 404 Not Found Here\r\nContent-Length: 0\r\n\r\n",
       status=404, reason=b"Not Found Here", headers=((b"Content-Length", b"0"),), content_length=0),
    ok("status-599", b"HTTP/1.1 599 Custom\r\nContent-Length: 1\r\n\r\n!", status=599,
       reason=b"Custom", headers=((b"Content-Length", b"1"),), body=b"!", content_length=1),
    ok("leading-crlf", b"\r\n\r\n" + CL5, headers=((b"Content-Length", b"5"),), body=b"hello",
       content_length=5),
    # --- obs-fold (RFC 9112 section 5.2: each one read as SP) -------------------
    ok("obs-fold", OK + b"X-A: one\r\n two\r\nContent-Length: 0\r\n\r\n",
       headers=((b"X-A", b"one two"), (b"Content-Length", b"0")), content_length=0),
    ok("obs-fold-whitespace-around", OK + b"X-A: one \t\r\n \t two \r\nContent-Length: 0\r\n\r\n",
       headers=((b"X-A", b"one two"), (b"Content-Length", b"0")), content_length=0),
    ok("obs-fold-several", OK + b"X-A: a\r\n b\r\n\tc\r\nX-B: d\r\n  e\r\nContent-Length: 0\r\n\r\n",
       headers=((b"X-A", b"a b c"), (b"X-B", b"d e"), (b"Content-Length", b"0")), content_length=0),
    ok("obs-fold-after-empty-value", OK + b"X-A:\r\n two\r\nX-B:  \r\n\t three\r\nContent-Length: 0\r\n\r\n",
       headers=((b"X-A", b"two"), (b"X-B", b"three"), (b"Content-Length", b"0")), content_length=0),
    ok("obs-fold-then-nothing", OK + b"X-A: one\r\n \r\nContent-Length: 0\r\n\r\n",
       headers=((b"X-A", b"one"), (b"Content-Length", b"0")), content_length=0),
    ok("obs-fold-in-trailer", CHUNKED + chunk(b"hello") + b"0\r\nT: a\r\n b\r\n\r\n",
       headers=((b"Transfer-Encoding", b"chunked"),), body=b"hello", chunked=True,
       trailers=((b"T", b"a b"),)),
    ok("obs-fold-is-not-a-header-line", OK + b"A: 1\r\n 2\r\n 3\r\nContent-Length: 0\r\n\r\n",
       limits={"max_headers": 2}, headers=((b"A", b"1 2 3"), (b"Content-Length", b"0")),
       content_length=0),
    # llhttp reads the tokens after a fold apart from those before it: never reused.
    ok("obs-fold-in-connection", OK + b"Connection: keep-alive\r\n ,close\r\nContent-Length: 0\r\n\r\n",
       headers=((b"Connection", b"keep-alive ,close"), (b"Content-Length", b"0")), content_length=0,
       keep_alive=False, unsafe_framing=True),
    # --- questionable framing: read, never reused (RFC 9112 section 6.1) -------
    ok("http10-chunked-not-reused", b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
       b"Transfer-Encoding: chunked\r\n\r\n" + chunk(b"hello") + b"0\r\n\r\n" + NEXT, version="1.0",
       headers=((b"Connection", b"keep-alive"), (b"Transfer-Encoding", b"chunked")), body=b"hello",
       chunked=True, keep_alive=False, unsafe_framing=True, after=NEXT),
    ok("chunked-twice-in-one-line-not-reused", OK + b"Transfer-Encoding: chunked, Chunked\r\n\r\n"
       + chunk(b"hello") + b"0\r\n\r\n" + NEXT, headers=((b"Transfer-Encoding", b"chunked, Chunked"),),
       body=b"hello", chunked=True, keep_alive=False, unsafe_framing=True, after=NEXT),
    ok("chunked-twice-in-two-lines-not-reused", OK + b"Transfer-Encoding: chunked\r\n"
       b"Transfer-Encoding: chunked\r\n\r\n" + chunk(b"hello") + b"0\r\n\r\n" + NEXT,
       headers=((b"Transfer-Encoding", b"chunked"), (b"Transfer-Encoding", b"chunked")),
       body=b"hello", chunked=True, keep_alive=False, unsafe_framing=True, after=NEXT),
    # --- limits, at the limit ------------------------------------------------
    ok("body-at-limit-content-length", CL5, limits={"max_body_size": 5},
       headers=((b"Content-Length", b"5"),), body=b"hello", content_length=5),
    ok("body-at-limit-chunked", CHUNKED + chunk(b"hel") + chunk(b"lo") + b"0\r\n\r\n",
       limits={"max_body_size": 5}, headers=((b"Transfer-Encoding", b"chunked"),), body=b"hello",
       chunked=True),
    ok("headers-at-count-limit", OK + b"A: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n",
       limits={"max_headers": 3}, headers=((b"A", b"1"), (b"B", b"2"), (b"Content-Length", b"0")),
       content_length=0),
    ok("head-at-byte-limit", OK + b"Content-Length: 0\r\nX: " + b"a" * 21 + b"\r\n\r\n",
       limits={"max_header_bytes": 64}, headers=((b"Content-Length", b"0"), (b"X", b"a" * 21)),
       content_length=0),
    # The bytes before a chunk's data (here "5;" + 60 + CRLF), and from the last
    # data to the end (CRLF "0" CRLF, the trailer section, CRLF) count against
    # max_header_bytes too.
    ok("chunk-size-line-and-trailers-at-byte-limit", CHUNKED + chunk(b"hello", ext=b";" + b"e" * 60)
       + b"0\r\nT: " + b"v" * 52 + b"\r\n\r\n", limits={"max_header_bytes": 64},
       headers=((b"Transfer-Encoding", b"chunked"),), body=b"hello", chunked=True,
       trailers=((b"T", b"v" * 52),)),
]

INVALID = [
    # --- framing ------------------------------------------------------------
    bad("te-and-cl", CHUNKED[:-2] + b"Content-Length: 5\r\n\r\n",
        "Content-Length can't be present with Transfer-Encoding"),
    bad("cl-and-te", OK + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "Transfer-Encoding can't be present with Content-Length"),
    bad("cl-conflicting", OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "Duplicate Content-Length"),
    bad("cl-repeated", OK + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "Duplicate Content-Length"),
    bad("cl-list", OK + b"Content-Length: 5, 5\r\n\r\nhello", "Invalid character in Content-Length"),
    bad("cl-not-a-number", OK + b"Content-Length: five\r\n\r\n", "Invalid character in Content-Length"),
    bad("cl-negative", OK + b"Content-Length: -5\r\n\r\n", "Invalid character in Content-Length"),
    bad("cl-overflow", OK + b"Content-Length: 99999999999999999999999\r\n\r\n",
        "Content-Length overflow"),
    bad("chunk-size-not-hex", CHUNKED + b"zz\r\n", "Invalid character in chunk size"),
    bad("chunk-size-negative", CHUNKED + b"-1\r\n", "Invalid character in chunk size"),
    bad("chunk-size-space", CHUNKED + b"5 \r\nhello\r\n0\r\n\r\n", "Invalid character in chunk size"),
    bad("chunk-size-overflow", CHUNKED + b"fffffffffffffffff\r\n", "Chunk size overflow"),
    bad("chunk-size-missing", CHUNKED + b"\r\nhello\r\n", "Invalid character in chunk size"),
    bad("chunk-data-too-long", CHUNKED + b"5\r\nhelloX\r\n", "Expected LF after chunk data"),
    bad("chunk-extension-unbalanced-quote", CHUNKED + b'5;a="b\r\nhello\r\n0\r\n\r\n',
        "Invalid character in chunk extensions quoted value"),
    # --- status line -----------------------------------------------------------
    bad("status-two-digits", b"HTTP/1.1 20 OK\r\n\r\n", "Invalid status code"),
    bad("status-four-digits", b"HTTP/1.1 2000 OK\r\n\r\n", "Invalid response status"),
    bad("status-letters", b"HTTP/1.1 abc OK\r\n\r\n", "Invalid status code"),
    bad("status-line-garbage", b"hello world\r\n\r\n", "Expected HTTP/"),
    bad("status-line-lf-only", b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "Missing expected CR after response line"),
    bad("status-line-bad-version", b"HTTP/1.x 200 OK\r\n\r\n", "Invalid minor version"),
    bad("status-line-unknown-version", b"HTTP/3.1 200 OK\r\n\r\n", "Invalid HTTP version"),
    bad("status-line-tab", b"HTTP/1.1\t200 OK\r\n\r\n", "Expected space after version"),
    # --- header fields -----------------------------------------------------------
    bad("header-no-colon", OK + b"Foo\r\nContent-Length: 0\r\n\r\n", "Invalid header token"),
    bad("header-space-before-colon", OK + b"Foo : bar\r\n\r\n", "Invalid header token"),
    bad("header-line-starts-with-space", OK + b" X: 1\r\n\r\n", "Unexpected space after start line"),
    bad("header-value-nul", OK + b"X: a\x00b\r\n\r\n", "Invalid header value char"),
    bad("header-value-bare-cr", OK + b"X: a\rb\r\n\r\n", "Missing expected LF after header value"),
    bad("header-name-non-token", OK + b"X\x7f: 1\r\n\r\n", "Invalid header token"),
    # llhttp 9.3.0 takes only SP as whitespace around these tokens: it would read
    # "chunked<HTAB>" as not chunked (the chunks becoming a body delimited by the
    # close) and "close<HTAB>" as keep-alive. httpool refuses them.
    bad("transfer-encoding-chunked-tab", OK + b"Transfer-Encoding: chunked\t\r\n\r\n"
        + chunk(b"hello") + b"0\r\n\r\n", "tab in a Transfer-Encoding or Connection value"),
    bad("transfer-encoding-tab-in-list", OK + b"Transfer-Encoding: gzip,\tchunked\r\n\r\n"
        + chunk(b"hello") + b"0\r\n\r\n", "tab in a Transfer-Encoding or Connection value"),
    bad("connection-close-tab", OK + b"Connection: close\t\r\nContent-Length: 0\r\n\r\n",
        "tab in a Transfer-Encoding or Connection value"),
    bad("proxy-connection-close-tab", OK + b"Proxy-Connection: close\t, x\r\nContent-Length: 0\r\n\r\n",
        "tab in a Transfer-Encoding or Connection value"),
    # --- limits ----------------------------------------------------------------
    bad("head-over-byte-limit", OK + b"Content-Length: 0\r\nX: " + b"a" * 22 + b"\r\n\r\n",
        "response head larger than max_header_bytes=64", limits={"max_header_bytes": 64}),
    bad("head-over-byte-limit-one-value", OK + b"X: " + b"a" * 5000 + b"\r\n\r\n",
        "response head larger than max_header_bytes=1024", limits={"max_header_bytes": 1024}),
    bad("head-over-byte-limit-many-fields", OK + b"".join(b"H%d: v\r\n" % i for i in range(40)) + b"\r\n",
        "response head larger than max_header_bytes=200", limits={"max_header_bytes": 200}),
    bad("head-over-byte-limit-unterminated", OK + b"X: " + b"a" * 300,
        "response head larger than max_header_bytes=256", limits={"max_header_bytes": 256}),
    bad("headers-over-count-limit", OK + b"A: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n",
        "more header fields than max_headers=3", limits={"max_headers": 3}),
    bad("trailers-over-count-limit", CHUNKED + b"0\r\nT1: 1\r\nT2: 2\r\n\r\n",
        "more header fields than max_headers=2", limits={"max_headers": 2}),
    # The name over the count starts before the byte llhttp refuses: the limit
    # is the first fault, also when the name reaches llhttp in one piece with
    # that byte (found by the hypothesis properties).
    bad("headers-over-count-limit-then-bad-token", OK + b"A: 1\r\nB: 2\r\nC\x00: 3\r\n\r\n",
        "more header fields than max_headers=2", limits={"max_headers": 2}),
    bad("trailers-over-count-limit-then-bad-token", CHUNKED + b"0\r\nT1: 1\r\n*\x00",
        "more header fields than max_headers=2", limits={"max_headers": 2}),
    bad("interim-over-limit", b"HTTP/1.1 100 Continue\r\n\r\n" * 3 + CL5,
        "more interim (1xx) responses than max_interim=2", limits={"max_interim": 2}),
    bad("interim-default-limit", b"HTTP/1.1 103 Early Hints\r\n\r\n" * 6 + CL5,
        "more interim (1xx) responses than max_interim=5"),
    bad("interim-none-allowed", b"HTTP/1.1 100 Continue\r\n\r\n" + CL5,
        "more interim (1xx) responses than max_interim=0", limits={"max_interim": 0}),
    bad("body-over-limit-content-length", OK + b"Content-Length: 6\r\n\r\nhello!",
        "Content-Length announces a body larger than max_body_size=5", limits={"max_body_size": 5}),
    bad("body-over-limit-chunked", CHUNKED + chunk(b"hel") + chunk(b"lo!") + b"0\r\n\r\n",
        "response body larger than max_body_size=5", limits={"max_body_size": 5}),
    bad("body-over-limit-close-delimited", OK + b"\r\nhello!",
        "response body larger than max_body_size=5", limits={"max_body_size": 5}),
    # --- chunked framing over max_header_bytes: endless chunk-size lines and
    # trailers are refused, not read forever --------------------------------------
    bad("chunk-extension-endless", CHUNKED + b"5;" + b"a" * 200,
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    bad("chunk-extension-over-limit", CHUNKED + chunk(b"hello", ext=b";" + b"e" * 61) + b"0\r\n\r\n",
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    bad("chunk-extensions-many", CHUNKED + b"5" + b";a=b" * 50 + b"\r\nhello\r\n0\r\n\r\n",
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    bad("chunk-extension-quoted-endless", CHUNKED + b'5;a="' + b" " * 200,
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    bad("chunk-size-leading-zeros-endless", CHUNKED + b"0" * 200,
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    bad("chunk-extension-over-limit-later-chunk", CHUNKED + chunk(b"hello")
        + chunk(b"world", ext=b";" + b"e" * 59) + b"0\r\n\r\n",
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    bad("trailer-section-over-limit", CHUNKED + chunk(b"hello") + b"0\r\nT: " + b"v" * 53 + b"\r\n\r\n",
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    bad("trailer-whitespace-endless", CHUNKED + chunk(b"hello") + b"0\r\nT:" + b" " * 200,
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    bad("trailer-lines-endless", CHUNKED + chunk(b"hello") + b"0\r\n" + b"T: v\r\n" * 40,
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    bad("chunk-size-line-over-limit-then-bad-byte", CHUNKED + b"0" * 70 + b"x\r\n",
        "chunk-size line or trailer section larger than max_header_bytes=64",
        limits={"max_header_bytes": 64}),
    # --- body limit, announced ------------------------------------------------------
    bad("body-over-limit-huge-content-length", OK + b"Content-Length: 99999999999999\r\n\r\nabc",
        "Content-Length announces a body larger than max_body_size=1000",
        limits={"max_body_size": 1000}),
    # --- status line versions other than HTTP/1.x (llhttp takes 0.9 and 2.0) -------
    bad("status-line-http2", b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "not an HTTP/1.x status line"),
    bad("status-line-http09", b"HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n",
        "not an HTTP/1.x status line"),
    bad("status-line-http2-interim", b"HTTP/2.0 100 Continue\r\n\r\n" + CL5,
        "not an HTTP/1.x status line"),
    bad("status-line-http3", b"HTTP/3.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "Invalid HTTP version"),
    # --- obs-fold: never in the framing fields, and no other leniency with it ------
    # llhttp reads a second number after the fold and refuses it first.
    bad("obs-fold-in-content-length", OK + b"Content-Length: 1\r\n 0\r\n\r\n" + b"x" * 10,
        "Duplicate Content-Length"),
    bad("obs-fold-in-empty-content-length", OK + b"Content-Length:\r\n 5\r\n\r\nhello",
        "obs-fold in a Content-Length or Transfer-Encoding field"),
    bad("obs-fold-in-transfer-encoding", OK + b"Transfer-Encoding: gzip\r\n , chunked\r\n\r\n"
        + chunk(b"hello") + b"0\r\n\r\n", "obs-fold in a Content-Length or Transfer-Encoding field"),
    bad("obs-fold-in-empty-transfer-encoding", OK + b"Transfer-Encoding:\r\n chunked\r\n\r\n"
        + chunk(b"hello") + b"0\r\n\r\n", "obs-fold in a Content-Length or Transfer-Encoding field"),
    bad("obs-fold-then-space-before-colon", OK + b"X: a\r\n b\r\nFoo : bar\r\n\r\n",
        "Invalid header token"),
    bad("obs-fold-then-bare-cr", OK + b"X: a\r\n b\rc: d\r\n\r\n", "Missing expected LF after header value"),
    bad("obs-fold-then-nul", OK + b"X: a\r\n b\x00\r\n\r\n", "Invalid header value char"),
    bad("obs-fold-then-bare-cr-in-fold", OK + b"X: a\r \tb\r\n\r\n", "Missing expected LF after header value"),
    bad("obs-fold-after-status-line", OK + b" X: 1\r\n\r\n", "Unexpected space after start line"),
    bad("obs-fold-over-head-limit", OK + b"X: a" + b"\r\n b" * 20 + b"\r\n\r\n",
        "response head larger than max_header_bytes=64", limits={"max_header_bytes": 64}),
    # --- protocol switch -----------------------------------------------------------
    bad("101", b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "protocol upgrade (101 Switching Protocols) is not supported"),
    bad("101-bare", b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "protocol upgrade (101 Switching Protocols) is not supported"),
    bad("101-after-100", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n",
        "protocol upgrade (101 Switching Protocols) is not supported"),
    # --- cut short by the close (feed_eof) ----------------------------------------
    bad("eof-before-any-byte", b"", "closed before the response was complete (0 bytes received)",
        eof=True),
    bad("eof-in-status-line", b"HTTP/1.1 200", "closed before the response was complete", eof=True),
    bad("eof-in-head", OK + b"Content-Length: 5\r\n", "closed before the response was complete",
        eof=True),
    bad("eof-in-content-length-body", OK + b"Content-Length: 10\r\n\r\nhello",
        "closed before the response was complete, after 5 of 10 body bytes", eof=True),
    bad("eof-in-chunked-body", CHUNKED + chunk(b"hello"),
        "closed before the response was complete, after 5 body bytes (", eof=True),
    bad("eof-in-chunk", CHUNKED + chunk(b"hello") + b"a\r\nabc",
        "closed before the response was complete, after 8 body bytes, in the middle of a chunk",
        eof=True),
    bad("eof-in-trailers", CHUNKED + b"0\r\nX: 1\r\n", "closed before the response was complete",
        eof=True),
    bad("eof-after-interim", b"HTTP/1.1 100 Continue\r\n\r\n",
        "closed before the response was complete", eof=True),
]


def _params(cases):
    return [pytest.param(c, id=c.id) for c in cases]


def test_case_ids_are_unique():
    ids = [c.id for c in VALID + INVALID]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("kind", BUFFER_KINDS)
@pytest.mark.parametrize("feeding", FEEDINGS)
@pytest.mark.parametrize("case", _params(VALID))
def test_valid_response(case, feeding, kind):
    for pieces in feedings(case.data, feeding):
        label = f"{feeding} {[len(p) for p in pieces]}"
        out = drive(pieces, kind=kind, head=case.head, eof=case.eof, pipeline=False,
                    drain=drain_mode(feeding), limits=case.limits)
        assert out.error is None, f"{label}: {out.error}"
        (seen,) = out.messages
        got = {
            "complete": seen.complete,
            "status": seen.status,
            "reason": seen.reason,
            "version": seen.version,
            "headers": seen.headers,
            "trailers": seen.trailers,
            "body": seen.body,
            "body_received": seen.body_received,
            "keep_alive": seen.keep_alive,
            "keep_alive_timeout": seen.keep_alive_timeout,
            "keep_alive_max": seen.keep_alive_max,
            "content_length": seen.content_length,
            "chunked": seen.chunked,
            "unsafe_framing": seen.unsafe_framing,
            "after": out.after,
        }
        want = {
            "complete": True,
            "status": case.status,
            "reason": case.reason,
            "version": case.version,
            "headers": list(case.headers),
            "trailers": list(case.trailers),
            "body": case.body,
            "body_received": len(case.body),
            "keep_alive": case.keep_alive,
            "keep_alive_timeout": case.keep_alive_timeout,
            "keep_alive_max": case.keep_alive_max,
            "content_length": case.content_length,
            "chunked": case.chunked,
            "unsafe_framing": case.unsafe_framing,
            "after": case.after,
        }
        if case.chunked is UNCHECKED:
            del got["chunked"], want["chunked"]
        assert got == want, label


@pytest.mark.parametrize("kind", BUFFER_KINDS)
@pytest.mark.parametrize("feeding", FEEDINGS)
@pytest.mark.parametrize("case", _params(INVALID))
def test_invalid_response(case, feeding, kind):
    for pieces in feedings(case.data, feeding):
        label = f"{feeding} {[len(p) for p in pieces]}"
        out = drive(pieces, kind=kind, head=case.head, eof=case.eof, pipeline=False,
                    limits=case.limits)
        assert out.error is not None, f"{label}: no RemoteProtocolError"
        assert case.error in str(out.error), label
        assert not out.parser.message_complete, label


@pytest.mark.parametrize("case", _params([c for c in VALID if c.eof]))
def test_close_delimited_body_waits_for_eof(case):
    """Without the close, a body delimited by it is never complete."""
    parser = ResponseParser()
    parser.feed(case.data)
    assert parser.headers_complete and parser.needs_eof
    assert not parser.message_complete and not parser.keep_alive
    parser.feed(b"more")
    assert parser.tail == b"" and not parser.message_complete
    parser.feed_eof()
    assert parser.message_complete and not parser.needs_eof and not parser.keep_alive
    assert parser.take_body() == case.body + b"more"


# ---------------------------------------------------------------------------
# The error message


def test_error_names_reason_code_offset_and_bytes():
    parser = ResponseParser()
    with pytest.raises(RemoteProtocolError) as info:
        parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n")
    first, shown, caret = str(info.value).splitlines()
    assert first == (
        "invalid response: Invalid character in Content-Length "
        "(HPE_INVALID_CONTENT_LENGTH) at byte 35:"
    )
    # Up to 24 bytes either side of the offending one.
    assert shown.strip() == repr(b"0 OK\r\nContent-Length: 12x\r\n\r\n")
    # The caret stands under the offending byte.
    assert shown[caret.index("^")] == "x"


def test_error_offset_counts_earlier_feeds():
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(RemoteProtocolError, match="at byte 20:"):
        parser.feed(b"Foo\r\n\r\n")


AFTERWARDS = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

# A refused response, its limits, and bytes that would be valid after it if
# the refusal were forgotten.
REFUSALS = [
    pytest.param(OK + b"Foo\r\n", {}, AFTERWARDS, id="llhttp-error"),
    pytest.param(OK + b"X: " + b"a" * 100, {"max_header_bytes": 64}, b"\r\n\r\n",
                 id="head-limit-in-value"),
    pytest.param(OK + b"X: 1\r\n" * 20, {"max_header_bytes": 64}, b"Y: 2\r\n",
                 id="head-limit-raw-bytes"),
    pytest.param(OK + b"A: 1\r\nB: 2\r\n", {"max_headers": 1}, b"\r\n", id="header-count"),
    pytest.param(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", {}, AFTERWARDS, id="101"),
    pytest.param(OK + b"Content-Length: 9\r\n\r\n", {"max_body_size": 5}, b"abc",
                 id="content-length-limit"),
    pytest.param(CHUNKED + chunk(b"123456"), {"max_body_size": 5}, b"0\r\n\r\n",
                 id="chunked-body-limit"),
    pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n", {"max_interim": 0}, AFTERWARDS,
                 id="interim-limit"),
]


@pytest.mark.parametrize(("data", "limits", "more"), REFUSALS)
def test_refused_response_stays_refused(data, limits, more):
    """After a RemoteProtocolError the response is never reported complete: every
    later feed and feed_eof raises too, until start()."""
    parser = ResponseParser(**limits)
    with pytest.raises(RemoteProtocolError):
        parser.feed(data)
    assert not parser.message_complete and not parser.keep_alive
    with pytest.raises(RemoteProtocolError):
        parser.feed(more)
    assert not parser.message_complete
    with pytest.raises(RemoteProtocolError):
        parser.feed_eof()
    assert not parser.message_complete and not parser.keep_alive
    parser.start()
    parser.feed(CL5)
    assert parser.message_complete and parser.take_body() == b"hello"


# ---------------------------------------------------------------------------
# Body: take_body, read_body, discard_body, limits


def test_take_body_hands_over_everything_received():
    parser = ResponseParser()
    parser.feed(OK + b"Content-Length: 11\r\n\r\nhello")
    assert parser.buffered_body == 5
    first = parser.take_body()
    assert type(first) is bytes and first == b"hello"
    assert parser.buffered_body == 0 and parser.take_body() == b""
    parser.feed(b" world")
    assert parser.message_complete
    assert parser.take_body() == b" world"
    assert parser.body_received == 11
    assert first == b"hello"  # a taken body is never touched by later parsing


def test_take_body_before_any_body():
    parser = ResponseParser()
    assert parser.take_body() == b""
    parser.feed(OK + b"Content-Length: 3\r\n\r\n")
    assert parser.take_body() == b"" and parser.buffered_body == 0
    parser.feed(b"abc")
    assert parser.take_body() == b"abc"


@pytest.mark.parametrize("size", [1, 7, 4096, 65536])
def test_read_body_streams_in_order(size):
    body = bytes(range(256)) * 400  # 102400 bytes
    parser = ResponseParser()
    parser.feed(OK + b"Content-Length: %d\r\n\r\n" % len(body))
    assert parser.content_length == len(body)
    got = []
    for i in range(0, len(body), 10000):
        parser.feed(body[i : i + 10000])
        while parser.buffered_body:
            before = parser.buffered_body
            piece = parser.read_body(size)
            assert len(piece) == min(size, before)
            assert parser.buffered_body == before - len(piece)
            got.append(piece)
    assert parser.message_complete
    assert parser.read_body(size) == b""
    assert b"".join(got) == body
    assert parser.body_received == len(body)


def test_read_body_chunked_body():
    parser = ResponseParser()
    parser.feed(CHUNKED + chunk(b"0123456789") + chunk(b"abcdef"))
    assert parser.read_body(4) == b"0123"
    assert parser.read_body(8) == b"456789ab"
    parser.feed(b"0\r\n\r\n")
    assert parser.message_complete
    assert parser.read_body(100) == b"cdef"
    assert parser.read_body(1) == b""


def test_read_body_then_take_body():
    parser = ResponseParser()
    parser.feed(CL5)
    assert parser.read_body(2) == b"he"
    assert parser.take_body() == b"llo"


@pytest.mark.parametrize("n", [0, -1])
def test_read_body_rejects_non_positive_sizes(n):
    parser = ResponseParser()
    parser.feed(CL5)
    with pytest.raises(ValueError, match="max_bytes must be at least 1"):
        parser.read_body(n)
    assert parser.take_body() == b"hello"


def test_large_body_in_uneven_feeds():
    body = bytes(i * 7 % 251 for i in range(300_000))
    data = OK + b"Content-Length: %d\r\n\r\n" % len(body) + body
    for step in (1 << 16, 9973, 100_003):
        parser = ResponseParser()
        for i in range(0, len(data), step):
            parser.feed(memoryview(data)[i : i + step])
        assert parser.message_complete
        assert parser.take_body() == body


def test_huge_content_length_without_a_body_limit():
    """A huge Content-Length is accepted when there is no body limit; only the bytes
    that arrive are kept."""
    parser = ResponseParser()
    parser.feed(OK + b"Content-Length: 1000000000000\r\n\r\nabc")
    assert parser.content_length == 1_000_000_000_000
    assert not parser.message_complete
    assert parser.take_body() == b"abc"


def test_huge_content_length_allocates_as_bytes_arrive():
    """A Content-Length is the server's claim: at most 1 MiB is allocated for the
    body before its bytes arrive, then the buffer grows with them."""
    body = bytes(i % 251 for i in range(3 << 20))
    parser = ResponseParser()
    tracemalloc.start()
    try:
        parser.feed(OK + b"Content-Length: 99999999999999\r\n\r\n")
        _, peak = tracemalloc.get_traced_memory()
        assert peak < (1 << 20) + (64 << 10)
        for i in range(0, len(body), 1 << 16):
            parser.feed(body[i : i + (1 << 16)])
    finally:
        tracemalloc.stop()
    assert parser.body_received == parser.buffered_body == len(body)
    assert parser.content_length == 99999999999999 and not parser.message_complete
    assert parser.take_body() == body


@pytest.mark.parametrize(
    "endless",
    [
        pytest.param(b"5;" + b"a" * 4096, id="extension-name"),
        pytest.param(b'5;a="' + b"x" * 4096, id="quoted-extension-value"),
        pytest.param(b"0" * 4096, id="chunk-size-zeros"),
        pytest.param(b"5\r\nhello\r\n0\r\nT:" + b" " * 4096, id="trailer-whitespace"),
    ],
)
def test_endless_chunk_framing_stops_at_the_default_limit(endless):
    """A server sending one chunk-size line (or trailer) forever is refused once
    max_header_bytes (65536 by default) of it have been read."""
    parser = ResponseParser()
    parser.feed(CHUNKED + endless[: endless.index(endless[-1:] * 16)])
    fed = 0
    with pytest.raises(RemoteProtocolError,
                       match="chunk-size line or trailer section larger than max_header_bytes=65536"):
        while fed < 1 << 20:
            parser.feed(endless[-4096:])
            fed += 4096
    assert 65536 - 4096 <= fed <= 65536 + 4096


@pytest.mark.parametrize("kind", BUFFER_KINDS)
def test_discard_body_counts_without_keeping(kind):
    data = CHUNKED + chunk(b"hello") + chunk(b" world") + b"0\r\n\r\n" + NEXT
    parser = ResponseParser()
    parser.start(discard_body=True)
    parser.feed(as_buffer(kind, data))
    assert parser.message_complete and parser.keep_alive
    assert parser.body_received == 11
    assert parser.buffered_body == 0 and parser.take_body() == b""
    assert parser.tail == NEXT


def test_discard_body_still_enforces_the_body_limit():
    parser = ResponseParser(max_body_size=4)
    parser.start(discard_body=True)
    with pytest.raises(RemoteProtocolError, match="response body larger than max_body_size=4"):
        parser.feed(OK + b"\r\n" + b"x" * 5)


def test_body_limit_applies_per_response():
    parser = ResponseParser(max_body_size=5)
    parser.feed(CL5)
    assert parser.take_body() == b"hello"
    parser.start()
    parser.feed(CHUNKED + chunk(b"hello") + b"0\r\n\r\n")
    assert parser.take_body() == b"hello"


# ---------------------------------------------------------------------------
# Tail and reuse


def test_tail_keeps_bytes_after_the_response():
    parser = ResponseParser()
    parser.feed(CL5 + b"HTTP/1.1 2")
    assert parser.message_complete
    assert parser.tail == b"HTTP/1.1 2"
    assert parser.take_body() == b"hello"


def test_tail_is_only_the_last_feed():
    parser = ResponseParser()
    parser.feed(CL5 + b"AB")
    assert parser.tail == b"AB"
    parser.feed(b"CDE")  # after the end: nothing is consumed, all of it is tail
    assert parser.tail == b"CDE"
    parser.feed(bytearray(b"F"))
    assert parser.tail == b"F" and type(parser.tail) is bytes
    parser.feed(b"")
    assert parser.tail == b""
    assert parser.message_complete and parser.take_body() == b"hello"


def test_tail_is_empty_until_the_response_ends():
    parser = ResponseParser()
    parser.feed(OK + b"Content-Length: 5\r\n\r\nhel")
    assert parser.tail == b""
    parser.feed(b"lo")
    assert parser.message_complete and parser.tail == b""


def test_start_clears_the_tail():
    parser = ResponseParser()
    parser.feed(CL5 + b"junk")
    parser.start()
    assert parser.tail == b""
    assert not parser.message_complete and not parser.headers_complete


def test_start_makes_the_parser_reusable():
    parser = ResponseParser()
    parser.feed(
        b"HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nKeep-Alive: timeout=3, max=9\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunk(b"first") + b"0\r\nX-Trailer: t\r\n\r\nleft"
    )
    assert parser.message_complete and parser.status_code == 404 and parser.tail == b"left"
    assert parser.keep_alive_timeout == 3.0 and parser.trailers == [(b"X-Trailer", b"t")]
    # The body of the first response is left in the parser on purpose.
    parser.start()
    assert parser.status_code == 0 and parser.headers == [] and parser.trailers == []
    assert parser.buffered_body == 0 and parser.body_received == 0
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
    assert parser.message_complete and parser.keep_alive
    assert (parser.status_code, parser.reason, parser.http_version) == (200, b"OK", "1.1")
    assert parser.headers == [(b"Content-Length", b"6")]
    assert parser.trailers == [] and not parser.chunked
    assert parser.keep_alive_timeout is None and parser.keep_alive_max is None
    assert parser.content_length == 6
    assert parser.take_body() == b"second"


def test_start_head_then_start_with_body():
    parser = ResponseParser()
    parser.start(head=True)
    parser.feed(CL5[: -len(b"hello")])
    assert parser.message_complete and parser.take_body() == b""
    parser.start()
    parser.feed(CL5)
    assert parser.message_complete and parser.take_body() == b"hello"


def test_start_discard_then_keep():
    parser = ResponseParser()
    parser.start(discard_body=True)
    parser.feed(CL5)
    assert parser.take_body() == b""
    parser.start()
    parser.feed(CL5)
    assert parser.take_body() == b"hello"


def test_many_responses_on_one_parser():
    parser = ResponseParser()
    numbers = [b"%d" % n for n in range(200)]
    stream = b"".join(
        b"HTTP/1.1 200 OK\r\nX-N: %s\r\nContent-Length: %d\r\n\r\n%s" % (n, len(n), n)
        for n in numbers
    )
    seen = []
    data = stream
    while data:
        parser.start()
        parser.feed(data)
        assert parser.message_complete
        seen.append((parser.headers[0][1], parser.take_body()))
        data = parser.tail
    assert seen == [(n, n) for n in numbers]


def test_headers_read_before_the_head_is_complete():
    parser = ResponseParser()
    parser.feed(OK + b"A: 1\r\n")
    assert not parser.headers_complete
    assert parser.headers == []
    parser.feed(b"B: 2\r\nContent-Length: 0\r\n\r\n")
    assert parser.headers_complete and parser.message_complete
    assert parser.headers == [(b"A", b"1"), (b"B", b"2"), (b"Content-Length", b"0")]


def test_trailers_only_once_complete():
    parser = ResponseParser()
    parser.feed(CHUNKED + chunk(b"x") + b"0\r\nT: 1\r\n")
    assert parser.trailers == []
    parser.feed(b"\r\n")
    assert parser.trailers == [(b"T", b"1")]
    assert parser.headers == [(b"Transfer-Encoding", b"chunked")]


def test_progress_for_a_cut_short_message():
    """What a connection needs to say where a response was cut short: body bytes
    parsed, the Content-Length, and whether a chunk's data was under way."""
    parser = ResponseParser()
    parser.feed(OK + b"Content-Length: 100\r\n\r\n" + b"x" * 10)
    assert (parser.body_received, parser.content_length, parser.mid_chunk) == (10, 100, False)
    parser.start()
    parser.feed(CHUNKED + b"4\r\nabcd\r\n")
    assert (parser.body_received, parser.content_length, parser.mid_chunk) == (4, None, False)
    parser.feed(b"10\r\n")
    assert parser.mid_chunk and parser.body_received == 4
    parser.feed(b"0123456789")
    assert parser.mid_chunk and parser.body_received == 14
    parser.feed(b"abcdef\r\n")
    assert not parser.mid_chunk and parser.body_received == 20
    parser.feed(b"0\r\n")
    assert not parser.mid_chunk
    with pytest.raises(RemoteProtocolError, match=r"complete, after 20 body bytes \("):
        parser.feed_eof()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + chunk(b"hello") + b"0\r\n\r\n", id="http10-chunked"),
        pytest.param(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: gzip\r\n\r\nx",
                     id="http10-other-coding"),
        pytest.param(OK + b"Transfer-Encoding: chunked,chunked\r\n\r\n" + chunk(b"hello") + b"0\r\n\r\n",
                     id="chunked-twice"),
    ],
)
def test_unsafe_framing_is_never_kept_alive(data):
    parser = ResponseParser()
    parser.feed(data)
    assert parser.headers_complete and parser.unsafe_framing
    if not parser.message_complete:
        parser.feed_eof()
    assert parser.message_complete and not parser.keep_alive
    parser.start()
    assert not parser.unsafe_framing
    parser.feed(CL5)
    assert parser.keep_alive and not parser.unsafe_framing


def test_state_while_parsing():
    parser = ResponseParser()
    assert parser.status_code == 0
    assert not parser.headers_complete and not parser.message_complete
    assert not parser.keep_alive and parser.content_length is None and not parser.needs_eof
    parser.feed(OK + b"Content-Length: 5\r\n\r\nhe")
    assert parser.headers_complete and not parser.message_complete
    assert not parser.keep_alive  # only meaningful once complete
    assert parser.body_received == 2 and not parser.needs_eof
    parser.feed(b"llo")
    assert parser.message_complete and parser.keep_alive


def test_feed_eof_after_complete_response_is_harmless():
    parser = ResponseParser()
    parser.feed(CL5)
    parser.feed_eof()
    assert parser.message_complete and parser.keep_alive
    assert parser.take_body() == b"hello"


# ---------------------------------------------------------------------------
# Construction and argument checks


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_header_bytes": 63}, "max_header_bytes must be 64 to 2147483647, not 63"),
        ({"max_headers": 0}, "max_headers must be 1 to 65536, not 0"),
        ({"max_interim": -1}, "max_interim must be 0 or more"),
        ({"max_body_size": -1}, "max_body_size must be None or 0 or more"),
    ],
)
def test_invalid_limits(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ResponseParser(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        # Offsets into the head are 32-bit, and the line table is allocated whole.
        ({"max_header_bytes": 1 << 31}, "max_header_bytes must be 64 to 2147483647, not 2147483648"),
        ({"max_headers": 65537}, "max_headers must be 1 to 65536, not 65537"),
        ({"max_headers": 1 << 62}, "max_headers must be 1 to 65536"),
    ],
)
def test_limits_have_an_upper_bound(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ResponseParser(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_header_bytes": 1.5},
        {"max_headers": "100"},
        {"max_interim": None},
        {"max_body_size": 2.5},
    ],
)
def test_limits_must_be_integers(kwargs):
    with pytest.raises(TypeError):
        ResponseParser(**kwargs)


def test_limits_at_their_bounds():
    parser = ResponseParser(max_header_bytes=(1 << 31) - 1, max_headers=65536, max_interim=0,
                            max_body_size=1 << 80)
    parser.feed(CL5)
    assert parser.message_complete and parser.take_body() == b"hello"
    parser = ResponseParser(max_header_bytes=64, max_headers=1, max_body_size=0)
    parser.feed(OK + b"Content-Length: 0\r\n\r\n")
    assert parser.message_complete


def test_limits_are_keyword_only():
    with pytest.raises(TypeError):
        ResponseParser(1024)


def test_feed_rejects_non_buffers():
    parser = ResponseParser()
    with pytest.raises(TypeError):
        parser.feed("HTTP/1.1 200 OK\r\n")


def test_feed_rejects_non_contiguous_memoryviews():
    parser = ResponseParser()
    with pytest.raises(BufferError):
        parser.feed(memoryview(CL5)[::2])
    assert parser.status_code == 0
    parser.feed(memoryview(CL5)[::1])
    assert parser.message_complete and parser.take_body() == b"hello"


def test_max_body_size_zero_allows_empty_bodies_only():
    parser = ResponseParser(max_body_size=0)
    parser.feed(OK + b"Content-Length: 0\r\n\r\n")
    assert parser.message_complete
    parser.start()
    with pytest.raises(RemoteProtocolError, match="Content-Length announces a body larger than max_body_size=0"):
        parser.feed(OK + b"Content-Length: 1\r\n\r\nx")


def test_reused_header_tuples_never_change_under_a_holder():
    """Header-line tuples are shared between responses and refilled in place
    only when nothing else holds them: a list the caller kept never changes."""
    parser = ResponseParser()
    kept = []
    for second in range(6):
        parser.start()
        parser.feed(b"HTTP/1.1 200 OK\r\nServer: s\r\nDate: %02d\r\nContent-Length: 0\r\n\r\n" % second)
        headers = parser.headers
        assert headers == [(b"Server", b"s"), (b"Date", b"%02d" % second), (b"Content-Length", b"0")]
        if second % 2 == 0:
            kept.append((headers, list(headers)))
    for headers, snapshot in kept:
        assert headers == snapshot
