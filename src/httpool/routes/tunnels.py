"""The tunnels a proxy opens before the transport's handshake, as sans-I/O
state machines: an HTTP CONNECT tunnel (RFC 9110 section 9.3.6) and a SOCKS5
CONNECT (RFC 1928, with RFC 1929's username/password).

A Plan holds a tunnel's description (HttpConnect, Socks5), built once per URL
and shared. Each new connection starts its own Negotiation from it
(``start``), and ``Connection.tunnel_step`` (httpool._conn) does the I/O: it
sends what ``begin`` and then each ``feed`` return, receives at most ``want``
bytes at a time and feeds them, and stops when ``want`` is 0 (the tunnel is
open). ``want`` never reaches past the end of the peer's message: what
follows it belongs to TLS or HTTP. The Connection turns a TunnelFailed into
a ProxyError (or a ConnectError, when the proxy is not at fault) that starts
with its origin, which names the proxy. This runs once per new connection, so
it is plain Python.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Protocol

from httpool._exceptions import RemoteProtocolError
from httpool._parser import ResponseParser

# The bytes of an HTTP proxy's answer head read at a time (as a response head:
# see Connection.recv_step).
_HEAD_READ = 16383


class TunnelFailed(Exception):
    """Why a tunnel could not be opened, without the origin (the Connection
    adds it). status_code: an HTTP proxy's answer to CONNECT. by_proxy: False
    when the proxy is not at fault (the client could not resolve the target):
    a ConnectError, not a ProxyError. refused: the proxy turned this
    client away (see ProxyError.refused)."""

    def __init__(self, why: str, status_code: int | None = None, by_proxy: bool = True,
                 refused: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.status_code = status_code
        self.by_proxy = by_proxy
        self.refused = refused


class Negotiation(Protocol):
    """One connection's way through a tunnel's opening, with no I/O."""

    # At most this many bytes may be received next (never past the end of
    # the peer's message); 0 once the tunnel is open.
    want: int

    def begin(self) -> bytes:
        """The bytes to send first."""

    def feed(self, data: bytes) -> bytes:
        """Take bytes received (at most `want`); return the bytes to send
        next (b"" for none). Raises TunnelFailed."""

    def eof(self) -> TunnelFailed:
        """The error for the peer closing the connection now."""


class Tunnel(Protocol):
    """What a Plan holds: a tunnel's description, shared by its connections."""

    # What a timeout names while it opens ("CONNECT tunnel", "SOCKS5 handshake").
    phase: str

    def start(self) -> Negotiation:
        """A new connection's negotiation. Raises TunnelFailed."""


# ------------------------------------------------------------ HTTP CONNECT


class HttpConnect:
    """A CONNECT tunnel through an HTTP proxy: the request, then a 2xx head."""

    __slots__ = ("request",)
    phase = "CONNECT tunnel"

    def __init__(self, request: bytes) -> None:
        self.request = request

    def start(self) -> Negotiation:
        return _HttpConnectNegotiation(self.request)


class _HttpConnectNegotiation:
    __slots__ = ("request", "parser", "want")

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.parser = ResponseParser()
        self.parser.start(True)   # head only: a 2xx to CONNECT has no body
        # A head's end is known only once read, so it is read in blocks; a
        # proxy sends nothing after it until the client speaks (TLS's hello).
        self.want = _HEAD_READ

    def begin(self) -> bytes:
        return self.request

    def feed(self, data: bytes) -> bytes:
        parser = self.parser
        try:
            parser.feed(data)
        except RemoteProtocolError as exc:
            raise TunnelFailed(f"the proxy's answer to CONNECT is not HTTP ({exc})") from None
        if not parser.headers_complete:
            return b""
        status = parser.status_code
        if not 200 <= status < 300:
            raise TunnelFailed(f"the proxy refused the CONNECT tunnel: {status} "
                               f"{parser.reason.decode('latin-1')}", status,
                               refused=status in (403, 407))
        if parser.tail:
            raise TunnelFailed(f"the proxy sent {len(parser.tail)} bytes after its answer to "
                               "CONNECT, before the client spoke")
        self.want = 0
        return b""

    def eof(self) -> TunnelFailed:
        return TunnelFailed("the proxy closed the connection without answering CONNECT")


# ------------------------------------------------------------------ SOCKS5

# RFC 1928 section 6: the REP field of a reply.
SOCKS5_REPLIES = {
    0x01: "general SOCKS server failure",
    0x02: "connection not allowed by ruleset",
    0x03: "network unreachable",
    0x04: "host unreachable",
    0x05: "connection refused",
    0x06: "TTL expired",
    0x07: "command not supported",
    0x08: "address type not supported",
}
_NO_AUTH = 0x00
_USER_PASS = 0x02
_NO_ACCEPTABLE = 0xFF
_NOT_ALLOWED = 0x02        # REP: connection not allowed by ruleset
_ATYP_IPV4 = 0x01
_ATYP_DOMAIN = 0x03
_ATYP_IPV6 = 0x04
# Bytes of a reply's BND.ADDR and BND.PORT after its first five bytes (VER,
# REP, RSV, ATYP and the address's first byte): by ATYP; a domain name's is
# its length byte, so its rest is that length plus the port.
_REPLY_REST = {_ATYP_IPV4: 4 - 1 + 2, _ATYP_IPV6: 16 - 1 + 2}

# The negotiation's steps: the answer each waits for.
_METHOD, _AUTH, _REPLY_HEAD, _REPLY_REST_, _OPEN = range(5)


def _hex(byte: int) -> str:
    return f"0x{byte:02x}"


class Socks5:
    """A SOCKS5 CONNECT to host:port. remote_dns (socks5h://): the proxy
    resolves host, sent as a domain name; else the client resolves it at each
    new connection and sends the address. An IP literal is sent as an address
    either way. credentials: RFC 1929's username and password (offered with
    "no authentication"), or None (only "no authentication" is offered)."""

    __slots__ = ("host", "port", "remote_dns", "credentials", "literal")
    phase = "SOCKS5 handshake"

    def __init__(self, host: str, port: int, remote_dns: bool,
                 credentials: tuple[bytes, bytes] | None) -> None:
        self.host = host
        self.port = port
        self.remote_dns = remote_dns
        self.credentials = credentials
        try:
            self.literal: bytes | None = _address(ipaddress.ip_address(host))
        except ValueError:
            self.literal = None
            if len(host) > 255:
                raise ValueError(f"host name {host[:40]!r}... is longer than the 255 bytes "
                                 "SOCKS5 can carry") from None

    def start(self) -> Negotiation:
        address = self.literal
        if address is None:
            if self.remote_dns:
                name = self.host.encode("ascii")
                address = bytes((_ATYP_DOMAIN, len(name))) + name
            else:
                address = self._resolve()
        return Socks5Negotiation(address + self.port.to_bytes(2, "big"), self.credentials,
                                 self._authority())

    def _resolve(self) -> bytes:
        """The target's first address (getaddrinfo's order), as DST.ADDR."""
        try:
            found = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise TunnelFailed(f"cannot resolve {self.host!r}: {exc.strerror}", by_proxy=False) from None
        return _address(ipaddress.ip_address(found[0][4][0]))

    def _authority(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    return bytes((_ATYP_IPV4 if ip.version == 4 else _ATYP_IPV6,)) + ip.packed


class Socks5Negotiation:
    """RFC 1928's client side, with RFC 1929: greeting -> method; (username
    and password -> status;) CONNECT -> reply. `address` is the CONNECT's
    ATYP, DST.ADDR and DST.PORT; `authority` names the target in messages."""

    __slots__ = ("address", "credentials", "authority", "step", "want", "buffer")

    def __init__(self, address: bytes, credentials: tuple[bytes, bytes] | None, authority: str) -> None:
        self.address = address
        self.credentials = credentials
        self.authority = authority
        self.step = _METHOD
        self.want = 2               # VER, METHOD
        self.buffer = b""

    def begin(self) -> bytes:
        methods = bytes((_NO_AUTH,)) if self.credentials is None else bytes((_NO_AUTH, _USER_PASS))
        return bytes((5, len(methods))) + methods

    def feed(self, data: bytes) -> bytes:
        self.buffer += data
        self.want -= len(data)
        self._check(self.buffer)
        if self.want > 0:
            return b""
        answer, self.buffer = self.buffer, b""
        if self.step == _METHOD:
            return self._method(answer[1])
        if self.step == _AUTH:
            return self._connect()
        if self.step == _REPLY_HEAD:
            atyp = answer[3]
            rest = answer[4] + 2 if atyp == _ATYP_DOMAIN else _REPLY_REST.get(atyp)
            if rest is None:
                raise TunnelFailed(f"the SOCKS5 proxy's reply has an unknown address type {_hex(atyp)}")
            self.step, self.want = _REPLY_REST_, rest
            return b""
        self.step = _OPEN
        return b""

    def _check(self, got: bytes) -> None:
        """Refuse a wrong answer as soon as its bytes are in: a version, a
        refusal, a rejection."""
        if self.step == _METHOD or self.step == _REPLY_HEAD:
            if got and got[0] != 5:
                what = "greeting" if self.step == _METHOD else "CONNECT"
                raise TunnelFailed(f"not a SOCKS5 proxy: its answer to the {what} starts with "
                                   f"{got[:8]!r}, not version 5")
            if self.step == _REPLY_HEAD and len(got) >= 2 and got[1] != 0:
                code = got[1]
                raise TunnelFailed(f"the SOCKS5 proxy could not connect to {self.authority}: "
                                   f"reply {_hex(code)}, {SOCKS5_REPLIES.get(code, 'an unassigned code')}",
                                   refused=code == _NOT_ALLOWED)
        elif self.step == _AUTH:
            if got and got[0] != 1:
                raise TunnelFailed(f"not a SOCKS5 username/password reply: it starts with {got[:8]!r}, "
                                   "not version 1")
            if len(got) >= 2 and got[1] != 0:
                raise TunnelFailed(f"the SOCKS5 proxy rejected the username and password "
                                   f"(status {_hex(got[1])})", refused=True)

    def _method(self, method: int) -> bytes:
        if method == _NO_ACCEPTABLE:
            offered = "no authentication" if self.credentials is None else \
                "no authentication, username/password"
            raise TunnelFailed(f"the SOCKS5 proxy accepts none of the authentication methods "
                               f"offered ({offered})", refused=True)
        if method == _NO_AUTH:
            return self._connect()
        if method == _USER_PASS and self.credentials is not None:
            user, password = self.credentials
            self.step, self.want = _AUTH, 2      # VER, STATUS
            return bytes((1, len(user))) + user + bytes((len(password),)) + password
        raise TunnelFailed(f"the SOCKS5 proxy chose the authentication method {_hex(method)}, "
                           "which was not offered")

    def _connect(self) -> bytes:
        # VER, REP, RSV, ATYP and BND.ADDR's first byte; the rest once ATYP is known.
        self.step, self.want = _REPLY_HEAD, 5
        return b"\x05\x01\x00" + self.address

    def eof(self) -> TunnelFailed:
        where = ("greeting", "username and password", "CONNECT", "CONNECT")[self.step]
        return TunnelFailed(f"the SOCKS5 proxy closed the connection during the negotiation "
                            f"(waiting for its answer to the {where}, {len(self.buffer)} bytes of it "
                            "received)")
