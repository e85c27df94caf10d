"""Content-Encoding through the pool: every coding decoded through every API,
stacked codings, corrupt streams, decompression bombs stopped at
max_body_size with bounded memory, iter_raw's wire bytes, reuse decided by
the wire framing alone; against the project's servers and httpbin. (The
decoders themselves: tests/test_decoding.py.)"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib

import brotli
import pytest
import zstandard

import httpool
from httpool.policies.decoding import ACCEPT_ENCODING

from support.accounting import assert_consistent
from support.apis import APIS, call, expect
from support.servers import ScriptedServer, encode_chunked, routes

DOCUMENT = json.dumps({"items": [{"id": n, "name": f"item {n}"} for n in range(2000)]}).encode()


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


ENCODED = {
    "gzip": gzip.compress(DOCUMENT),
    "x-gzip": gzip.compress(DOCUMENT),
    "deflate": zlib.compress(DOCUMENT),
    "deflate-raw": raw_deflate(DOCUMENT),
    "br": brotli.compress(DOCUMENT),
    "zstd": zstandard.ZstdCompressor().compress(DOCUMENT),
    "gzip, br": brotli.compress(gzip.compress(DOCUMENT)),
    "deflate, gzip": gzip.compress(zlib.compress(DOCUMENT)),
}


def encoded_route(coding: str, body: bytes, *, chunked: bool = False):
    header = "deflate" if coding == "deflate-raw" else coding
    headers = {"Content-Encoding": header, "Content-Type": "application/json"}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        body = encode_chunked(body, 3000)
    return lambda request: (200, body, headers)


def test_accept_encoding_lists_what_can_be_decoded(httpbin, no_socket_leak):
    assert ACCEPT_ENCODING == "gzip, deflate, br, zstd"   # the test extra installs brotli and zstandard
    with httpool.Pool() as pool:
        assert pool.get(f"{httpbin}/headers").json()["headers"]["Accept-Encoding"] == ACCEPT_ENCODING
        sent = pool.get(f"{httpbin}/headers", headers={"Accept-Encoding": "identity"}).json()
        assert sent["headers"]["Accept-Encoding"] == "identity"


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("coding", sorted(ENCODED))
def test_each_coding_is_decoded(api, coding, no_socket_leak):
    with ScriptedServer(routes({"/doc": encoded_route(coding, ENCODED[coding])})) as server:
        with httpool.Pool() as pool:
            response = call(pool, api, "GET", server.url + "/doc")
            assert response.content == DOCUMENT
            assert response.json()["items"][1999]["id"] == 1999
            assert response.text == DOCUMENT.decode()
            response = call(pool, api, "GET", server.url + "/doc")   # the same connection again
            assert response.content == DOCUMENT
            assert assert_consistent(pool).opened == 1


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd", "gzip, br"])
def test_iter_bytes_decodes_and_iter_raw_gives_the_wire_bytes(coding, no_socket_leak):
    wire = ENCODED[coding]
    with ScriptedServer(routes({"/doc": encoded_route(coding, wire, chunked=True)})) as server:
        with httpool.Pool() as pool:
            with pool.stream("GET", server.url + "/doc") as response:
                pieces = list(response.iter_bytes(1000))
            assert b"".join(pieces) == DOCUMENT and max(map(len, pieces)) <= 1000
            with pool.stream("GET", server.url + "/doc") as response:
                assert b"".join(response.iter_raw()) == wire
            read = pool.get(server.url + "/doc")   # read whole first: both views still work
            assert b"".join(read.iter_raw(4096)) == wire
            assert b"".join(read.iter_bytes(4096)) == DOCUMENT
            assert assert_consistent(pool).opened == 1


def test_an_unknown_coding_is_passed_through(no_socket_leak):
    with ScriptedServer(routes({"/doc": encoded_route("compress", b"\x1f\x9dLZW")})) as server:
        with httpool.Pool() as pool:
            response = pool.get(server.url + "/doc")
            assert response.content == b"\x1f\x9dLZW"
            assert response.headers["content-encoding"] == "compress"


@pytest.mark.parametrize("api", APIS)
def test_a_corrupt_stream_is_a_decoding_error_and_the_connection_is_reused(api, no_socket_leak):
    corrupt = bytearray(ENCODED["gzip"])
    corrupt[40:60] = b"\xff" * 20
    truncated = ENCODED["gzip"][:-100]
    with ScriptedServer(routes({"/corrupt": encoded_route("gzip", bytes(corrupt)),
                                "/truncated": encoded_route("gzip", truncated)})) as server:
        with httpool.Pool() as pool:
            error = expect(call(pool, api, "GET", server.url + "/corrupt"), httpool.DecodingError,
                           rf"^http://127\.0\.0\.1:{server.port}: the gzip body is corrupt")
            assert isinstance(error, httpool.RemoteProtocolError)
            expect(call(pool, api, "GET", server.url + "/truncated"), httpool.DecodingError,
                   "gzip body ended before its end")
            # The framing was sound, so the connection carried on.
            assert call(pool, api, "GET", server.url + "/echo").status_code == 200
            stats = assert_consistent(pool)
            assert (stats.opened, stats.in_use) == (1, 0)


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """64 MiB of zeros in each coding: well under 100 KiB on the wire."""
    zeros = b"\0" * (64 * 1024 * 1024)
    return {"gzip": gzip.compress(zeros, compresslevel=1),
            "br": brotli.compress(zeros, quality=1),
            "zstd": zstandard.ZstdCompressor(level=1).compress(zeros)}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_decompression_bomb_stops_at_max_body_size(api, coding, bombs, no_socket_leak):
    bomb = bombs[coding]
    assert len(bomb) < 512 * 1024
    with ScriptedServer(routes({"/bomb": encoded_route(coding, bomb)})) as server:
        with httpool.Pool(max_body_size=1024 * 1024) as pool:
            tracemalloc.start()
            try:
                result = call(pool, api, "GET", server.url + "/bomb")
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            expect(result, httpool.DecodingError, "decodes to more than max_body_size=1048576 bytes")
            assert peak < 8 * 1024 * 1024, peak
            assert_consistent(pool)


def test_a_large_gzip_body_streams_with_bounded_memory(bombs, no_socket_leak):
    size = 64 * 1024 * 1024
    wire = bombs["gzip"]
    with ScriptedServer(routes({"/big": encoded_route("gzip", wire)})) as server:
        with httpool.Pool() as pool:
            tracemalloc.start()
            try:
                with pool.stream("GET", server.url + "/big") as response:
                    total = sum(len(piece) for piece in response.iter_bytes())
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert total == size
            assert peak < 4 * 1024 * 1024, peak


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("path", ["gzip", "deflate", "brotli"])
def test_httpbin_encoded_responses(httpbin, api, path, no_socket_leak):
    with httpool.Pool() as pool:
        doc = call(pool, api, "GET", f"{httpbin}/{path}").json()
        assert doc[{"gzip": "gzipped", "deflate": "deflated", "brotli": "brotli"}[path]] is True
        assert_consistent(pool)
