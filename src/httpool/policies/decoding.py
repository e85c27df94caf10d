"""Content-Encoding: decoding response bodies (gzip, deflate, br, zstd).

decoder_for() reads a Content-Encoding header value and returns a Decoder, or
None when there is nothing to decode or a coding cannot be decoded here (the
body then stays as sent). ACCEPT_ENCODING names the codings this process can
decode: gzip and deflate always (zlib), br with brotli or brotlicffi 1.2+, zstd
with compression.zstd (Python 3.14), backports.zstd or zstandard.

Each coding is a layer, and stacked codings are layers one after the other,
each layer's output going on to the next before that layer is asked for more.
Each call of a library has an output limit: what max_size leaves (so a
decompression bomb, a few KiB that expand to GiB, stops there without ever
holding much more in memory), the piece size of iter_decode() (so a streamed
body is decoded piece by piece, however much one wire chunk expands), and 64 KiB
between stacked layers. Only decode() without max_size decodes in one go.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import ClassVar, NamedTuple, Protocol, cast

from httpool._exceptions import DecodingError

__all__ = ["ACCEPT_ENCODING", "Decoder", "decoder_for"]

_PIECE = 1 << 16  # the output limit of a call between stacked layers, and of brotli's calls


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# --- the libraries, and what this module needs of them ---


class _Inflater(Protocol):
    """zlib.decompressobj(), and its twins in python-isal and zlib-ng."""

    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    @property
    def unconsumed_tail(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes: ...


class _Zlib(NamedTuple):
    name: str
    decompressobj: Callable[[int], _Inflater]
    error: type[Exception]


def _zlibs() -> tuple[_Zlib, ...]:
    found = [_Zlib("zlib", zlib.decompressobj, zlib.error)]
    for name, module_name in (("zlib_ng", "zlib_ng.zlib_ng"), ("isal", "isal.isal_zlib")):
        module = _optional(module_name)
        if module is not None:
            found.insert(0, _Zlib(name, module.decompressobj, module.error))
    return tuple(found)


# The installed zlib implementations, fastest first: a 1 MiB JSON body (gzip -6)
# decodes at 660 MB/s with python-isal, 600 with zlib-ng, 300 with zlib (whole),
# and 1260, 870, 450 MB/s streamed in 64 KiB wire chunks.
_ZLIBS = _zlibs()
_zlib = _ZLIBS[0]  # the one gzip and deflate use
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class _BrotliDecompressor(Protocol):
    """brotli.Decompressor and brotlicffi.Decompressor, 1.2 or later."""

    def process(self, data: bytes, /, output_buffer_limit: int = ...) -> bytes: ...
    def can_accept_more_data(self) -> bool: ...
    def is_finished(self) -> bool: ...


def _brotli_module() -> ModuleType | None:
    # Before 1.2 they have no output limit: a few bytes could decode to GiB in
    # one call, whatever max_size says, so br is not decoded with them.
    for name in ("brotli", "brotlicffi"):  # Google's own first; both decode 1 MiB of JSON in about 2.1 ms
        module = _optional(name)
        if module is not None and hasattr(module.Decompressor, "can_accept_more_data"):
            return module
    return None


_brotli = _brotli_module()


class _ZstandardObj(Protocol):
    """zstandard.ZstdDecompressor().decompressobj(): one frame, no output limit."""

    @property
    def eof(self) -> bool: ...
    def decompress(self, data: bytes | memoryview) -> bytes: ...


_zstd = _optional("compression.zstd") or _optional("backports.zstd")
_zstandard = _optional("zstandard")


# --- the layers: one coding each ---


class _Layer(Protocol):
    coding: ClassVar[str]
    errors: tuple[type[Exception], ...]  # what the library raises on a corrupt stream

    def decompress(self, data: bytes, limit: int) -> bytes:
        """The output of data, following what came before: at most limit
        bytes (0: no limit), and fewer only once all input given so far is
        decoded."""

    def ended(self) -> bool:
        """Whether the stream is complete (an empty body counts as complete:
        servers label empty bodies with the coding they would have used)."""


class _Member(Protocol):
    """One gzip member's or one zstd frame's decompressor."""

    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int, /) -> bytes: ...


class _Members:
    """A body of members (gzip) or frames (zstd) one after another, each
    decoded by a fresh decompressor; _next() says what starts the next one."""

    coding: ClassVar[str]
    _UNLIMITED: ClassVar[int]   # the library's max_length for no limit
    __slots__ = ("errors", "_obj", "_started", "_ignoring")

    def __init__(self, errors: tuple[type[Exception], ...], obj: _Member) -> None:
        self.errors = errors
        self._obj = obj
        self._started = False
        self._ignoring = False  # after the last member

    def _next(self, data: bytes) -> _Member | None:
        """A decompressor for the member data starts, or None when data is no member."""
        raise NotImplementedError

    def _left_over(self, obj: _Member) -> bytes:
        """Input the last call's limit left unread, when the library gives it back."""
        return b""

    def decompress(self, data: bytes, limit: int) -> bytes:
        if data:
            self._started = True
        out = b""
        while not self._ignoring:
            obj = self._obj
            if obj.eof:  # a member has ended
                data = obj.unused_data + data
                if not data:
                    break
                following = self._next(data)
                if following is None:
                    self._ignoring = True
                    break
                obj = self._obj = following
            else:
                data = self._left_over(obj) + data
            more = obj.decompress(data, limit - len(out) if limit else self._UNLIMITED)
            out = out + more if out else more
            data = b""
            if not obj.eof or (limit and len(out) >= limit):
                break
        return out

    def ended(self) -> bool:
        return self._ignoring or self._obj.eof or not self._started


class _Gzip(_Members):
    """gzip (RFC 1952), member after member: gzip(1) and browsers decode every
    member of a body, not just the first."""

    coding: ClassVar[str] = "gzip"
    _UNLIMITED: ClassVar[int] = 0
    __slots__ = ("_zlib",)

    def __init__(self) -> None:
        self._zlib = _zlib
        super().__init__((_zlib.error,), _zlib.decompressobj(_GZIP_WBITS))

    def _next(self, data: bytes) -> _Member | None:
        if data[0] != 0x1F:  # not a member (its first byte is ID1): trailing bytes, ignored like gzip(1) does
            return None
        return self._zlib.decompressobj(_GZIP_WBITS)

    def _left_over(self, obj: _Member) -> bytes:
        return cast("_Inflater", obj).unconsumed_tail


def _is_zlib_header(head: bytes) -> bool:
    # RFC 1950: CM 8 (deflate), CINFO at most 7, and CMF*256 + FLG a multiple of 31
    return head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and (head[0] << 8 | head[1]) % 31 == 0


class _Deflate:
    """deflate: zlib-wrapped (RFC 1950) as the standard says, or raw deflate
    (RFC 1951) as some servers send; the first two bytes tell which. What
    follows the end of the stream is ignored, as zlib does."""

    coding: ClassVar[str] = "deflate"
    __slots__ = ("errors", "_zlib", "_obj", "_head")

    def __init__(self) -> None:
        self._zlib = _zlib
        self.errors: tuple[type[Exception], ...] = (_zlib.error,)
        self._obj: _Inflater | None = None  # until two bytes have come
        self._head = b""

    def decompress(self, data: bytes, limit: int) -> bytes:
        obj = self._obj
        if obj is None:
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return b""
            obj = self._obj = self._zlib.decompressobj(zlib.MAX_WBITS if _is_zlib_header(data) else -zlib.MAX_WBITS)
        elif obj.eof:
            return b""
        elif obj.unconsumed_tail:
            data = obj.unconsumed_tail + data
        return obj.decompress(data, limit)

    def ended(self) -> bool:
        return self._obj.eof if self._obj is not None else not self._head


_NOTHING = memoryview(b"")


class _Overshooting:
    """A layer whose library may pass a call's output limit by up to a block
    (Google's brotli, zstandard): what passes it is held for the next call."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = _NOTHING

    def _take_held(self, limit: int) -> bytes | None:
        """The next output, when what is held fills the limit by itself."""
        held = self._held
        if not limit or len(held) < limit:
            return None
        self._held = held[limit:]
        return bytes(held[:limit])

    def _limited(self, pieces: list[bytes], limit: int) -> bytes:
        """What is held and pieces, up to limit; the rest is held."""
        held = self._held
        out = pieces[0] if not held and len(pieces) == 1 else b"".join([held, *pieces])
        if limit and len(out) > limit:
            self._held = memoryview(out)[limit:]
            return out[:limit]
        self._held = _NOTHING
        return out


class _Brotli(_Overshooting):
    """br (RFC 7932). What follows the end of the stream is an error (both
    libraries raise)."""

    coding: ClassVar[str] = "br"
    __slots__ = ("errors", "_obj", "_tail", "_started")

    def __init__(self, module: ModuleType) -> None:
        super().__init__()
        self.errors: tuple[type[Exception], ...] = (module.error,)
        self._obj: _BrotliDecompressor = module.Decompressor()
        self._tail = b""  # input the library could not take yet
        self._started = False

    def decompress(self, data: bytes, limit: int) -> bytes:
        if data:
            self._started = True
        if self._tail:
            data = self._tail + data
        out = self._take_held(limit)
        if out is not None:
            self._tail = data
            return out
        obj = self._obj
        pieces = []
        size = len(self._held)
        while True:
            # After a call that reached its limit, the library may still hold
            # input: it takes b"" until it can accept more.
            if obj.can_accept_more_data():
                feed, data = data, b""
            else:
                feed = b""
            if limit:
                # Calls of at most 64 KiB: brotli's output passes its limit by up
                # to the size of its last buffer block (they double from 32 KiB),
                # and brotlicffi allocates the whole limit up front.
                step = min(limit - size, _PIECE)
                more = obj.process(feed, output_buffer_limit=step)
                drained = len(more) < step  # it stopped for want of input, not of room
            else:
                more = obj.process(feed)
                drained = True
            pieces.append(more)
            size += len(more)
            if (limit and size >= limit) or (drained and not data):
                break
        self._tail = data
        return self._limited(pieces, limit)

    def ended(self) -> bool:
        return self._obj.is_finished() or not self._started


class _Zstd(_Members):
    """zstd (RFC 8878) with compression.zstd or backports.zstd, frame after
    frame. What follows a frame must be another frame (the library says so
    when it is not)."""

    coding: ClassVar[str] = "zstd"
    _UNLIMITED: ClassVar[int] = -1
    __slots__ = ("_module",)

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        super().__init__((module.ZstdError,), module.ZstdDecompressor())

    def _next(self, data: bytes) -> _Member | None:
        return cast("_Member", self._module.ZstdDecompressor())


_ZSTD_BLOCK_SIZE = 3
_ZSTD_CHECKSUM_SIZE = 4


class _Zstandard(_Overshooting):
    """zstd (RFC 8878) with the zstandard package. Its decompressobj has no
    output limit, but a zstd block decodes to at most 128 KiB (Block_Maximum_Size,
    RFC 8878 3.1.1.2): the stream is cut at the end of each block, and each call
    gets at most one block end, so a call gives at most 128 KiB. What follows a
    frame must be another frame (or a skippable frame)."""

    coding: ClassVar[str] = "zstd"
    __slots__ = ("errors", "_dctx", "_obj", "_input", "_left", "_in_frame", "_checksum")

    def __init__(self, module: ModuleType) -> None:
        super().__init__()
        self.errors: tuple[type[Exception], ...] = (module.ZstdError,)
        self._dctx = module.ZstdDecompressor()
        self._obj: _ZstandardObj | None = None  # the current frame's
        self._input = b""  # the start of a header, until it is whole
        self._left = 0  # bytes of the current block, or frame header, still to come
        self._in_frame = False  # the next header is a block's (else a frame's)
        self._checksum = False  # the current frame ends with a checksum

    def decompress(self, data: bytes, limit: int) -> bytes:
        buf = self._input + data if self._input else data
        out = self._take_held(limit)
        if out is not None:
            self._input = buf
            return out
        view = memoryview(buf)
        pieces = []
        size = len(self._held)
        pos = 0
        while pos < len(buf) and not (limit and size >= limit):
            if not self._left and not self._read_header(buf, pos):
                break
            end = min(pos + self._left, len(buf))
            assert self._obj is not None  # _read_header made it
            more = self._obj.decompress(view[pos:end])
            self._left -= end - pos
            pos = end
            pieces.append(more)
            size += len(more)
        self._input = buf[pos:]
        return self._limited(pieces, limit)

    def _read_header(self, buf: bytes, pos: int) -> bool:
        """Read the header at pos into _left (the size of what it starts):
        False when it is not whole yet."""
        if self._in_frame:  # a block header: bit 0 Last_Block, bits 1-2 Block_Type, bits 3-23 Block_Size
            if len(buf) - pos < _ZSTD_BLOCK_SIZE:
                return False
            header = int.from_bytes(buf[pos : pos + _ZSTD_BLOCK_SIZE], "little")
            content = 1 if (header >> 1) & 3 == 1 else header >> 3  # an RLE block holds one byte
            self._left = _ZSTD_BLOCK_SIZE + content
            if header & 1:  # the last block: the frame's checksum follows it
                self._left += _ZSTD_CHECKSUM_SIZE if self._checksum else 0
                self._in_frame = False
            return True
        if len(buf) - pos < 8:  # a frame: Magic_Number, then a skippable frame's size or Frame_Header_Descriptor
            return False
        magic = int.from_bytes(buf[pos : pos + 4], "little")
        if magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame
            self._left = 8 + int.from_bytes(buf[pos + 4 : pos + 8], "little")
        else:  # a frame's header, whose size its Frame_Header_Descriptor gives (or garbage, which zstandard rejects)
            descriptor = buf[pos + 4]
            single_segment = descriptor >> 5 & 1
            content_size = (single_segment, 2, 4, 8)[descriptor >> 6]
            self._left = 5 + (1 - single_segment) + (0, 1, 2, 4)[descriptor & 3] + content_size
            self._checksum = bool(descriptor & 4)
            self._in_frame = True
        self._obj = self._dctx.decompressobj(read_across_frames=False)
        return True

    def ended(self) -> bool:
        return not self._input and (self._obj is None or self._obj.eof)


def _codings() -> dict[str, Callable[[], _Layer]]:
    codings: dict[str, Callable[[], _Layer]] = {"gzip": _Gzip, "x-gzip": _Gzip, "deflate": _Deflate}
    brotli = _brotli
    if brotli is not None:
        codings["br"] = lambda: _Brotli(brotli)
    zstd, zstandard = _zstd, _zstandard
    if zstd is not None:  # as fast as zstandard, and it needs no cutting: its output limit is exact
        codings["zstd"] = lambda: _Zstd(zstd)
    elif zstandard is not None:
        codings["zstd"] = lambda: _Zstandard(zstandard)
    return codings


_CODINGS = _codings()

ACCEPT_ENCODING = ", ".join(name for name in ("gzip", "deflate", "br", "zstd") if name in _CODINGS)


# --- the decoder ---


class Decoder:
    """Decodes one response body, as it comes: decode() or iter_decode() for
    each piece of the wire body, then finish()."""

    __slots__ = ("_layers", "_origin", "_max_size", "_codings", "_size")

    def __init__(self, layers: list[_Layer], origin: str, max_size: int | None, codings: str) -> None:
        self._layers = layers  # the last coding applied first
        self._origin = origin
        self._max_size = max_size
        self._codings = codings
        self._size = 0  # decoded bytes so far

    def decode(self, data: bytes) -> bytes:
        """The decoded bytes of one more piece of the wire body (maybe b"").
        DecodingError if the body is corrupt, or decodes to more than max_size
        (found out having decoded at most max_size + 128 KiB)."""
        layers = self._layers
        if len(layers) == 1:  # the common case: one call of the layer decodes all of data, or passes max_size
            out = self._decompress(layers[0], data, self._limit(0))
            self._count(len(out))
            return out
        pieces = list(self._flow(data, 0, 0))
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)

    def iter_decode(self, data: bytes, piece: int = 65536) -> Iterator[bytes]:
        """decode(), in pieces of at most piece bytes, each decoded only when
        the previous one has been taken."""
        if piece < 1:
            raise ValueError(f"piece must be at least 1, not {piece}")
        return self._flow(data, 0, piece)

    def finish(self) -> bytes:
        """The end of the wire body: what remains decoded (b"" unless an
        iter_decode() was left unfinished); DecodingError if a stream is
        truncated."""
        out = self.decode(b"")
        for layer in self._layers:
            if not layer.ended():
                raise DecodingError(f"{self._origin}: the {layer.coding} body ended before its end")
        return out

    def _flow(self, data: bytes, index: int, piece: int) -> Iterator[bytes]:
        """The output of data through layers[index:], in pieces of at most
        piece bytes (0: as the libraries give it)."""
        layer = self._layers[index]
        last = index == len(self._layers) - 1
        while True:
            limit = self._limit(piece) if last else piece or _PIECE
            out = self._decompress(layer, data, limit)
            data = b""
            if not last:
                if out:
                    yield from self._flow(out, index + 1, piece)
            else:
                self._count(len(out))
                if out:
                    yield out
            if not limit or len(out) < limit:
                return

    def _decompress(self, layer: _Layer, data: bytes, limit: int) -> bytes:
        try:
            return layer.decompress(data, limit)
        except layer.errors as exc:
            raise DecodingError(f"{self._origin}: the {layer.coding} body is corrupt ({exc})") from exc

    def _limit(self, piece: int) -> int:
        """The output limit of the last layer's next call (0: none): piece, or
        what max_size leaves plus one byte (to see it passed), the smaller."""
        if self._max_size is None:
            return piece
        room = self._max_size - self._size + 1
        return min(piece, room) if piece else room

    def _count(self, size: int) -> None:
        self._size += size
        if self._max_size is not None and self._size > self._max_size:
            raise DecodingError(
                f"{self._origin}: the body decodes to more than max_body_size={self._max_size} bytes ({self._codings})"
            )


def decoder_for(content_encoding: str, origin: str, max_size: int | None) -> Decoder | None:
    """The decoder of a body whose Content-Encoding (its field values joined
    with ", ") is content_encoding: None if there is nothing to decode, or if a
    coding is unknown or cannot be decoded here (the body then stays as sent).
    Codings are listed in the order they were applied, and decoded in reverse.
    origin ("http://host:port") begins every error message; max_size bounds the
    decoded body (None: no bound)."""
    layer = _CODINGS.get(content_encoding)  # the common case: one coding, as it is spelled here
    if layer is not None:
        return Decoder([layer()], origin, max_size, content_encoding)
    codings = [name for part in content_encoding.lower().split(",") if (name := part.strip()) not in ("", "identity")]
    if not codings:
        return None
    try:
        layers = [_CODINGS[name]() for name in reversed(codings)]
    except KeyError:
        return None
    return Decoder(layers, origin, max_size, ", ".join(codings))
