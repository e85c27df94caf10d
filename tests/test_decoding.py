"""httpool.policies.decoding: Content-Encoding decoders, on bodies made here.

Each coding is tested with every library installed for it (the gzip ones
include the stdlib zlib fallback even when python-isal is there), so a
library missing here skips its cases, never fails them.
"""

from __future__ import annotations

import functools
import gzip
import importlib
import itertools
import random
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from httpool import DecodingError
from httpool.policies import decoding

ORIGIN = "http://127.0.0.1:8080"
MiB = 1 << 20


def optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# --- encoders and the decoding backends ---

brotli_encoder = optional("brotli") or optional("brotlicffi")
zstd_stdlib = [(name, module) for name in ("compression.zstd", "backports.zstd") if (module := optional(name))]
zstandard = optional("zstandard")


def gzip_encode(body: bytes) -> bytes:
    return gzip.compress(body)


def deflate_zlib(body: bytes) -> bytes:
    return zlib.compress(body)


def deflate_raw(body: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


@functools.cache  # quality 11, brotli's default, takes most of a second for BODY
def br_encode(body: bytes) -> bytes:
    assert brotli_encoder is not None
    data: bytes = brotli_encoder.compress(body)
    return data


def zstd_encode(body: bytes, checksum: bool = False) -> bytes:
    if zstandard is not None:
        data: bytes = zstandard.ZstdCompressor(write_checksum=checksum).compress(body)
        return data
    module = zstd_stdlib[0][1]
    options = {module.CompressionParameter.checksum_flag: int(checksum)}
    data = module.compress(body, options=options)
    return data


class Codec(NamedTuple):
    """A coding, one library that decodes it, and how to make its bodies."""

    coding: str
    encode: Callable[[bytes], bytes]
    use: Callable[[pytest.MonkeyPatch], None]  # makes decoder_for() use that library


def _use_zlib(impl: decoding._Zlib) -> Callable[[pytest.MonkeyPatch], None]:
    return lambda monkeypatch: monkeypatch.setattr(decoding, "_zlib", impl)


def _use_layer(coding: str, layer: Callable[[], decoding._Layer]) -> Callable[[pytest.MonkeyPatch], None]:
    return lambda monkeypatch: monkeypatch.setitem(decoding._CODINGS, coding, layer)


def _bounded_brotli(name: str) -> ModuleType | None:
    module = optional(name)
    return module if module is not None and hasattr(module.Decompressor, "can_accept_more_data") else None


def _brotlis() -> dict[str, ModuleType]:
    return {name: module for name in ("brotli", "brotlicffi") if (module := _bounded_brotli(name))}


def _codecs() -> dict[str, Codec]:
    codecs = {}
    for impl in decoding._ZLIBS:
        codecs[f"gzip-{impl.name}"] = Codec("gzip", gzip_encode, _use_zlib(impl))
        codecs[f"deflate-zlib-{impl.name}"] = Codec("deflate", deflate_zlib, _use_zlib(impl))
        codecs[f"deflate-raw-{impl.name}"] = Codec("deflate", deflate_raw, _use_zlib(impl))
    for name, module in _brotlis().items():
        codecs[f"br-{name}"] = Codec("br", br_encode, _use_layer("br", lambda m=module: decoding._Brotli(m)))
    for name, module in zstd_stdlib:
        codecs[f"zstd-{name}"] = Codec("zstd", zstd_encode, _use_layer("zstd", lambda m=module: decoding._Zstd(m)))
    if zstandard is not None:
        use = _use_layer("zstd", lambda: decoding._Zstandard(zstandard))
        codecs["zstd-zstandard"] = Codec("zstd", zstd_encode, use)
    return codecs


CODECS = _codecs()


def codec_fixture(coding: str | None) -> Callable[..., Codec]:
    """A fixture over the codecs of one coding (None: of all), each in use."""
    ids = [name for name, codec in CODECS.items() if coding in (None, codec.coding)]

    @pytest.fixture(params=ids or [pytest.param(None, marks=pytest.mark.skip(f"nothing decodes {coding} here"))])
    def fixture(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Codec:
        codec = CODECS[request.param]
        codec.use(monkeypatch)
        return codec

    return fixture


codec = codec_fixture(None)
gzip_codec = codec_fixture("gzip")
br_codec = codec_fixture("br")
zstd_codec = codec_fixture("zstd")

# A body with both incompressible and repetitive stretches, larger than a zstd
# block (128 KiB) and than brotli's first output block.
_random = random.Random(0)
BODY = b"".join(_random.randbytes(200) + b"%d lines of text, " % i * 20 for i in range(400))


def new_decoder(coding: str, max_size: int | None = None) -> decoding.Decoder:
    decoder = decoding.decoder_for(coding, ORIGIN, max_size)
    assert decoder is not None
    return decoder


def decode_in_chunks(decoder: decoding.Decoder, wire: bytes, size: int) -> bytes:
    out = [decoder.decode(wire[start : start + size]) for start in range(0, len(wire), size)]
    return b"".join(out) + decoder.finish()


def iter_in_chunks(decoder: decoding.Decoder, wire: bytes, size: int, piece: int) -> Iterator[bytes]:
    for start in range(0, len(wire), size):
        yield from decoder.iter_decode(wire[start : start + size], piece)
    yield decoder.finish()


# --- Accept-Encoding and decoder_for ---


def test_accept_encoding_lists_exactly_the_decodable_codings() -> None:
    expected = ["gzip", "deflate"]
    if _brotlis():
        expected.append("br")
    if zstd_stdlib or zstandard is not None:
        expected.append("zstd")
    assert ", ".join(expected) == decoding.ACCEPT_ENCODING
    for coding in ("gzip", "deflate", "br", "zstd"):
        assert (decoding.decoder_for(coding, ORIGIN, None) is not None) == (coding in expected)


@pytest.mark.parametrize("value", ["", "identity", " identity ", "IDENTITY", ",", " , ,identity,"])
def test_nothing_to_decode_gives_no_decoder(value: str) -> None:
    assert decoding.decoder_for(value, ORIGIN, None) is None


@pytest.mark.parametrize("value", ["compress", "x-compress", "gzip, compress", "compress, gzip", "gzip2", "br;q=1"])
def test_an_unknown_coding_gives_no_decoder(value: str) -> None:
    assert decoding.decoder_for(value, ORIGIN, None) is None


@pytest.mark.parametrize(
    "value", ["GZIP", " gzip ", "\tGzip\t", "x-gzip", "X-GZip", "identity, gzip", ",gzip,", "gzip, identity"]
)
def test_codings_are_case_insensitive_and_whitespace_tolerant(value: str) -> None:
    decoder = new_decoder(value)
    assert decoder.decode(gzip_encode(BODY)) + decoder.finish() == BODY


# --- each coding, with each library ---


def test_decodes_a_whole_body(codec: Codec) -> None:
    decoder = new_decoder(codec.coding)
    assert decoder.decode(codec.encode(BODY)) + decoder.finish() == BODY


@pytest.mark.parametrize("size", [1, 2, 3, 7, 4096])
def test_decodes_a_body_in_chunks_of_any_size(codec: Codec, size: int) -> None:
    body = BODY[:5000] if size < 7 else BODY  # byte by byte splits every header, in a shorter body
    assert decode_in_chunks(new_decoder(codec.coding), codec.encode(body), size) == body


@pytest.mark.parametrize("piece", [1000, 65536])
def test_iter_decode_gives_pieces_of_at_most_piece_bytes(codec: Codec, piece: int) -> None:
    pieces = list(iter_in_chunks(new_decoder(codec.coding), codec.encode(BODY), 50000, piece))
    assert b"".join(pieces) == BODY
    assert max(map(len, pieces)) <= piece


def test_an_empty_body_decodes_to_nothing(codec: Codec) -> None:
    decoder = new_decoder(codec.coding)
    assert decoder.decode(b"") == b""
    assert decoder.finish() == b""


def test_a_body_of_exactly_max_size_decodes_and_one_byte_less_does_not(codec: Codec) -> None:
    wire = codec.encode(BODY)
    decoder = new_decoder(codec.coding, len(BODY))
    assert decode_in_chunks(decoder, wire, 10000) == BODY
    with pytest.raises(DecodingError, match=f"max_body_size={len(BODY) - 1} "):
        decode_in_chunks(new_decoder(codec.coding, len(BODY) - 1), wire, 10000)
    with pytest.raises(DecodingError, match=f"max_body_size={len(BODY) - 1} "):
        new_decoder(codec.coding, len(BODY) - 1).decode(wire)


def test_a_truncated_body_fails_at_finish(codec: Codec) -> None:
    decoder = new_decoder(codec.coding)
    decoder.decode(codec.encode(BODY)[:-5])
    with pytest.raises(DecodingError) as caught:
        decoder.finish()
    assert type(caught.value) is DecodingError
    assert str(caught.value) == f"{ORIGIN}: the {codec.coding} body ended before its end"


def test_finish_gives_what_an_unfinished_iter_decode_left(codec: Codec) -> None:
    decoder = new_decoder(codec.coding)
    pieces = decoder.iter_decode(codec.encode(BODY), 1000)
    first = next(pieces)
    assert first + decoder.finish() == BODY


@settings(max_examples=25, deadline=None)
@given(body=st.binary(max_size=3000), cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
       piece=st.integers(min_value=1, max_value=3000))
def test_any_split_of_the_wire_and_any_piece_size_give_the_body(body: bytes, cuts: list[int], piece: int) -> None:
    # hypothesis forbids function-scoped fixtures: every codec, in turn
    with pytest.MonkeyPatch.context() as monkeypatch:
        for codec in CODECS.values():
            codec.use(monkeypatch)
            wire = codec.encode(body * 3)
            bounds = sorted({0, len(wire), *(cut % (len(wire) + 1) for cut in cuts)})
            decoder = new_decoder(codec.coding)
            pieces = [p for a, b in itertools.pairwise(bounds) for p in decoder.iter_decode(wire[a:b], piece)]
            assert b"".join(pieces) + decoder.finish() == body * 3
            assert all(len(p) <= piece for p in pieces)


# --- corrupt bodies ---

CORRUPT = {
    "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20,  # a gzip header, then a reserved block type
    "deflate": b"\x78\x9c" + b"\xff" * 20,  # a zlib header, then a reserved block type
    "br": b"\xff" * 100,
    "zstd": b"this is not zstd at all",
}


def test_a_corrupt_body_raises_decoding_error_naming_origin_and_coding(codec: Codec) -> None:
    decoder = new_decoder(codec.coding)
    with pytest.raises(DecodingError) as caught:
        decoder.decode(CORRUPT[codec.coding])
        decoder.finish()
    assert type(caught.value) is DecodingError
    assert str(caught.value).startswith(f"{ORIGIN}: the {codec.coding} body is corrupt (")
    assert caught.value.__cause__ is not None
    assert not isinstance(caught.value.__cause__, DecodingError)


def test_a_corrupt_gzip_body_says_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decoding, "_zlib", decoding._Zlib("zlib", zlib.decompressobj, zlib.error))
    with pytest.raises(DecodingError) as caught:
        new_decoder("gzip").decode(CORRUPT["gzip"])
    assert str(caught.value) == (
        f"{ORIGIN}: the gzip body is corrupt (Error -3 while decompressing data: invalid block type)"
    )
    assert isinstance(caught.value.__cause__, zlib.error)


def test_a_raw_deflate_body_that_is_corrupt_fails_too() -> None:
    with pytest.raises(DecodingError, match="the deflate body is corrupt"):
        new_decoder("deflate").decode(b"\xff" * 20)  # not a zlib header: raw deflate, with a reserved block type


def test_the_error_names_the_layer_that_failed() -> None:
    wire = gzip_encode(CORRUPT["deflate"])  # deflate applied first (and corrupt), then gzip
    with pytest.raises(DecodingError, match="the deflate body is corrupt"):
        new_decoder("deflate, gzip").decode(wire)


# --- gzip members, data after the end ---


def test_every_gzip_member_is_decoded(gzip_codec: Codec) -> None:
    wire = gzip_encode(BODY) + gzip_encode(b"second member") + gzip_encode(b"")
    assert new_decoder("gzip").decode(wire) == BODY + b"second member"
    assert decode_in_chunks(new_decoder("gzip"), wire, 1000) == BODY + b"second member"


def test_gzip_members_split_exactly_at_their_boundary(gzip_codec: Codec) -> None:
    first, second = gzip_encode(b"first "), gzip_encode(b"second")
    decoder = new_decoder("gzip")
    assert decoder.decode(first) + decoder.decode(second) + decoder.finish() == b"first second"


@pytest.mark.parametrize("trailer", [b"\0" * 10, b"garbage after the end", b"\n"])
def test_bytes_after_the_last_gzip_member_are_ignored(gzip_codec: Codec, trailer: bytes) -> None:
    wire = gzip_encode(BODY) + trailer
    assert decode_in_chunks(new_decoder("gzip"), wire, 1000) == BODY
    decoder = new_decoder("gzip")
    assert decoder.decode(gzip_encode(b"body")) + decoder.decode(trailer) + decoder.decode(gzip_encode(b"x")) == b"body"


def test_a_corrupt_second_gzip_member_is_an_error(gzip_codec: Codec) -> None:
    with pytest.raises(DecodingError, match="the gzip body is corrupt"):
        new_decoder("gzip").decode(gzip_encode(BODY) + CORRUPT["gzip"])


def test_a_truncated_second_gzip_member_is_an_error(gzip_codec: Codec) -> None:
    decoder = new_decoder("gzip")
    decoder.decode(gzip_encode(BODY) + gzip_encode(b"second")[:15])
    with pytest.raises(DecodingError, match="the gzip body ended before its end"):
        decoder.finish()


def test_bytes_after_a_deflate_stream_are_ignored() -> None:
    for encode in (deflate_zlib, deflate_raw):
        decoder = new_decoder("deflate")
        assert decoder.decode(encode(BODY) + b"trailing") + decoder.finish() == BODY


def test_bytes_after_a_br_stream_are_an_error(br_codec: Codec) -> None:
    with pytest.raises(DecodingError, match="the br body is corrupt"):
        new_decoder("br").decode(br_encode(BODY) + b"trailing")


# --- zstd frames ---


def test_every_zstd_frame_is_decoded_with_skippable_frames_between(zstd_codec: Codec) -> None:
    skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"skip!"
    wire = zstd_encode(BODY, checksum=True) + skippable + zstd_encode(b"second frame") + zstd_encode(b"")
    assert new_decoder("zstd").decode(wire) == BODY + b"second frame"
    assert decode_in_chunks(new_decoder("zstd"), wire, 3) == BODY + b"second frame"


def test_bytes_after_a_zstd_frame_are_an_error(zstd_codec: Codec) -> None:
    with pytest.raises(DecodingError, match="the zstd body is corrupt"):
        new_decoder("zstd").decode(zstd_encode(BODY) + b"trailing garbage")


def test_a_zstd_frame_cut_in_its_checksum_is_truncated(zstd_codec: Codec) -> None:
    decoder = new_decoder("zstd")
    decoder.decode(zstd_encode(BODY, checksum=True)[:-2])
    with pytest.raises(DecodingError, match="the zstd body ended before its end"):
        decoder.finish()


# --- deflate: zlib-wrapped or raw ---


@pytest.mark.parametrize("encode", [deflate_zlib, deflate_raw])
def test_deflate_tells_zlib_from_raw_even_one_byte_at_a_time(encode: Callable[[bytes], bytes]) -> None:
    assert decode_in_chunks(new_decoder("deflate"), encode(b"tell me which"), 1) == b"tell me which"


def test_a_lone_first_deflate_byte_is_a_truncated_body() -> None:
    decoder = new_decoder("deflate")
    decoder.decode(deflate_zlib(BODY)[:1])
    with pytest.raises(DecodingError, match="the deflate body ended before its end"):
        decoder.finish()


# --- stacked codings ---


@pytest.mark.parametrize(
    ("coding", "encoders"),
    [
        ("gzip, br", [gzip_encode, br_encode]),
        ("deflate, gzip", [deflate_zlib, gzip_encode]),
        ("gzip, gzip", [gzip_encode, gzip_encode]),
        ("br, zstd", [br_encode, zstd_encode]),
        ("zstd,deflate", [zstd_encode, deflate_raw]),
    ],
)
def test_stacked_codings_are_decoded_in_reverse_order(coding: str, encoders: list[Callable[[bytes], bytes]]) -> None:
    if any(name.strip() not in decoding._CODINGS for name in coding.split(",")):
        pytest.skip(f"{coding} cannot be decoded here")
    wire = BODY
    for encode in encoders:  # applied in the order listed
        wire = encode(wire)
    decoder = new_decoder(coding)
    assert decoder.decode(wire) + decoder.finish() == BODY
    assert decode_in_chunks(new_decoder(coding), wire, 777) == BODY
    pieces = list(iter_in_chunks(new_decoder(coding), wire, 5000, 4096))
    assert b"".join(pieces) == BODY
    assert max(map(len, pieces)) <= 4096


def test_a_stacked_body_truncated_in_its_outer_layer_fails_at_finish() -> None:
    decoder = new_decoder("deflate, gzip")
    decoder.decode(gzip_encode(deflate_zlib(BODY))[:-3])
    with pytest.raises(DecodingError, match="the gzip body ended before its end"):
        decoder.finish()


# --- each zlib implementation gives the same output ---


def test_the_stdlib_zlib_is_always_among_the_gzip_implementations() -> None:
    assert [impl.name for impl in decoding._ZLIBS][-1] == "zlib"
    assert decoding._zlib is decoding._ZLIBS[0]


def test_every_gzip_implementation_gives_identical_output(monkeypatch: pytest.MonkeyPatch) -> None:
    wire = gzip_encode(BODY) + gzip_encode(BODY[::-1]) + b"\0\0"
    outputs = {}
    for impl in decoding._ZLIBS:
        monkeypatch.setattr(decoding, "_zlib", impl)
        outputs[impl.name] = [
            new_decoder("gzip").decode(wire),
            decode_in_chunks(new_decoder("gzip"), wire, 333),
            b"".join(iter_in_chunks(new_decoder("gzip"), wire, 10000, 999)),
        ]
    expected = BODY + BODY[::-1]
    for name, out in outputs.items():
        assert out == [expected] * 3, name


# --- decompression bombs, and large streamed bodies ---


def gzip_of_zeros(mib: int) -> bytes:
    """A valid gzip stream of mib MiB of zeros, made in milliseconds: after a
    full flush deflate starts afresh, so each further MiB compresses to the
    same bytes."""
    zeros = bytes(MiB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-8]  # the last block, without the trailer (it counts only 2 MiB)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    trailer = crc.to_bytes(4, "little") + (mib * MiB % (1 << 32)).to_bytes(4, "little")
    return first + again * (mib - 1) + end + trailer


def br_of_zeros(mib: int) -> bytes:
    assert brotli_encoder is not None
    compressor = brotli_encoder.Compressor(quality=1)
    zeros = bytes(MiB)
    data: bytes = b"".join([compressor.process(zeros) for _ in range(mib)] + [compressor.finish()])
    return data


def zstd_of_zeros(mib: int) -> bytes:
    zeros = bytes(MiB)
    if zstandard is not None:
        compressor = zstandard.ZstdCompressor(level=1).compressobj()
        data: bytes = b"".join([compressor.compress(zeros) for _ in range(mib)] + [compressor.flush()])
        return data
    compressor = zstd_stdlib[0][1].ZstdCompressor(level=1)
    data = b"".join([compressor.compress(zeros) for _ in range(mib)] + [compressor.flush()])
    return data


def test_the_zeros_streams_are_what_they_say() -> None:
    assert gzip.decompress(gzip_of_zeros(3)) == bytes(3 * MiB)


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """1 GiB of zeros in each coding: about 1 MiB of gzip, 2.5 KiB of gzip
    of that gzip, 190 KiB of br, 32 KiB of zstd."""
    gib = gzip_of_zeros(1024)
    made = {"gzip": gib, "gzip, gzip": gzip.compress(gib)}
    if brotli_encoder is not None:
        made["br"] = br_of_zeros(1024)
    if zstandard is not None or zstd_stdlib:
        made["zstd"] = zstd_of_zeros(1024)
    return made


def measure(action: Callable[[], object]) -> tuple[DecodingError | None, int, float]:
    """What action() raised, the peak of traced memory while it ran (beyond
    what was there before), and how long it took."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        error = None
        try:
            action()
        except DecodingError as exc:
            error = exc
        return error, tracemalloc.get_traced_memory()[1] - base, time.perf_counter() - start
    finally:
        tracemalloc.stop()


FEEDS: dict[str, Callable[[decoding.Decoder, bytes], object]] = {
    "whole": lambda decoder, wire: decoder.decode(wire),
    "in chunks": lambda decoder, wire: [decoder.decode(wire[i : i + 16384]) for i in range(0, len(wire), 16384)],
    "iter_decode": lambda decoder, wire: [len(piece) for piece in decoder.iter_decode(wire)],
}


def assert_bomb_stops(coding: str, wire: bytes) -> None:
    for name, feed in FEEDS.items():
        decoder = new_decoder(coding, max_size=MiB)
        error, peak, took = measure(lambda decoder=decoder, feed=feed: feed(decoder, wire))
        assert error is not None, f"{name}: 1 GiB decoded with max_size=1 MiB"
        assert str(error) == f"{ORIGIN}: the body decodes to more than max_body_size={MiB} bytes ({coding})"
        assert took < 1.0, f"{name}: {took:.2f} s"
        assert peak < 4 * MiB, f"{name}: {peak / MiB:.1f} MiB"


@pytest.mark.parametrize("coding", ["gzip", "gzip, gzip"])
def test_a_gzip_bomb_stops_at_max_size_in_bounded_memory(
    gzip_codec: Codec, bombs: dict[str, bytes], coding: str
) -> None:
    assert_bomb_stops(coding, bombs[coding])


def test_a_br_bomb_stops_at_max_size_in_bounded_memory(br_codec: Codec, bombs: dict[str, bytes]) -> None:
    assert_bomb_stops("br", bombs["br"])


def test_a_zstd_bomb_stops_at_max_size_in_bounded_memory(zstd_codec: Codec, bombs: dict[str, bytes]) -> None:
    assert_bomb_stops("zstd", bombs["zstd"])


@pytest.mark.parametrize("name", list(_brotlis()) or [pytest.param("", marks=pytest.mark.skip("no brotli 1.2+"))])
def test_brotli_is_asked_for_at_most_64_kib_a_call(name: str, bombs: dict[str, bytes]) -> None:
    # tracemalloc cannot see it: brotli's own buffers pass a limit by up to
    # their last block, and brotlicffi allocates the whole limit up front
    module = _brotlis()[name]
    limits = []

    class Spy:
        def __init__(self) -> None:
            self._decompressor = module.Decompressor()

        def process(self, data: bytes, **options: int) -> bytes:
            limits.append(options.get("output_buffer_limit"))
            out: bytes = self._decompressor.process(data, **options)
            return out

        def __getattr__(self, name: str) -> object:
            return getattr(self._decompressor, name)

    spied = ModuleType("spied")
    spied.error = module.error  # type: ignore[attr-defined]
    spied.Decompressor = Spy  # type: ignore[attr-defined]
    decoder = decoding.Decoder([decoding._Brotli(spied)], ORIGIN, 10 * MiB, "br")
    with pytest.raises(DecodingError, match="more than max_body_size"):
        decoder.decode(bombs["br"])
    assert len(limits) > 100
    assert all(limit is not None and 0 < limit <= 65536 for limit in limits)


def assert_streams_in_bounded_memory(coding: str, wire: bytes, size: int) -> None:
    decoder = new_decoder(coding)
    piece = 65536
    total = 0
    longest = 0

    def run() -> None:
        nonlocal total, longest
        for part in iter_in_chunks(decoder, wire, 1 << 18, piece):
            total += len(part)
            longest = max(longest, len(part))
            assert part.count(0) == len(part)

    error, peak, _ = measure(run)
    assert error is None
    assert total == size
    assert longest == piece
    assert peak < 4 * MiB, f"{peak / MiB:.1f} MiB"


def test_a_large_gzip_body_streams_in_bounded_memory(gzip_codec: Codec) -> None:
    assert_streams_in_bounded_memory("gzip", gzip_of_zeros(200), 200 * MiB)


def test_a_large_br_body_streams_in_bounded_memory(br_codec: Codec) -> None:
    assert_streams_in_bounded_memory("br", br_of_zeros(200), 200 * MiB)


def test_a_large_zstd_body_streams_in_bounded_memory(zstd_codec: Codec) -> None:
    assert_streams_in_bounded_memory("zstd", zstd_of_zeros(200), 200 * MiB)


def test_iter_decode_rejects_a_piece_size_below_one() -> None:
    with pytest.raises(ValueError, match="piece must be at least 1"):
        new_decoder("gzip").iter_decode(b"", 0)
