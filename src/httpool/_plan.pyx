# cython: language_level=3
"""Requests checked and encoded once: their Plans.

A Plan holds everything about a request that does not depend on time or on
connections: the origin's slots, the head as bytes (header names and values
checked for CR, LF and NUL here, so nothing can be injected), and the body
framed (Content-Length for bytes, str and regular files; chunked for other
iterables, RFC 9112 section 7.1). The Planner caches the plans of requests
with no options, and the parsed URLs, so the common request costs two dict
lookups.
"""

import base64
import functools
import io
import json as jsonlib
import os
import stat
import urllib.parse
from collections.abc import Iterable

from httpool._conn import build_request_head
from httpool._models import Headers
from httpool.routes.tunnels import HttpConnect, Socks5
from httpool.policies.forms import Multipart, encode_form

from httpool._idle cimport OriginSlots, PoolCore

_REPLAYABLE = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# Methods whose requests carry a body by definition: send Content-Length: 0 when empty.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_FRAMING = frozenset({"content-length", "transfer-encoding"})
# A file body is read in blocks of this size.
_FILE_BLOCK = 65536

cdef enum:
    CACHE_SIZE = 512

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PROXY_PORTS = {"http": 80, "socks5": 1080, "socks5h": 1080}


class _Target:
    """Where a URL points, parsed once and cached."""

    __slots__ = ("scheme", "key", "origin", "host", "port", "path", "host_header", "credentials")

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be a str, not {type(url).__name__}")
        # urlsplit silently drops CR, LF and TAB: refuse them (and all other
        # controls and spaces, which must be percent-encoded) instead.
        if any(ch <= " " or ch == "\x7f" for ch in url):
            raise ValueError(f"URL {url!r} contains a space or control character")
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        default_port = _DEFAULT_PORTS.get(scheme)
        if default_port is None:
            raise ValueError(f"unsupported or missing scheme in {url!r}: "
                             "expected http://host[:port]/path or https://...")
        host = parts.hostname
        if not host:
            raise ValueError(f"no host in {url!r}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"invalid port in {url!r}") from None
        if port is None:
            port = default_port
        elif port == 0:
            raise ValueError(f"port 0 in {url!r}: there is nothing to connect to")
        # user:password@ becomes Basic auth (httpool.policies.flow), never part of the request.
        self.credentials = None
        if parts.username is not None or parts.password is not None:
            self.credentials = (urllib.parse.unquote(parts.username or ""),
                                urllib.parse.unquote(parts.password or ""))
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
        self.host = host
        self.port = port
        self.scheme = scheme
        # The scheme is part of the key: http://h:443 and https://h:443 never share a connection.
        self.key = (scheme, host, port)
        bracketed = f"[{host}]" if ":" in host else host
        self.host_header = bracketed if port == default_port else f"{bracketed}:{port}"
        self.origin = f"{scheme}://{bracketed}:{port}"
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")



class _Proxy:
    """A proxy from the pool's proxy= option, parsed once: an HTTP proxy
    (http://), or a SOCKS5 one (socks5://: the client resolves the URL's host;
    socks5h://: the proxy does)."""

    __slots__ = ("scheme", "url", "host", "port", "authorization", "credentials", "key")

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise TypeError(f"a proxy must be a str URL, not {type(url).__name__}")
        scheme, sep, rest = url.partition("://")
        scheme = scheme.lower()
        if not sep or scheme not in _PROXY_PORTS:
            raise ValueError(f"proxy {url!r}: only http://, socks5:// and socks5h:// proxies are "
                             "supported (an http:// proxy carries https:// requests in CONNECT tunnels)")
        # Parsed as an http:// URL, with the scheme's own default port.
        target = _Target("http://" + rest)
        if target.path != "/":
            raise ValueError(f"proxy {url!r}: a proxy URL has no path or query")
        self.scheme = scheme
        self.host = target.host
        self.port = target.port
        if urllib.parse.urlsplit("http://" + rest).port is None:
            self.port = _PROXY_PORTS[scheme]
        bracketed = f"[{self.host}]" if ":" in self.host else self.host
        # The proxy's name in messages: its URL without the credentials.
        self.url = f"{scheme}://{bracketed}:{self.port}"
        # user:password@: Proxy-Authorization (Basic, RFC 9110 section 11.7.1)
        # for an HTTP proxy, RFC 1929's username and password for SOCKS5.
        self.authorization = None
        self.credentials = None
        if target.credentials is not None:
            userpass = ":".join(target.credentials).encode()
            self.authorization = "Basic " + base64.b64encode(userpass).decode("ascii")
            if scheme != "http":
                user, password = (part.encode() for part in target.credentials)
                if not 1 <= len(user) <= 255 or len(password) > 255:
                    raise ValueError(f"proxy {self.url}: a SOCKS5 username is 1 to 255 bytes, "
                                     "a password at most 255 (RFC 1929)")
                self.credentials = (user, password)
        # Part of the keys of the origins it carries: one proxy's connections
        # are never another's, nor a direct connection's.
        self.key = ("proxy", scheme, self.host, self.port, self.authorization)

    def tunnel(self, target):
        """What opens a tunnel to target through this proxy (httpool.routes.tunnels):
        a CONNECT request (RFC 9110 section 9.3.6), or a SOCKS5 CONNECT."""
        if self.scheme != "http":
            return Socks5(target.host, target.port, self.scheme == "socks5h", self.credentials)
        bracketed = f"[{target.host}]" if ":" in target.host else target.host
        authority = f"{bracketed}:{target.port}"
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if self.authorization is not None:
            lines.append(f"Proxy-Authorization: {self.authorization}")
        return HttpConnect(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))


def asks_close(headers) -> bool:
    """Whether the request says `Connection: close` (RFC 9112 section 9.6)."""
    return any(n.lower() == "connection" and "close" in v.lower() for n, v in headers)


def _file_length(body) -> int:
    """The bytes left in a regular file from its position, or -1 (a pipe, a
    socket, or a file object without a descriptor: sent chunked)."""
    try:
        info = os.fstat(body.fileno())
        if not stat.S_ISREG(info.st_mode):
            return -1
        return max(0, info.st_size - body.tell())
    except (AttributeError, OSError, ValueError):
        return -1


def _encode_body(body, json, data, files):
    """(body, Content-Type or None) from body=, json=, data= and files=:
    json and a data mapping become bytes, files a streamed Multipart."""
    if json is not None:
        if body is not None or data is not None or files is not None:
            raise ValueError("pass one of body=, json=, data= and files=, not several")
        return jsonlib.dumps(json, separators=(",", ":")).encode(), "application/json"
    if files is not None:
        if body is not None:
            raise ValueError("pass either body= or files= (with data= for the other fields), not both")
        multipart = Multipart(data, files)
        return multipart, multipart.content_type
    if data is None:
        return body, None
    if body is not None:
        raise ValueError("pass either body= or data=, not both")
    if isinstance(data, (str, bytes, bytearray, memoryview)):
        return data, None    # raw content, as requests sends it
    return encode_form(data), "application/x-www-form-urlencoded"


def _rewinder(body):
    """The Plan.rewind of a file body: seek back to where it is now."""
    try:
        start = body.tell()
        if body.seekable():
            return functools.partial(_seek_to, body, start)
    except (AttributeError, OSError, ValueError):
        pass
    return _cannot_rewind


def _seek_to(body, Py_ssize_t position):
    body.seek(position, io.SEEK_SET)
    return True


def _cannot_rewind():
    return False


cdef class Plan:
    def __init__(self, str method, str url, str path, object target, OriginSlots slots,
                 bytes head, object body, object chunks, bint chunked, Py_ssize_t length,
                 object rewind, bint client_close, bint replayable, tuple args=None,
                 object proxy=None, object tunnel=None):
        self.method = method
        self.url = url
        self.path = path
        self.target = target
        self.slots = slots
        self.head = head
        self.body = body
        self.chunks = chunks
        self.chunked = chunked
        self.length = length
        self.rewind = rewind
        self.args = args
        self.has_credentials = target.credentials is not None
        self.client_close = client_close
        self.replayable = replayable
        self.head_request = method == "HEAD"
        self.proxy = proxy
        self.tunnel = tunnel


cdef class Planner:
    def __init__(self, PoolCore core, list headers, str uds=None, object routes=None):
        self.core = core
        self.routes = routes
        self.via = "" if uds is None else f" (via {uds})"
        self.headers = headers
        self.default_close = asks_close(headers)
        # The default header lines as bytes, checked once for CR, LF and NUL by
        # build_request_head: its head minus the request line and final CRLF.
        self.fixed_tail = build_request_head("GET", "/", b"", headers).split(b"\r\n", 1)[1][:-2]
        self.targets = {}
        self.fixed = {}
        self.plans = {}

    cpdef Plan plan(self, str method, str url, object headers, object body, object params,
                    object json, object data=None, object files=None):
        """The request's Plan: from the cache when it has no options."""
        cdef Plan plan
        cdef dict by_url
        if (headers is None and body is None and params is None and json is None
                and data is None and files is None):
            by_url = self.plans.get(method)
            if by_url is None:
                by_url = self.plans[method] = {}
            plan = by_url.get(url)
            if plan is None:
                plan = self._plan(method, url, None, None, None, None, None, None)
                if len(by_url) >= CACHE_SIZE:
                    by_url.clear()
                by_url[url] = plan
            return plan
        return self._plan(method, url, headers, body, params, json, data, files)

    def _target(self, url, params):
        """The parsed URL, the request target, and the URL with params."""
        target = self.targets.get(url)
        if target is None:
            target = _Target(url)
            if len(self.targets) >= CACHE_SIZE:
                self.targets.clear()
            self.targets[url] = target
        if not params:
            return target, target.path, url
        query = urllib.parse.urlencode(params, doseq=True)
        base, hash_, fragment = url.partition("#")
        url = f"{base}{'&' if '?' in base else '?'}{query}{hash_}{fragment}"
        return target, f"{target.path}{'&' if '?' in target.path else '?'}{query}", url

    def _head(self, str method, target, str path, extra, list framing, str proxy_auth):
        """The request head and whether it asks to close the connection.
        extra: the request's own header pairs, or None. proxy_auth: the
        Proxy-Authorization of a request forwarded by a proxy, or None."""
        if extra is None:
            fixed = self.fixed.get((target.host_header, proxy_auth))
            if fixed is None:
                fixed = b"Host: " + target.host_header.encode() + b"\r\n"
                if proxy_auth is not None:
                    fixed += b"Proxy-Authorization: " + proxy_auth.encode() + b"\r\n"
                fixed += self.fixed_tail
                self.fixed[(target.host_header, proxy_auth)] = fixed
            return build_request_head(method, path, fixed, framing), self.default_close
        names = {name.lower() for name, _ in extra}
        if names & _FRAMING:
            raise ValueError("Content-Length and Transfer-Encoding are set by httpool from the body")
        merged = [("Host", target.host_header)] if "host" not in names else []
        if proxy_auth is not None and "proxy-authorization" not in names:
            merged.append(("Proxy-Authorization", proxy_auth))
        merged += [(n, v) for n, v in self.headers if n.lower() not in names]
        merged += extra
        return build_request_head(method, path, b"", merged + framing), asks_close(merged)

    cdef Plan _plan(self, str method, str url, object headers, object body, object params,
                    object json, object data, object files):
        if not isinstance(method, str):
            raise TypeError(f"method must be a str, not {type(method).__name__}")
        method = method.upper()
        target, path, url = self._target(url, params)
        chunks = None
        chunked = False
        length = -1
        rewind = None
        # The request's own header pairs, normalised once (None: none given).
        extra = None if headers is None else Headers(headers).multi_items()
        framing = []
        body_arg = body
        body, content_type = _encode_body(body, json, data, files)
        if content_type is not None and (
                extra is None or all(name.lower() != "content-type" for name, _ in extra)):
            framing.append(("Content-Type", content_type))
        if body is None:
            if method in _BODY_METHODS:
                framing.append(("Content-Length", "0"))
        elif isinstance(body, str):
            body = body.encode()
            framing.append(("Content-Length", str(len(body))))
        elif isinstance(body, (bytes, bytearray, memoryview)):
            view = memoryview(body)
            if not view.c_contiguous:
                raise ValueError("a memoryview body must be C-contiguous")
            framing.append(("Content-Length", str(view.nbytes)))
        elif isinstance(body, Multipart):
            length, rewind = body.length, body.rewind
            chunks, body, chunked = iter(body), None, body.length < 0
        elif callable(getattr(body, "read", None)):
            length, rewind = _file_length(body), _rewinder(body)
            chunks, body = iter(functools.partial(body.read, _FILE_BLOCK), b""), None
            chunked = length < 0
        elif isinstance(body, Iterable):
            chunks, body, chunked, rewind = iter(body), None, True, _cannot_rewind
        else:
            raise TypeError(f"body must be bytes, str, a binary file or an iterable of bytes, "
                            f"not {type(body).__name__}")
        if chunks is not None:
            framing.append(("Transfer-Encoding", "chunked") if chunked
                           else ("Content-Length", str(length)))
        proxy = None if self.routes is None else self.routes.proxy_for(target)
        tunnel = None
        proxy_auth = None
        request_target = path
        if proxy is None:
            slots = self.core.slots(target.key, target.origin + self.via)
        else:
            # Pooled per proxy and origin, plain HTTP too: some proxies
            # (proxy.py) relay every later request on a connection to the
            # first request's origin.
            slots = self.core.slots(target.key + proxy.key, f"{target.origin} (via proxy {proxy.url})")
            if target.scheme == "https" or proxy.scheme != "http":
                # A tunnel (SOCKS5 carries plain HTTP in one too, sent as to the origin).
                tunnel = proxy.tunnel(target)
            else:
                # Forwarded by the proxy in absolute form (RFC 9112 section 3.2.2).
                request_target = f"http://{target.host_header}{path}"
                proxy_auth = proxy.authorization
        head, client_close = self._head(method, target, request_target, extra, framing, proxy_auth)
        replayable = chunks is None and (
            method in _REPLAYABLE
            or (extra is not None and any(name.lower() == "idempotency-key" for name, _ in extra)))
        args = (headers, body_arg, json, data, files)
        return Plan(method, url, path, target, slots, head, body, chunks, chunked, length, rewind,
                    client_close, replayable,
                    None if args == (None, None, None, None, None) else args, proxy, tunnel)
