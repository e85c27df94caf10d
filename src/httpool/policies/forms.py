"""Request bodies from ``data=`` and ``files=``: a form, urlencoded or multipart.

encode_form() makes an application/x-www-form-urlencoded body. Multipart makes
a multipart/form-data one (RFC 7578): its parts are laid out when it is made,
its files are read block by block as it is iterated, and rewind() lets it be
sent again (after a 307/308 redirect, or for a Digest retry).

Values follow httpx's conventions, which also cover what requests users pass:
True and False are sent as "true" and "false", None as the empty string, and a
list or tuple value repeats its field.
"""

from __future__ import annotations

import io
import mimetypes
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol, TypeVar, runtime_checkable
from urllib.parse import urlencode

from httpool._models import FileContent, FileFields, FileValue, FormFields, Readable

__all__ = ["encode_form", "Multipart"]

BLOCK = 64 * 1024
"""How much of a file is read at a time. Bytes content this long or longer is
also yielded on its own, not copied into the framing around it."""

# RFC 2046 5.1.1: a boundary is 1 to 70 bchars, the last one not a space.
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-]")
# The bchars that are also token characters (RFC 9110 5.6.2): such a boundary
# needs no quotes in the Content-Type header.
_TOKEN_BOUNDARY = re.compile(rb"[0-9A-Za-z'+_.-]+")

# The WHATWG HTML multipart/form-data encoding algorithm, as browsers send
# names and filenames: UTF-8 in a quoted string, with '"', CR and LF
# percent-encoded (nothing else is escaped, not even a backslash).
_ESCAPES = str.maketrans({'"': "%22", "\r": "%0D", "\n": "%0A"})

_Value = TypeVar("_Value")


def encode_form(data: FormFields) -> bytes:
    """An application/x-www-form-urlencoded body, as urlencode(doseq=True) makes
    it (a list or tuple value repeats the key). Values: str, bytes, int, float;
    True and False as "true" and "false", None as ""; anything else is a
    TypeError naming the key and the type."""
    return urlencode(list(_form_fields(data))).encode("ascii")


class Multipart:
    """A multipart/form-data body (RFC 7578) of form fields and files, streamed.

    ``content_type`` is its Content-Type header, with the boundary; ``length``
    its size in bytes when every file's size is known without reading it
    (a regular file, or an in-memory one like BytesIO), else -1. Iterating it
    yields the body in pieces, each file read BLOCK bytes at a time from where
    it stood when the Multipart was made. It can be iterated once; rewind()
    makes it iterable again.
    """

    __slots__ = ("content_type", "length", "_pieces", "_files", "_sent")

    def __init__(self, data: FormFields | None, files: FileFields, boundary: bytes | None = None) -> None:
        if boundary is None:
            boundary = os.urandom(16).hex().encode("ascii")
        elif not _BOUNDARY.fullmatch(boundary):
            raise ValueError(f"invalid multipart boundary {boundary!r}: RFC 2046 allows 1 to 70 "
                             "letters, digits, spaces and '()+_,-./:=? characters, not ending with a space")
        parameter = boundary if _TOKEN_BOUNDARY.fullmatch(boundary) else b'"' + boundary + b'"'
        self.content_type = "multipart/form-data; boundary=" + parameter.decode("ascii")

        parts: list[tuple[bytes, bytes | _FileStream]] = [
            _data_part(name, value) for name, value in _form_fields(data or ())]
        parts += [_file_part(name, value) for name, value in _items(files)]
        # RFC 2046 5.1.1: the CRLF before each "--boundary" belongs to it, not to
        # the part's content; the last one is "--boundary--".
        pieces: list[bytes | _FileStream] = []
        for head, content in parts:
            pieces += [b"--" + boundary + b"\r\n" + head, content, b"\r\n"]
        pieces.append(b"--" + boundary + b"--\r\n")

        self._pieces = _joined(pieces)
        self._files = [piece for piece in pieces if isinstance(piece, _FileStream)]
        self.length = _length(self._pieces)
        self._sent = False

    def __iter__(self) -> Iterator[bytes]:
        if self._sent:
            raise RuntimeError("this multipart body was iterated already: rewind() it first")
        self._sent = True
        for piece in self._pieces:
            if isinstance(piece, bytes):
                yield piece
            else:
                yield from piece.blocks()

    def rewind(self) -> bool:
        """Make the body iterable again from the start, each file sought back to
        where it stood when the Multipart was made. False when some file cannot
        seek (a pipe, a socket): then the body cannot be sent again."""
        if not all(file.rewind() for file in self._files):
            return False
        self._sent = False
        return True


class _FileStream:
    """A file part's content: its size when known without reading it, its blocks
    read as the body is iterated, and its way back to where it started."""

    __slots__ = ("file", "start", "size")

    def __init__(self, file: Readable) -> None:
        self.file = file
        self.start: int | None = None   # None: it cannot seek back there
        self.size: int | None = None    # None: unknown until read
        if isinstance(file, _Seekable):
            try:
                self.start = file.tell()
            except OSError:             # a pipe, a socket, a tty
                return
            self.size = _remaining(file, self.start)

    def blocks(self) -> Iterator[bytes]:
        while block := self.file.read(BLOCK):
            yield block

    def rewind(self) -> bool:
        if self.start is None or not isinstance(self.file, _Seekable):
            return False
        try:
            self.file.seek(self.start)
        except (OSError, ValueError):   # it cannot seek after all, or it was closed
            return False
        return True


@runtime_checkable
class _Seekable(Protocol):
    def seek(self, offset: int, /) -> int: ...
    def tell(self) -> int: ...


@runtime_checkable
class _HasDescriptor(Protocol):
    def fileno(self) -> int: ...


@runtime_checkable
class _InMemory(Protocol):
    def getbuffer(self) -> memoryview: ...


def _remaining(file: object, start: int) -> int | None:
    """How many bytes a file holds past start, when that is known without
    reading it: an in-memory file's by its buffer, a regular file's by fstat."""
    if isinstance(file, _InMemory):
        with file.getbuffer() as buffer:
            return max(len(buffer) - start, 0)
    if isinstance(file, _HasDescriptor):
        try:
            status = os.fstat(file.fileno())
        except OSError:                 # no descriptor after all (io.UnsupportedOperation)
            return None
        if stat.S_ISREG(status.st_mode):
            return max(status.st_size - start, 0)
    return None


def _items(fields: Mapping[str, _Value] | Sequence[tuple[str, _Value]]) -> Iterator[tuple[str, _Value]]:
    """The (name, value) pairs of a mapping, or of a sequence of pairs."""
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    for name, value in pairs:
        yield _field_name(name), value


def _field_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a form field's name must be a str, not {type(name).__name__}: {name!r}")
    return name


def _form_fields(data: FormFields) -> Iterator[tuple[str, str | bytes]]:
    """Each (name, value) of a form, one per item of a list or tuple value."""
    for name, value in _items(data):
        if isinstance(value, (list, tuple)):
            for item in value:
                yield name, _form_value(name, item)
        else:
            yield name, _form_value(name, value)


def _form_value(name: str, value: object) -> str | bytes:
    if value is None:
        return ""
    if isinstance(value, bool):         # before int: a bool is an int
        return "true" if value else "false"
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    raise TypeError(f"form field {name!r}: a value must be str, bytes, int, float, bool or None "
                    f"(or a list or tuple of them), not {type(value).__name__}")


def _data_part(name: str, value: str | bytes) -> tuple[bytes, bytes]:
    """The head and content of a form field's part (no Content-Type: RFC 7578
    4.4 makes it text/plain)."""
    return _disposition(name, None) + b"\r\n\r\n", value.encode() if isinstance(value, str) else value


def _file_part(name: str, value: FileValue) -> tuple[bytes, bytes | _FileStream]:
    """The head and content of a file field's part."""
    headers: Mapping[str, str] = {}
    content_type: str | None = None
    if isinstance(value, tuple):
        if len(value) == 2:
            filename, content = value
        elif len(value) == 3:
            filename, content, content_type = value
        else:
            filename, content, content_type, headers = value
    else:
        filename, content = _default_filename(name, value), value
    lines = [_disposition(name, filename)]
    # A Content-Type among the part's own headers wins (as in httpx).
    if not any(key.lower() == "content-type" for key in headers):
        lines.append(_header("Content-Type", content_type or _guess_type(filename)))
    lines += [_header(key, header_value) for key, header_value in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n", _file_content(name, content)


def _file_content(name: str, content: object) -> bytes | _FileStream:
    if isinstance(content, str):
        return content.encode()
    if isinstance(content, bytes):
        return content
    if isinstance(content, io.TextIOBase):
        raise TypeError(f"file field {name!r}: the file is open in text mode; open it in binary mode ('rb')")
    if not hasattr(content, "read"):
        raise TypeError(f"file field {name!r}: expected a binary file, bytes or str, not {type(content).__name__}")
    return _FileStream(content)


def _default_filename(name: str, content: FileContent) -> str:
    """A file's basename when it was opened by path (not a pseudo-name such as
    "<stdin>"), else the field's name (as in requests)."""
    path: object = getattr(content, "name", None)
    if isinstance(path, str) and not (path.startswith("<") and path.endswith(">")):
        return os.path.basename(path)
    return name


def _guess_type(filename: str | None) -> str:
    guessed = mimetypes.guess_type(filename)[0] if filename else None
    return guessed or "application/octet-stream"


def _disposition(name: str, filename: str | None) -> bytes:
    line = b'Content-Disposition: form-data; name="' + name.translate(_ESCAPES).encode() + b'"'
    if filename is not None:
        line += b'; filename="' + filename.translate(_ESCAPES).encode() + b'"'
    return line


def _header(name: str, value: str) -> bytes:
    line = f"{name}: {value}"
    if "\r" in line or "\n" in line:
        raise ValueError(f"a part's header must not hold CR or LF: {line!r}")
    return line.encode()


def _joined(pieces: Iterable[bytes | _FileStream]) -> list[bytes | _FileStream]:
    """The pieces with each run of short bytes joined into one, so the body goes
    out in fewer writes (a piece of BLOCK bytes or more is left as it is)."""
    joined: list[bytes | _FileStream] = []
    run: list[bytes] = []
    for piece in pieces:
        if isinstance(piece, bytes) and len(piece) < BLOCK:
            run.append(piece)
            continue
        if run:
            joined.append(b"".join(run))
            run = []
        joined.append(piece)
    if run:
        joined.append(b"".join(run))
    return joined


def _length(pieces: Iterable[bytes | _FileStream]) -> int:
    """The body's size, or -1 when some file's size is unknown."""
    total = 0
    for piece in pieces:
        size = len(piece) if isinstance(piece, bytes) else piece.size
        if size is None:
            return -1
        total += size
    return total
