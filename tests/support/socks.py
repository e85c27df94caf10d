"""A SOCKS5 proxy of the project's own (RFC 1928, with RFC 1929's
username/password), for the socks5:// and socks5h:// tests.

``SocksServer`` is a ScriptedServer (127.0.0.1, a port the OS picks, a
thread per connection, stopped by the end of its ``with`` block or after
``lifetime`` seconds) whose handler speaks SOCKS5: the greeting, the
username/password sub-negotiation when ``credentials`` are set, then CONNECT.
A good CONNECT opens a TCP connection to the target and relays bytes both
ways until either side closes. Every CONNECT is recorded in ``asked`` (its
ATYP and the host as sent: an address, or a domain name), the methods each
greeting offered in ``offered``.

Misbehaviours on demand (one per server):

* ``reply=code``: refuse every CONNECT with that REP code;
* ``credentials=(user, password)``: require them; other ones are rejected
  (status 0x01), and a client offering no username/password gets 0xFF;
* ``method=m``: answer the greeting with method m whatever was offered
  (0xFF: no acceptable method);
* ``stall="greeting"`` or ``"connect"``: answer nothing from that point
  (until the server stops);
* ``garbage=True``: answer the greeting with an HTTP response;
* ``close="greeting"`` (close on reading the greeting, without a word) or
  ``"reply"`` (close after the first 3 bytes of a success reply);
* ``bound_atyp``: the address type of BND.ADDR in the reply (1, 3 or 4), so
  that each length of reply is sent;
* ``coalesce=True``: wait for the target's first bytes (a target that speaks
  first) and send them with the reply in one segment: a client that reads
  past the reply takes them for part of it.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass

from support.servers import HOST, ScriptedServer, ServerConn

# How long one step of the negotiation may take the client before the server gives up.
STEP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Asked:
    """One CONNECT as received."""

    atyp: int          # 1 IPv4, 3 a domain name, 4 IPv6
    host: str          # the address or the name, as sent
    port: int
    username: str | None


class SocksServer(ScriptedServer):
    def __init__(self, *, credentials: tuple[str, str] | None = None, reply: int = 0,
                 method: int | None = None, stall: str | None = None, garbage: bool = False,
                 close: str | None = None, bound_atyp: int = 1, coalesce: bool = False,
                 lifetime: float = 30.0) -> None:
        super().__init__(self._negotiate, lifetime=lifetime)
        self.credentials = credentials
        self.reply = reply
        self.method = method
        self.stall = stall
        self.garbage = garbage
        self.close_at = close
        self.bound_atyp = bound_atyp
        self.coalesce = coalesce
        self.asked: list[Asked] = []
        self.offered: list[bytes] = []
        self._record = threading.Lock()

    def proxy_url(self, scheme: str = "socks5", userinfo: str | None = None) -> str:
        """socks5://[userinfo@]127.0.0.1:port (or socks5h://...)."""
        return f"{scheme}://{userinfo + '@' if userinfo else ''}{HOST}:{self.port}"

    # -- the handler ---------------------------------------------------------

    def _negotiate(self, conn: ServerConn) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        if self.stall == "greeting":
            conn.stall(self.lifetime)
            return
        version, count = conn._read_exact(2, deadline)
        methods = conn._read_exact(count, deadline)
        with self._record:
            self.offered.append(methods)
        if version != 5 or self.close_at == "greeting":
            return   # closed by ScriptedServer._serve
        if self.garbage:
            conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        wanted = 0x02 if self.credentials is not None else 0x00
        chosen = self.method if self.method is not None else (wanted if wanted in methods else 0xFF)
        conn.send(bytes((5, chosen)))
        if chosen == 0xFF or chosen != wanted:
            return
        username = None
        if self.credentials is not None:
            _, length = conn._read_exact(2, deadline)
            username = conn._read_exact(length, deadline).decode()
            password = conn._read_exact(conn._read_exact(1, deadline)[0], deadline).decode()
            accepted = (username, password) == self.credentials
            conn.send(bytes((1, 0 if accepted else 1)))
            if not accepted:
                return
        _, command, _, atyp = conn._read_exact(4, deadline)
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, conn._read_exact(4, deadline))
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, conn._read_exact(16, deadline))
        else:
            host = conn._read_exact(conn._read_exact(1, deadline)[0], deadline).decode()
        port = int.from_bytes(conn._read_exact(2, deadline), "big")
        with self._record:
            self.asked.append(Asked(atyp, host, port, username))
        if self.stall == "connect":
            conn.stall(self.lifetime)
            return
        if self.reply:
            _refuse(conn, self.reply)
            return
        if command != 1:
            _refuse(conn, 7)   # command not supported
            return
        try:
            upstream = socket.create_connection((host, port), timeout=STEP_TIMEOUT)
        except OSError as exc:   # a name it cannot resolve: host unreachable
            _refuse(conn, 4 if isinstance(exc, socket.gaierror) else 5)
            return
        with upstream:
            reply = b"\x05\x00\x00" + self._bound(upstream)
            if self.close_at == "reply":
                conn.send(reply[:3])
                return
            if self.coalesce:
                reply += upstream.recv(65536)
            conn.send(reply)
            self._relay(conn, upstream)

    def _bound(self, upstream: socket.socket) -> bytes:
        """ATYP, BND.ADDR and BND.PORT of the reply, in the address type asked for."""
        address, port = upstream.getsockname()[:2]
        if self.bound_atyp == 3:
            name = b"socks.proxy.test"
            return bytes((3, len(name))) + name + port.to_bytes(2, "big")
        if self.bound_atyp == 4:
            return b"\x04" + socket.inet_pton(socket.AF_INET6, "::ffff:" + address) + port.to_bytes(2, "big")
        return b"\x01" + socket.inet_aton(address) + port.to_bytes(2, "big")

    def _relay(self, conn: ServerConn, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side closes (or the server stops:
        its stop shuts the client's socket down, which ends the poll)."""
        if conn._buf:   # the client's bytes already read past the CONNECT
            upstream.sendall(bytes(conn._buf))
            conn._buf.clear()
        client = conn.sock
        client.settimeout(STEP_TIMEOUT)
        upstream.settimeout(STEP_TIMEOUT)
        poller = select.poll()
        poller.register(client, select.POLLIN)
        poller.register(upstream, select.POLLIN)
        peer = {client.fileno(): upstream, upstream.fileno(): client}
        source = {client.fileno(): client, upstream.fileno(): upstream}
        while not self.stopping:
            for fd, _ in poller.poll():
                try:
                    data = source[fd].recv(65536)
                    if data:
                        peer[fd].sendall(data)
                except OSError:
                    return
                if not data:
                    return


def _refuse(conn: ServerConn, code: int) -> None:
    """A reply with REP `code` and a zero IPv4 BND.ADDR and BND.PORT."""
    conn.send(bytes((5, code, 0, 1)) + bytes(6))
