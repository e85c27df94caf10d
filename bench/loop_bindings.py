"""How an HTTP client can meet an asyncio loop, measured without a client.

    python bench/loop_bindings.py [-c 64] [-n 20000] [--uvloop]

Each binding keeps c keep-alive connections to nginx busy with GET /small
(13 bytes) until n responses came back, with the same minimal framing (the
head up to CRLFCRLF, then Content-Length bytes), in plain Python, so that the
only difference is how the loop learns a socket is ready:

  per-socket   loop.add_reader(fd) for each wait, remove_reader when it fires
               (readiness callbacks per socket: a loop handle and two
               epoll_ctl calls per wait; uvloop adds a uv_poll handle)
  epoll-set    every socket registered once in our own epoll set, whose fd
               is watched with one add_reader; one epoll_wait(0) per wake-up
               serves every ready socket (httpool._async's design)
  protocol     loop.create_connection with an asyncio.Protocol: the loop
               owns the socket and hands each read over as a new bytes object

It prints requests/s and this process's CPU time per request. The README's
asyncio section quotes a run.
"""

from __future__ import annotations

import argparse
import asyncio
import select
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.nginx import NginxServer, find_nginx

REQUEST = b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n"


def complete(buf: bytearray) -> bool:
    end = buf.find(b"\r\n\r\n")
    return end >= 0 and len(buf) >= end + 4 + 13


def take_request(left: list[int], done: asyncio.Future[None]) -> bool:
    """Count one more request against the n to send; False (and `done` set)
    when all n have been sent."""
    if left[0] <= 0:
        if not done.done():
            done.set_result(None)
        return False
    left[0] -= 1
    return True


async def per_socket(address: tuple[str, int], c: int, n: int) -> None:
    loop = asyncio.get_running_loop()
    left = [n]
    done = loop.create_future()

    def start(sock: socket.socket, buf: bytearray) -> None:
        if not take_request(left, done):
            return
        sock.send(REQUEST)
        loop.add_reader(sock.fileno(), readable, sock, buf)

    def readable(sock: socket.socket, buf: bytearray) -> None:
        loop.remove_reader(sock.fileno())
        buf += sock.recv(65536)
        if complete(buf):
            buf.clear()
            start(sock, buf)
        else:
            loop.add_reader(sock.fileno(), readable, sock, buf)

    socks = [socket.create_connection(address) for _ in range(c)]
    for sock in socks:
        sock.setblocking(False)
        start(sock, bytearray())
    await done
    for sock in socks:
        loop.remove_reader(sock.fileno())
        sock.close()


async def epoll_set(address: tuple[str, int], c: int, n: int) -> None:
    loop = asyncio.get_running_loop()
    ep = select.epoll()
    left = [n]
    done = loop.create_future()
    conns: dict[int, tuple[socket.socket, bytearray]] = {}

    def start(sock: socket.socket) -> None:
        if not take_request(left, done):
            return
        sock.send(REQUEST)

    def ready() -> None:
        for fd, _ in ep.poll(0):
            sock, buf = conns[fd]
            buf += sock.recv(65536)
            if complete(buf):
                buf.clear()
                start(sock)

    socks = [socket.create_connection(address) for _ in range(c)]
    for sock in socks:
        sock.setblocking(False)
        conns[sock.fileno()] = (sock, bytearray())
        ep.register(sock.fileno(), select.EPOLLIN)
    loop.add_reader(ep.fileno(), ready)
    for sock in socks:
        start(sock)
    await done
    loop.remove_reader(ep.fileno())
    ep.close()
    for sock in socks:
        sock.close()


async def protocol(address: tuple[str, int], c: int, n: int) -> None:
    loop = asyncio.get_running_loop()
    left = [n]
    done = loop.create_future()

    class Client(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buf = bytearray()

        def start(self) -> None:
            if not take_request(left, done):
                return
            self.transport.write(REQUEST)   # type: ignore[attr-defined]

        def data_received(self, data: bytes) -> None:
            self.buf += data
            if complete(self.buf):
                self.buf.clear()
                self.start()

    clients = []
    for _ in range(c):
        _, client = await loop.create_connection(Client, *address)
        clients.append(client)
    for client in clients:
        client.start()
    await done
    for client in clients:
        client.transport.close()


BINDINGS = {"per-socket": per_socket, "epoll-set": epoll_set, "protocol": protocol}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-c", type=int, default=64)
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--uvloop", action="store_true")
    args = ap.parse_args()
    if args.uvloop:
        import uvloop
        run = uvloop.run
    else:
        run = asyncio.run
    with NginxServer(tempfile.mkdtemp(), binary=find_nginx()) as server:
        for name, binding in BINDINGS.items():
            run(binding(server.address, args.c, 2000))   # warm-up
            started, cpu = time.perf_counter(), time.process_time()
            run(binding(server.address, args.c, args.n))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"{name:11} {'uvloop' if args.uvloop else 'asyncio':8} c={args.c}: "
                  f"{args.n / elapsed:9,.0f} requests/s, {cpu / args.n * 1e6:5.1f} us CPU per request")


if __name__ == "__main__":
    main()
