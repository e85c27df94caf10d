"""Which proxy a request goes through: the pool's proxy= option, or the
environment's HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY.

The rules are read once, when the pool is made, and a URL's route is looked
up when its Plan is made (plans are cached, so a request with a cached plan
pays nothing here). Keys are looked up most specific first, as requests
does: ``"https://host"``, ``"all://host"``, ``"https"``, ``"all"``.

The environment is parsed by the standard library (urllib.request's
getproxies_environment and proxy_bypass_environment): lowercase names win
over uppercase ones, HTTP_PROXY is ignored under CGI (REQUEST_METHOD set,
the "httpoxy" rule), and NO_PROXY lists host names, domain suffixes,
host:port pairs or ``*``. An explicit proxy= replaces the environment
entirely, NO_PROXY included, as in httpx.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from httpool._plan import _Proxy, _Target

logger = logging.getLogger("httpool")

_SCHEMES = ("http", "https", "all")
# What a proxy= value may be: one URL for every request, or a mapping.
ProxySource = str | Mapping[str, str | None] | None


class Routes:
    """A pool's proxy rules: key -> (_Proxy or None for "direct", where the
    rule came from), and the environment's bypass list when it has one."""

    __slots__ = ("rules", "environment", "chosen")

    def __init__(self, rules: dict[str, tuple[_Proxy | None, str]],
                 environment: dict[str, str] | None = None) -> None:
        self.rules = rules
        # getproxies_environment()'s mapping, for proxy_bypass_environment (NO_PROXY).
        self.environment = environment
        # origin key -> _Proxy or None, filled as URLs are planned.
        self.chosen: dict[tuple[str, str, int], _Proxy | None] = {}

    def proxy_for(self, target: _Target) -> _Proxy | None:
        """The proxy target's requests go through, or None (direct)."""
        try:
            return self.chosen[target.key]
        except KeyError:
            pass
        proxy = None
        source = "no rule"
        if self.environment is not None and _bypassed(target, self.environment):
            source = "NO_PROXY"
        else:
            for key in (f"{target.scheme}://{target.host}", f"all://{target.host}", target.scheme, "all"):
                if key in self.rules:
                    proxy, source = self.rules[key]
                    break
        if logger.isEnabledFor(logging.DEBUG):
            way = "directly" if proxy is None else f"via proxy {proxy.url}"
            logger.debug("httpool: requests to %s go %s (%s)", target.origin, way, source)
        self.chosen[target.key] = proxy
        return proxy


def _bypassed(target: _Target, environment: dict[str, str]) -> bool:
    import urllib.request
    # Public since Python 2, though typeshed does not declare it.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return bool(bypass(target.host_header, environment))


def _rule_key(key: object) -> str:
    """A proxy= mapping key, checked: a scheme, or scheme://host."""
    if not isinstance(key, str):
        raise TypeError(f"proxy: a key must be a str, not {type(key).__name__}")
    scheme, sep, host = key.lower().partition("://")
    if scheme not in _SCHEMES or (sep and (not host or "/" in host)):
        raise ValueError(f"proxy: unknown key {key!r}: expected 'http', 'https', 'all', "
                         "or one of them with ://host ('https://example.com')")
    return key.lower()


def _proxy(url: str, source: str) -> _Proxy:
    try:
        return _Proxy(url)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{source}: {exc}") from None


def routes_of(proxy: ProxySource, trust_env: bool) -> Routes | None:
    """The pool's Routes, or None when every request goes directly."""
    if proxy is not None:
        if isinstance(proxy, str):
            parsed = _proxy(proxy, "proxy")
            return Routes({"all": (parsed, "proxy=")})
        if not isinstance(proxy, Mapping):
            raise TypeError("proxy must be a URL or a mapping of 'http', 'https', 'all' or "
                            f"'scheme://host' to a URL or None, not {type(proxy).__name__}")
        rules: dict[str, tuple[_Proxy | None, str]] = {}
        for key, url in proxy.items():
            name = _rule_key(key)
            rules[name] = (None if url is None else _proxy(url, f"proxy[{key!r}]"), f"proxy[{key!r}]")
        return Routes(rules) if any(p is not None for p, _ in rules.values()) else None
    if trust_env:
        return _environment_routes()
    return None


def _environment_routes() -> Routes | None:
    # Importing urllib.request costs tens of milliseconds: only pay it when
    # the environment names a proxy at all.
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return None
    from urllib.request import getproxies_environment
    environment = getproxies_environment()
    rules: dict[str, tuple[_Proxy | None, str]] = {}
    for scheme in _SCHEMES:
        url = environment.get(scheme)
        if url:
            variable = f"{scheme.upper()}_PROXY"
            # "host:port" without a scheme means an HTTP proxy, as curl and requests read it.
            rules[scheme] = (_proxy(url if "://" in url else f"http://{url}",
                                    f"{variable}={url!r} (ignore the environment with trust_env=False)"),
                             variable)
    return Routes(rules, environment) if rules else None
