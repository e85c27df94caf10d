"""Form bodies (httpool.policies.forms): urlencoded and multipart/form-data.

Multipart bodies are parsed back with the standard library's email parser, so
the checks do not share the encoder's idea of the format; what a parser would
normalise (the escaping of names and filenames, the framing) is checked byte
for byte. Nothing here uses the network.
"""

from __future__ import annotations

import email.policy
import io
import os
import re
import tracemalloc
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from httpool.policies.forms import BLOCK, FileValue, Multipart, encode_form

# The read end of a pipe as a binary file, and the write end's descriptor.
Pipe = tuple[io.BufferedReader, int]


def parse(body: Multipart) -> list[EmailMessage]:
    """The parts of a multipart body, as the standard library reads them."""
    raw = b"Content-Type: " + body.content_type.encode() + b"\r\n\r\n" + b"".join(body)
    message = BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/form-data"
    assert not message.defects
    parts = list(message.iter_parts())
    assert all(isinstance(part, EmailMessage) and not part.defects for part in parts)
    return parts  # type: ignore[return-value]


def field(part: EmailMessage) -> tuple[str | None, str | None, str | None, bytes]:
    """A part's (name, filename, Content-Type header, content)."""
    name = part.get_param("name", header="content-disposition")
    assert part.get_content_disposition() == "form-data"
    content = part.get_payload(decode=True)
    assert isinstance(content, bytes)
    return name, part.get_filename(), part["Content-Type"], content  # type: ignore[return-value]


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    """The read end of a pipe as a binary file, and the write end's descriptor."""
    read_end, write_end = os.pipe()
    with open(read_end, "rb") as reader:
        try:
            yield reader, write_end
        finally:
            try:
                os.close(write_end)
            except OSError:
                pass


def piped(pipe: Pipe, content: bytes) -> io.BufferedReader:
    """The pipe's read end, with content written and the write end closed."""
    reader, write_end = pipe
    os.write(write_end, content)
    os.close(write_end)
    return reader


# --- application/x-www-form-urlencoded --------------------------------------

def test_encode_form_mapping_and_pairs() -> None:
    assert encode_form({"a": "1", "b": "x y&z=é"}) == b"a=1&b=x+y%26z%3D%C3%A9"
    assert encode_form([("b", "2"), ("a", "1"), ("b", "3")]) == b"b=2&a=1&b=3"
    assert encode_form({}) == b""


def test_encode_form_list_and_tuple_values_repeat_the_key() -> None:
    assert encode_form({"k": ["1", "2"], "t": ("x",), "e": []}) == b"k=1&k=2&t=x"
    assert encode_form([("k", [1, None, True])]) == b"k=1&k=&k=true"


def test_encode_form_scalars() -> None:
    form = {"none": None, "yes": True, "no": False, "int": 7, "float": 1.5, "bytes": b"\xff /", "str": "ü"}
    assert encode_form(form) == b"none=&yes=true&no=false&int=7&float=1.5&bytes=%FF+%2F&str=%C3%BC"


@pytest.mark.parametrize("value", [{"x": 1}, object(), [["nested"]], bytearray(b"x")],
                         ids=["dict", "object", "nested list", "bytearray"])
def test_encode_form_rejects_other_values_naming_the_key_and_type(value: object) -> None:
    wrong = value[0] if isinstance(value, list) else value
    with pytest.raises(TypeError, match=rf"'the key'.*not {type(wrong).__name__}$"):
        encode_form({"the key": value})  # type: ignore[dict-item]


def test_encode_form_rejects_a_name_that_is_not_str() -> None:
    with pytest.raises(TypeError, match="name must be a str, not int"):
        encode_form([(1, "x")])  # type: ignore[list-item]


# --- multipart/form-data: the parts --------------------------------------------

def test_data_fields_parse_back() -> None:
    body = Multipart({"a": "é", "n": [1, 2.5], "b": True, "none": None, "raw": b"\x00\xff"}, {})
    assert [field(part) for part in parse(body)] == [
        ("a", None, None, "é".encode()),
        ("n", None, None, b"1"), ("n", None, None, b"2.5"),
        ("b", None, None, b"true"),
        ("none", None, None, b""),
        ("raw", None, None, b"\x00\xff"),
    ]


def test_data_field_rejects_other_values() -> None:
    with pytest.raises(TypeError, match=r"'d'.*not dict$"):
        Multipart({"d": {"x": 1}}, {})  # type: ignore[dict-item]


def test_file_fields_in_every_form_parse_back(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(b'{"ok": true}')
    content = b"\x00\x01binary\r\n--not a boundary\r\n"
    with open(path, "rb") as opened:
        files: list[tuple[str, FileValue]] = [
            ("opened", opened),                                       # named after its path
            ("memory", io.BytesIO(content)),                          # no name: the field's
            ("bytes", content),
            ("str", "text é"),
            ("pair", ("a.png", io.BytesIO(content))),
            ("anonymous", (None, content)),                           # no filename parameter
            ("typed", ("a.png", content, "image/x-mine")),
            ("guessed", ("a.html", content, None)),
            ("unknown", ("noextension", content, None)),
            ("headers", ("h.txt", content, None, {"X-Extra": "1", "Content-Language": "en"})),
            ("overridden", ("h.txt", content, "text/plain", {"content-type": "text/csv"})),
            ("opened", ("again", b"repeated field")),
        ]
        parts = parse(Multipart([("first", "data")], files))
    assert [field(part) for part in parts] == [
        ("first", None, None, b"data"),
        ("opened", "report.json", "application/json", b'{"ok": true}'),
        ("memory", "memory", "application/octet-stream", content),
        ("bytes", "bytes", "application/octet-stream", content),
        ("str", "str", "application/octet-stream", "text é".encode()),
        ("pair", "a.png", "image/png", content),
        ("anonymous", None, "application/octet-stream", content),
        ("typed", "a.png", "image/x-mine", content),
        ("guessed", "a.html", "text/html", content),
        ("unknown", "noextension", "application/octet-stream", content),
        ("headers", "h.txt", "text/plain", content),
        ("overridden", "h.txt", "text/csv", content),
        ("opened", "again", "application/octet-stream", b"repeated field"),
    ]
    assert (parts[10]["X-Extra"], parts[10]["Content-Language"]) == ("1", "en")
    assert parts[11].get_all("Content-Type") == ["text/csv"]
    assert "filename" not in parts[6]["Content-Disposition"]


def test_pseudo_file_name_is_not_a_filename() -> None:
    stdin_like = io.BytesIO(b"in")
    stdin_like.name = "<stdin>"
    assert field(parse(Multipart(None, {"upload": stdin_like}))[0])[1] == "upload"


def test_file_read_from_its_position(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"skip|rest")
    memory = io.BytesIO(b"skip|rest")
    memory.seek(5)
    with open(path, "rb") as opened:
        opened.seek(5)
        body = Multipart(None, {"file": opened, "memory": memory})
        assert [field(part)[3] for part in parse(body)] == [b"rest", b"rest"]


def test_text_mode_file_is_a_type_error(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("text")
    with open(path, encoding="utf-8") as text_file:
        for text in (text_file, io.StringIO("text")):
            with pytest.raises(TypeError, match=r"'f'.*text mode.*binary mode"):
                Multipart(None, {"f": text})  # type: ignore[dict-item]


def test_file_content_of_another_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"'f'.*not int$"):
        Multipart(None, {"f": ("name", 12)})  # type: ignore[dict-item]


@pytest.mark.parametrize("files", [
    {"f": ("a", b"x", "text/plain\r\nX-Injected: 1")},
    {"f": ("a", b"x", None, {"X-Header": "a\nb"})},
    {"f": ("a", b"x", None, {"X-\rHeader": "a"})},
], ids=["content type", "header value", "header name"])
def test_cr_or_lf_in_a_part_header_is_a_value_error(files: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        Multipart(None, files)  # type: ignore[arg-type]


# --- multipart/form-data: the bytes ----------------------------------------------

def test_body_bytes_exactly() -> None:
    body = Multipart({"a": "1"}, {"f": ("x.txt", b"hi")}, boundary=b"BOUNDARY")
    assert body.content_type == "multipart/form-data; boundary=BOUNDARY"
    assert b"".join(body) == (
        b"--BOUNDARY\r\n"
        b'Content-Disposition: form-data; name="a"\r\n'
        b"\r\n"
        b"1\r\n"
        b"--BOUNDARY\r\n"
        b'Content-Disposition: form-data; name="f"; filename="x.txt"\r\n'
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"hi\r\n"
        b"--BOUNDARY--\r\n"
    )


def test_names_and_filenames_escaped_as_browsers_do() -> None:
    body = Multipart({'q"uo\r\nte\\': "v"}, {"fïle": ('ä "b"\r\n.txt', b"x")}, boundary=b"B")
    disposition = re.findall(rb"Content-Disposition: [^\r\n]*", b"".join(body))
    assert disposition == [
        b'Content-Disposition: form-data; name="q%22uo%0D%0Ate\\"',
        b'Content-Disposition: form-data; name="f\xc3\xafle"; filename="\xc3\xa4 %22b%22%0D%0A.txt"',
    ]


def test_random_boundary() -> None:
    first, second = Multipart(None, {}), Multipart(None, {})
    boundary = first.content_type.removeprefix("multipart/form-data; boundary=")
    assert re.fullmatch("[0-9a-f]{32}", boundary)
    assert first.content_type != second.content_type
    assert b"".join(first) == f"--{boundary}--\r\n".encode()


def test_boundary_that_is_not_a_token_is_quoted() -> None:
    body = Multipart({"a": "1"}, {}, boundary=b"a b:(c)?")
    assert body.content_type == 'multipart/form-data; boundary="a b:(c)?"'
    assert [field(part) for part in parse(body)] == [("a", None, None, b"1")]


@pytest.mark.parametrize("boundary", [b"", b"x" * 71, b"ends with space ", b"semi;colon", b'quo"te', b"\xc3\xa9"],
                         ids=["empty", "71 chars", "trailing space", "semicolon", "quote", "non-ASCII"])
def test_invalid_boundary_is_a_value_error(boundary: bytes) -> None:
    with pytest.raises(ValueError, match="boundary"):
        Multipart(None, {}, boundary=boundary)


def test_longest_boundary_is_valid() -> None:
    body = Multipart({"a": "1"}, {}, boundary=b"x" * 70)
    assert [field(part) for part in parse(body)] == [("a", None, None, b"1")]


def test_no_empty_piece_and_long_content_not_copied() -> None:
    # An empty piece would end a chunked body early; a long one is yielded as given.
    long = b"L" * BLOCK
    pieces = list(Multipart({"empty": ""}, {"e": b"", "f": io.BytesIO(b""), "long": long}))
    assert all(pieces)
    assert any(piece is long for piece in pieces)


# --- length -----------------------------------------------------------------------

def test_length_when_every_size_is_known(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    memory = io.BytesIO(b"..abc")
    memory.seek(2)
    with open(path, "rb") as opened:
        opened.seek(3)
        body = Multipart({"a": ["1", "é"]}, {"file": opened, "memory": memory, "bytes": b"x" * BLOCK})
        assert body.length == len(b"".join(body))


@pytest.mark.parametrize("make", [
    lambda pipe: piped(pipe, b"from a pipe"),
    lambda pipe: io.BufferedReader(io.BytesIO(b"from a pipe")),   # seekable, but of no known size
], ids=["pipe", "seekable stream"])
def test_length_unknown(pipe: Pipe, make: Callable[[Pipe], io.BufferedReader]) -> None:
    body = Multipart({"a": "1"}, {"f": make(pipe)})
    assert body.length == -1
    assert field(parse(body)[1])[3] == b"from a pipe"


def test_length_unknown_for_a_device() -> None:
    # /dev/zero can tell() and fstat() (a size of 0), but it is no regular file.
    with open("/dev/zero", "rb") as zero:
        assert Multipart(None, {"f": zero}).length == -1


def test_large_file_streamed_in_blocks_and_measured_without_reading(tmp_path: Path) -> None:
    size = 200 * 1024 * 1024
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as sparse:
        sparse.truncate(size)
    with open(path, "rb") as opened:
        body = Multipart({"a": "1"}, {"big": opened})
        assert opened.tell() == 0
        head_and_tail = body.length - size
        assert 0 < head_and_tail < 1000
        sent = largest = 0
        tracemalloc.start()
        try:
            for piece in body:
                sent += len(piece)
                largest = max(largest, len(piece))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert sent == body.length
    assert largest == BLOCK
    assert peak < 4 * 1024 * 1024


# --- rewind -----------------------------------------------------------------------

def test_rewind_then_same_bytes_again(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(3 * BLOCK + 1))
    memory = io.BytesIO(b"..memory")
    memory.seek(2)
    with open(path, "rb") as opened:
        opened.seek(1)
        body = Multipart({"a": "1"}, {"file": opened, "memory": memory,
                                     "stream": io.BufferedReader(io.BytesIO(b"stream"))})
        first = b"".join(body)
        assert body.rewind()
        assert b"".join(body) == first
        assert body.rewind()
        assert b"".join(body) == first
    assert b"\r\n\r\nmemory\r\n" in first
    assert b"\r\n\r\nstream\r\n" in first


def test_iterating_again_without_rewind_is_an_error() -> None:
    body = Multipart(None, {"f": io.BytesIO(b"x")})
    list(body)
    with pytest.raises(RuntimeError, match="rewind"):
        list(body)


def test_rewind_false_for_a_pipe(pipe: Pipe) -> None:
    body = Multipart({"a": "1"}, {"memory": io.BytesIO(b"x"), "f": piped(pipe, b"once")})
    assert b"once" in b"".join(body)
    assert body.rewind() is False
    with pytest.raises(RuntimeError, match="rewind"):
        list(body)


def test_rewind_false_for_a_closed_file() -> None:
    memory = io.BytesIO(b"x")
    body = Multipart(None, {"f": memory})
    list(body)
    memory.close()
    assert body.rewind() is False


def test_rewind_true_without_files() -> None:
    body = Multipart({"a": "1"}, {"b": b"2"})
    first = b"".join(body)
    assert body.rewind()
    assert b"".join(body) == first
