"""data= and files= through the pool: forms urlencoded and multipart,
checked by the server's own echo (httpbin under gunicorn), through every
API; a file streamed from disk with bounded memory."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import tracemalloc

import pytest

import httpool

from support.accounting import assert_consistent
from support.apis import APIS, call
from support.servers import ScriptedServer, respond


@pytest.mark.parametrize("api", APIS)
def test_a_form_is_urlencoded(httpbin, api, no_socket_leak):
    with httpool.Pool() as pool:
        doc = call(pool, api, "POST", f"{httpbin}/post",
                   data={"name": "Zoë & co", "tags": ["a", "b"], "n": 3}).json()
        assert doc["form"] == {"name": "Zoë & co", "tags": ["a", "b"], "n": "3"}
        assert doc["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        doc = call(pool, api, "PUT", f"{httpbin}/put", data=[("k", "1"), ("k", "2")]).json()
        assert doc["form"] == {"k": ["1", "2"]}
        doc = call(pool, api, "POST", f"{httpbin}/post", data=b"raw bytes",
                   headers={"Content-Type": "text/plain"}).json()
        assert doc["data"] == "raw bytes"
        assert_consistent(pool)


@pytest.mark.parametrize("api", APIS)
def test_files_and_fields_are_multipart(httpbin, api, tmp_path, no_socket_leak):
    path = tmp_path / "report.csv"
    path.write_text("a,b\n1,2\n")
    with httpool.Pool() as pool, open(path, "rb") as report:
        doc = call(pool, api, "POST", f"{httpbin}/post", data={"title": "Q3"},
                   files={"report": report,
                          "note": ("note.txt", b"hello", "text/plain"),
                          "blob": io.BytesIO(b"\x00\x01")}).json()
        assert doc["form"] == {"title": "Q3"}
        assert doc["files"] == {"report": "a,b\n1,2\n", "note": "hello",
                                "blob": "\x00\x01"}
        assert doc["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
        assert int(doc["headers"]["Content-Length"]) > 0   # every size known: not chunked


def test_field_and_file_names_are_escaped_as_browsers_do(httpbin, no_socket_leak):
    with httpool.Pool() as pool:
        doc = pool.post(f"{httpbin}/post",
                        files={'we"ird': ('na"me\r\n.txt', b"x")}).json()
        # Sent as we%22ird (tests/test_forms.py checks the bytes); werkzeug
        # reads it back as a browser's server does.
        assert doc["files"] == {'we"ird': "x"}


def test_a_large_file_is_streamed_from_disk_with_bounded_memory(tmp_path, no_socket_leak):
    size = 64 * 1024 * 1024
    path = tmp_path / "large.bin"
    with open(path, "wb") as large:
        for block in range(size // (1024 * 1024)):
            large.write(bytes([block]) * (1024 * 1024))
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    received = {}
    done = threading.Event()

    def upload_sink(conn):
        while (request := conn.read_request(body=False)) is not None:
            received["length"] = request.header("content-length")
            received["size"], received["sha256"] = conn.hash_body(request)
            respond(conn, request, b"stored")
            done.set()

    with ScriptedServer(upload_sink) as server, httpool.Pool() as pool:
        for how in ("body", "files"):
            done.clear()
            with open(path, "rb") as upload:
                tracemalloc.start()
                try:
                    if how == "body":
                        response = pool.put(server.url + "/upload", body=upload)
                    else:
                        response = pool.post(server.url + "/upload", files={"f": upload})
                    peak = tracemalloc.get_traced_memory()[1]
                finally:
                    tracemalloc.stop()
            assert response.content == b"stored" and done.wait(5)
            assert peak < 4 * 1024 * 1024, f"{how}: {peak} bytes at the peak"
            if how == "body":
                assert (received["length"], received["sha256"]) == (str(size), expected)
            else:
                assert int(received["length"]) == received["size"] > size


def test_a_pipe_is_sent_chunked(httpbin, no_socket_leak):
    read_end, write_end = os.pipe()
    os.write(write_end, b"from a pipe")
    os.close(write_end)
    with httpool.Pool() as pool, open(read_end, "rb") as stream:
        doc = pool.post(f"{httpbin}/post", files={"f": ("p.txt", stream)}).json()
        assert doc["files"] == {"f": "from a pipe"}
        assert doc["headers"].get("Transfer-Encoding") == "chunked" or "Content-Length" not in doc[
            "headers"]


def test_bad_form_arguments_raise_before_any_io():
    with httpool.Pool() as pool:
        with pytest.raises(ValueError, match="not several"):
            pool.post("http://127.0.0.1:1/", json={}, data={"a": "b"})
        with pytest.raises(ValueError, match="body= or files="):
            pool.post("http://127.0.0.1:1/", body=b"x", files={"f": b"y"})
        with pytest.raises(TypeError):
            pool.post("http://127.0.0.1:1/", data={"a": object()})
        assert pool.stats().opened == 0
