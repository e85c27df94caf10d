"""Shared fixtures: nginx instances and the socket-leak check.

Nothing here runs for a test that does not ask for it: nginx starts only when
a test requests ``nginx`` or ``nginx_short_keepalive`` (once per session), and
without nginx those tests are skipped, not failed; httpbin likewise starts for
the first test that asks for ``httpbin``.  Raw-socket servers need no
fixture: ``with ScriptedServer(handler) as server:`` (see support/servers.py).

pyproject.toml sets ``filterwarnings = ["error"]``, so a socket left for the
garbage collector (ResourceWarning) fails the test that leaked it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.httpbin import running_httpbin
from support.nginx import NginxServer, find_nginx
from support.proxies import running_proxy
from support.servers import assert_no_socket_leak
from support.tls import Certificates


def _run_nginx(
    factory: pytest.TempPathFactory, name: str, **options: object
) -> Iterator[NginxServer]:
    binary = find_nginx()
    if binary is None:
        pytest.skip("nginx is not installed (looked at $HTTPOOL_NGINX, PATH, /usr/sbin/nginx)")
    with NginxServer(factory.mktemp(name), binary=binary, **options) as server:
        yield server


@pytest.fixture(scope="session")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """nginx with generous keep-alive (75 s, 1000 requests per connection)."""
    yield from _run_nginx(tmp_path_factory, "nginx")


@pytest.fixture(scope="session")
def nginx_short_keepalive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """nginx that closes connections idle for 1 s (and says so with
    ``Keep-Alive: timeout=1``) and ends each connection after 3 requests."""
    yield from _run_nginx(
        tmp_path_factory, "nginx-short", keepalive_timeout="1s 1s", keepalive_requests=3
    )


@pytest.fixture(scope="session")
def httpbin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of httpbin under gunicorn (support/httpbin.py)."""
    with running_httpbin(tmp_path_factory.mktemp("httpbin") / "gunicorn.log") as url:
        yield url


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """trustme certificates (support/tls.py): a CA the tests trust, and server contexts."""
    return Certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of proxy.py, an HTTP and CONNECT proxy (support/proxies.py)."""
    with running_proxy(tmp_path_factory.mktemp("proxy")) as url:
        yield url


@pytest.fixture
def no_socket_leak() -> Iterator[None]:
    """Fail the test if it ends with more open sockets than it started with.

    Request it *first* so that it is torn down last, after other fixtures
    have closed their sockets.
    """
    with assert_no_socket_leak():
        yield
