"""Property tests of ResponseParser (hypothesis).

* Arbitrary bytes, alone or after a valid beginning, never crash the process and
  never raise anything but RemoteProtocolError, however they are split.
* Any input gives the same outcome whole and split at arbitrary points.
* A generated valid response (status, reason, header fields from the token and
  field-value alphabets, a body framed by Content-Length, chunked coding with
  random chunk sizes, extensions and trailers, or the close; interim 1xx before
  it; bytes after it) parses back to exactly what was generated, split at random
  points and fed as bytes, bytearray or memoryview.

Example counts are kept small so that this module runs in a few seconds.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from httpool import RemoteProtocolError, ResponseParser

from support.parser_helpers import BUFFER_KINDS, drive


def examples(n: int) -> settings:
    """n examples, with no deadline and no health check on speed or size: a slow
    CI machine must not fail a test, and the generated responses are large on
    purpose."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


TOKEN = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
VCHAR_OBS = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))  # field-vchar (RFC 9110 5.5)
# Names that change framing or persistence: generated only where the test means them.
SPECIAL = {b"content-length", b"transfer-encoding", b"connection", b"proxy-connection",
           b"keep-alive", b"upgrade"}

tokens = st.lists(st.sampled_from(TOKEN), min_size=1, max_size=12).map(bytes)
names = tokens.filter(lambda n: n.lower() not in SPECIAL)
# A field value: field-vchars with spaces and tabs inside, none at either end.
values = st.lists(st.sampled_from(VCHAR_OBS + b" \t"), max_size=30).map(
    lambda v: bytes(v).strip(b" \t")
)
ows = st.sampled_from([b"", b" ", b"\t", b"  ", b" \t "])
fields = st.lists(st.tuples(names, values), max_size=8)
# reason-phrase = *( HTAB / SP / VCHAR / obs-text ), here starting with a visible one.
reasons = st.lists(st.sampled_from(VCHAR_OBS + b" \t"), max_size=20).map(
    lambda r: bytes(r).lstrip(b" \t")
)


def field_lines(pairs) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in pairs)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


def _outcome(out) -> tuple:
    """An outcome, with the error reduced to its reason (where a limit is noticed
    may depend on how the bytes arrived; what is refused may not)."""
    error = None
    if out.error is not None:
        error = re.sub(r" at byte \d+:.*", "", str(out.error), flags=re.S)
    return (error, out.messages, out.after)


# ---------------------------------------------------------------------------
# Arbitrary input

PREFIXES = [
    b"",
    b"HTTP/1.1 ",
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.0 200 OK\r\n\r\n",
]
# Bytes that steer llhttp through more of its states than uniform noise does.
NOISE = st.lists(
    st.one_of(
        st.binary(max_size=8),
        st.sampled_from([
            b"\r\n", b"\r\n\r\n", b"\r", b"\n", b":", b" ", b";", b"=", b'"', b"0", b"a\r\n",
            b"\r\n ", b"\r\n\t", b"X: a\r\n b", b"Connection: keep-alive\r\n close",
            b"HTTP/1.1 ", b"200 OK", b"Content-Length: ", b"Transfer-Encoding: chunked",
            b"Connection: close", b"HTTP/1.1 100 Continue\r\n\r\n",
        ]),
    ),
    max_size=24,
).map(b"".join)


def parse_stream(pieces, kind, limits) -> None:
    """Feed pieces as a connection would, response after response, then the close;
    touch every property on the way."""
    out = drive(pieces, kind=kind, limits=limits, eof=True, drain="take")
    parser = out.parser
    for name in ("status_code", "reason", "http_version", "headers", "trailers",
                 "headers_complete", "message_complete", "keep_alive", "keep_alive_timeout",
                 "keep_alive_max", "content_length", "chunked", "needs_eof", "body_received",
                 "buffered_body", "tail"):
        getattr(parser, name)
    if out.error is not None:
        assert isinstance(out.error, RemoteProtocolError)
        assert str(out.error).startswith("invalid response: ")


LIMITS = st.sampled_from([{}, {"max_header_bytes": 64, "max_headers": 2, "max_body_size": 8,
                               "max_interim": 1}])


@examples(500)
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=6),
       st.sampled_from(BUFFER_KINDS), LIMITS)
def test_random_bytes_only_raise_protocol_errors(data, cuts, kind, limits):
    parse_stream(split(data, cuts), kind, limits)


@examples(500)
@given(st.sampled_from(PREFIXES), NOISE, st.lists(st.integers(0, 400), max_size=6),
       st.sampled_from(BUFFER_KINDS), LIMITS)
def test_noise_after_a_valid_start_only_raises_protocol_errors(prefix, noise, cuts, kind, limits):
    parse_stream(split(prefix + noise, cuts), kind, limits)


@examples(300)
@given(st.sampled_from(PREFIXES), NOISE, st.lists(st.integers(0, 400), min_size=1, max_size=6),
       LIMITS)
def test_any_input_parses_the_same_split_or_whole(prefix, noise, cuts, limits):
    data = prefix + noise
    whole = drive([data], limits=limits, eof=True)
    pieces = drive(split(data, cuts), limits=limits, eof=True)
    assert _outcome(pieces) == _outcome(whole)
    # The same bytes one at a time.
    bytewise = drive([data[i : i + 1] for i in range(len(data))], limits=limits, eof=True)
    assert _outcome(bytewise) == _outcome(whole)


# ---------------------------------------------------------------------------
# Generated valid responses


@st.composite
def responses(draw, framings=("length", "chunked", "close")):
    """A valid response as bytes, whether it ends with the close, and what the
    parser must report for it."""
    version = draw(st.sampled_from(["1.1", "1.0"]))
    status = draw(st.integers(200, 599).filter(lambda s: s not in (204, 304)))
    reason = draw(reasons)
    if reason:
        status_line = b"HTTP/%s %d %s\r\n" % (version.encode(), status, reason)
    else:
        empty = draw(st.sampled_from([b"", b" "]))
        status_line = b"HTTP/%s %d%s\r\n" % (version.encode(), status, empty)
    headers = draw(fields)
    framing = draw(st.sampled_from(framings))
    body = draw(st.binary(max_size=300))
    connection = draw(st.sampled_from([None, b"close", b"keep-alive", b"Keep-Alive", b"CLOSE"]))

    special = []
    if connection is not None:
        special.append((b"Connection", connection))
    if framing == "length":
        special.append((b"Content-Length", b"%d" % len(body)))
    elif framing == "chunked":
        codings = draw(st.sampled_from([b"chunked", b"Chunked", b"gzip, chunked"]))
        special.append((b"Transfer-Encoding", codings))
    for pair in special:
        headers.insert(draw(st.integers(0, len(headers))), pair)

    def trailing_ows(name):
        # llhttp 9.3.0 refuses whitespace after a Content-Length value (corpus case
        # content-length.md:171), and httpool refuses an HTAB in a Transfer-Encoding
        # or Connection value, which llhttp misreads (test_parser_cases.py).
        if name == b"Content-Length":
            return b""
        if name in (b"Transfer-Encoding", b"Connection"):
            return draw(st.sampled_from([b"", b" ", b"  "]))
        return draw(ows)

    head = status_line + b"".join(
        name + b":" + draw(ows) + value + trailing_ows(name) + b"\r\n" for name, value in headers
    ) + b"\r\n"

    trailers = []
    if framing == "chunked":
        cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=6))))
        chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)]) if body[a:b]]
        encoded = []
        for data in [*chunks, b""]:
            size = f"{len(data):x}"
            size = draw(st.sampled_from([size, size.upper(), "0" * draw(st.integers(0, 3)) + size]))
            ext = b"".join(
                b";" + name + draw(st.sampled_from([b"", b"=" + name, b'="' + name + b' x"']))
                for name in draw(st.lists(tokens, max_size=2))
            )
            encoded.append(size.encode() + ext + b"\r\n" + (data + b"\r\n" if data else b""))
        trailers = draw(st.lists(st.tuples(names, values), max_size=3))
        payload = b"".join(encoded) + field_lines(trailers) + b"\r\n"
    else:
        payload = body

    interims = draw(st.lists(st.tuples(st.sampled_from([100, 102, 103]), fields), max_size=3))
    interim = b"".join(
        b"HTTP/1.1 %d Interim\r\n" % code + field_lines(extra) + b"\r\n" for code, extra in interims
    )
    after = b"" if framing == "close" else draw(st.binary(max_size=40))

    if framing == "close" or (framing == "chunked" and version == "1.0"):
        # Transfer-Encoding in an HTTP/1.0 response: read, never reused (RFC 9112
        # section 6.1).
        keep_alive = False
    elif version == "1.1":
        keep_alive = connection is None or connection.lower() != b"close"
    else:
        keep_alive = connection is not None and connection.lower() == b"keep-alive"
    expected = {
        "complete": True,
        "status": status,
        "reason": reason,
        "version": version,
        "headers": headers,
        "trailers": trailers,
        "body": body,
        "keep_alive": keep_alive,
        "content_length": len(body) if framing == "length" else None,
        "chunked": framing == "chunked",
        "after": after,
    }
    return interim + head + payload + after, framing == "close", expected


@examples(100)
@given(responses(), st.lists(st.integers(0, 2000), max_size=8), st.sampled_from(BUFFER_KINDS),
       st.sampled_from(["end", "take", "read"]))
def test_generated_response_parses_back(response, cuts, kind, drain):
    data, eof, expected = response
    out = drive(split(data, cuts), kind=kind, eof=eof, pipeline=False, drain=drain)
    assert out.error is None, out.error
    (seen,) = out.messages
    got = {
        "complete": seen.complete,
        "status": seen.status,
        "reason": seen.reason,
        "version": seen.version,
        "headers": seen.headers,
        "trailers": seen.trailers,
        "body": seen.body,
        "keep_alive": seen.keep_alive,
        "content_length": seen.content_length,
        "chunked": seen.chunked,
        "after": out.after,
    }
    assert got == expected
    assert seen.body_received == len(expected["body"])


@examples(50)
@given(st.lists(responses(framings=("length", "chunked")), min_size=1, max_size=3),
       st.lists(st.integers(0, 4000), max_size=8))
def test_generated_responses_back_to_back(responses_, cuts):
    """Responses one after another on one connection: each starts in the tail of
    the one before (the driver restarts the parser with it)."""
    expected = []
    stream = b""
    for data, _, exp in responses_:
        # The generated bytes after a response are dropped: the next response follows.
        data = data[: len(data) - len(exp["after"])]
        stream += data
        expected.append(exp)
        if not exp["keep_alive"]:
            break
    out = drive(split(stream, cuts), pipeline=True, drain="take")
    assert out.error is None, out.error
    assert [(m.status, m.headers, m.trailers, m.body, m.keep_alive) for m in out.messages] == [
        (e["status"], e["headers"], e["trailers"], e["body"], e["keep_alive"]) for e in expected
    ]
    assert out.after == b""


@examples(100)
@given(st.lists(st.tuples(names, st.lists(values.filter(bool), min_size=1, max_size=4),
                          st.lists(st.tuples(ows, st.sampled_from([b" ", b"\t", b" \t", b"   "])),
                                   min_size=3, max_size=3)),
                min_size=1, max_size=4),
       st.lists(st.integers(0, 2000), max_size=8), st.sampled_from(BUFFER_KINDS))
def test_folded_values_parse_back(lines, cuts, kind):
    """Field values continued over obs-folds (OWS CRLF RWS) read as their parts
    joined by one SP (RFC 9112 section 5.2), however the input is cut."""
    head = b"HTTP/1.1 200 OK\r\n"
    expected = []
    for name, parts, folds in lines:
        head += name + b": " + b"".join(
            part + (b"" if i == len(parts) - 1 else folds[i][0] + b"\r\n" + folds[i][1])
            for i, part in enumerate(parts)) + b"\r\n"
        expected.append((name, b" ".join(parts)))
    data = head + b"Content-Length: 2\r\n\r\nhi"
    out = drive(split(data, cuts), kind=kind, pipeline=False)
    assert out.error is None, out.error
    (seen,) = out.messages
    assert seen.headers == expected + [(b"Content-Length", b"2")]
    assert seen.body == b"hi" and seen.keep_alive


@examples(60)
@given(responses(), st.integers(0, 10_000), st.integers(0, 255))
def test_mutated_response_is_parsed_or_refused(response, where, byte):
    """One byte of a valid response replaced: the result is a response or a
    RemoteProtocolError, and the same whole and byte by byte."""
    data, eof, _ = response
    i = where % len(data)
    mutated = data[:i] + bytes([byte]) + data[i + 1 :]
    whole = drive([mutated], eof=eof)
    bytewise = drive([mutated[j : j + 1] for j in range(len(mutated))], eof=eof)
    assert _outcome(bytewise) == _outcome(whole)


def test_parser_survives_every_single_byte_input():
    for b in range(256):
        parser = ResponseParser()
        try:
            parser.feed(bytes([b]))
            parser.feed_eof()
        except RemoteProtocolError:
            pass
