"""Helpers shared by the response parser tests.

`drive()` feeds one input to a ResponseParser in the pieces it is given, the way
a connection would, and records what the parser reports for each response. The
tests compare those records with what they expect, never the parser's internals.
`feedings()` names the ways every valid input is fed: whole, split in two at every
byte, and one byte at a time; `as_buffer()` turns a piece into bytes, bytearray or
memoryview.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from httpool import RemoteProtocolError, ResponseParser

BUFFER_KINDS = ("bytes", "bytearray", "memoryview")
FEEDINGS = ("whole", "split", "bytewise")

_AT_BYTE = re.compile(r" at byte (\d+):")


def as_buffer(kind: str, data: bytes):
    """data as the given buffer type. The memoryview is a slice that does not
    start at its buffer's first byte, as a receive buffer's view would be."""
    if kind == "bytes":
        return bytes(data)
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(b"\xff" + bytes(data))[1:]
    raise ValueError(kind)


def feedings(data: bytes, feeding: str):
    """The lists of pieces to feed for one feeding mode.

    whole: the input at once (preceded and followed by an empty feed, which must
    change nothing); split: every split into two non-empty pieces; bytewise: one
    byte per feed.
    """
    if feeding == "whole":
        return [[b"", data, b""]]
    if feeding == "split":
        return [[data[:i], data[i:]] for i in range(1, len(data))] or [[data]]
    if feeding == "bytewise":
        return [[data[i : i + 1] for i in range(len(data))]]
    raise ValueError(feeding)


def drain_mode(feeding: str) -> str:
    """How the body is taken from the parser in each feeding mode, so that every
    way of reading it is exercised: all at the end, after every feed with
    take_body(), and in small reads with read_body()."""
    return {"whole": "end", "split": "take", "bytewise": "read"}[feeding]


@dataclass
class Seen:
    """What the parser reported for one response."""

    headers_complete: bool
    complete: bool
    status: int | None  # None while the head is incomplete
    reason: bytes | None
    version: str | None
    headers: list
    trailers: list
    body: bytes
    keep_alive: bool
    keep_alive_timeout: float | None
    keep_alive_max: int | None
    content_length: int | None
    chunked: bool
    body_received: int
    unsafe_framing: bool


@dataclass
class Outcome:
    """What the parser reported for a whole input."""

    parser: ResponseParser
    messages: list[Seen] = field(default_factory=list)
    error: RemoteProtocolError | None = None
    error_offset: int | None = None  # offset in the whole input, from "at byte N"
    # Bytes after the last response when the connection is not reused (the
    # response was not keep-alive, or pipelining was off): the tails the
    # parser reported, in order.
    after: bytes = b""
    # Whether the last entry of `messages` is the parser's current response
    # (False when the parser was started again for bytes that were only CR/LF).
    last_is_current: bool = True


def snapshot(parser: ResponseParser, body: bytes) -> Seen:
    """Record the parser's view of its current response."""
    done = parser.headers_complete
    return Seen(
        headers_complete=done,
        complete=parser.message_complete,
        status=parser.status_code if done else None,
        reason=parser.reason if done else None,
        version=parser.http_version if done else None,
        headers=list(parser.headers),
        trailers=list(parser.trailers),
        body=body,
        keep_alive=parser.keep_alive,
        keep_alive_timeout=parser.keep_alive_timeout,
        keep_alive_max=parser.keep_alive_max,
        content_length=parser.content_length,
        chunked=parser.chunked,
        body_received=parser.body_received,
        unsafe_framing=parser.unsafe_framing,
    )


def _drain(parser: ResponseParser, mode: str, final: bool) -> bytes:
    if mode == "take" or (mode == "end" and final):
        return parser.take_body()
    if mode == "read":
        out = []
        while parser.buffered_body:
            before = parser.buffered_body
            piece = parser.read_body(7)
            assert len(piece) == min(7, before)
            assert parser.buffered_body == before - len(piece)
            out.append(piece)
        assert parser.read_body(7) == b""
        return b"".join(out)
    return b""


def drive(
    pieces,
    *,
    kind: str = "bytes",
    parser: ResponseParser | None = None,
    head: bool = False,
    discard_body: bool = False,
    pipeline: bool = True,
    eof: bool = False,
    drain: str = "end",
    limits: dict | None = None,
) -> Outcome:
    """Feed `pieces` in order and record every response.

    After a response completes, the bytes that followed it (its tail, then any
    later piece) start the next response, as on a reused connection, but only
    when `pipeline` is set and the response was keep-alive; otherwise they are
    collected in `after`, and each later feed must consume nothing and report
    the whole piece as its tail. `eof` calls feed_eof() after the last piece.
    A RemoteProtocolError stops the run and is recorded with its offset.
    """
    if parser is None:
        parser = ResponseParser(**(limits or {}))
    parser.start(head=head, discard_body=discard_body)
    out = Outcome(parser=parser)
    body: list[bytes] = []
    fed = bytearray()  # bytes given to the current response since start()
    consumed = 0  # bytes of the input taken by earlier responses
    stopped = False  # the connection would not be reused: collect the rest
    started = True  # the parser holds a response that is not yet recorded

    def record():
        body.append(_drain(parser, drain, final=True))
        out.messages.append(snapshot(parser, b"".join(body)))

    try:
        queue = [bytes(p) for p in pieces]
        queue.reverse()
        while queue:
            data = queue.pop()
            if not started:
                if stopped:
                    parser.feed(as_buffer(kind, data))
                    assert parser.tail == data, "a feed after the end must consume nothing"
                    assert parser.message_complete
                    out.after += data
                    continue
                if not data:
                    continue
                consumed += len(fed)
                fed.clear()
                body.clear()
                parser.start(head=head, discard_body=discard_body)
                started = True
            parser.feed(as_buffer(kind, data))
            fed += data
            if not parser.message_complete:
                assert parser.tail == b"", "no tail before the response is complete"
                body.append(_drain(parser, drain, final=False))
                continue
            tail = parser.tail
            assert data.endswith(tail)
            del fed[len(fed) - len(tail) :]
            record()
            started = False
            if pipeline and parser.keep_alive:
                if tail:
                    queue.append(tail)
            else:
                stopped = True
                out.after += tail
        if started:
            if any(b not in b"\r\n" for b in fed) or not out.messages:
                body.append(_drain(parser, drain, final=True))
                out.messages.append(snapshot(parser, b"".join(body)))
            else:
                out.last_is_current = False
        if eof:
            was_complete = parser.message_complete
            parser.feed_eof()
            if not was_complete and out.last_is_current:
                rest = _drain(parser, drain, final=True)
                out.messages[-1] = snapshot(parser, out.messages[-1].body + rest)
    except RemoteProtocolError as exc:
        out.error = exc
        match = _AT_BYTE.search(str(exc))
        if match:
            out.error_offset = consumed + int(match.group(1))
    return out
