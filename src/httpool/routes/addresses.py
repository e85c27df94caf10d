"""Pool(resolve=...): addresses pinned for host names, used instead of DNS
(as curl's --resolve), for every port of that host and for proxies' hosts
too. The engine tries them in the order given, families interleaved and
staggered as for resolved ones (RFC 8305)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

# What resolve= may be: host name -> one IP address or several.
ResolveSource = Mapping[str, str | Iterable[str]] | None


def pinned_addresses(resolve: ResolveSource) -> dict[str, list[str]] | None:
    """resolve= checked: host (as the engine sees it: lowercase, IDNA) ->
    its IP literals, or None when nothing is pinned."""
    if resolve is None:
        return None
    if not isinstance(resolve, Mapping):
        raise TypeError("resolve must be a mapping of host name to an IP address or a list of "
                        f"them, not {type(resolve).__name__}")
    pinned = {}
    entries: Iterable[tuple[object, str | Iterable[str]]] = resolve.items()   # untyped callers too
    for host, addresses in entries:
        if not isinstance(host, str) or not host:
            raise TypeError(f"resolve: a key must be a host name, not {host!r}")
        literals = [addresses] if isinstance(addresses, str) else list(addresses)
        if not literals:
            raise ValueError(f"resolve[{host!r}]: no addresses")
        checked = []
        for literal in literals:
            try:
                checked.append(str(ipaddress.ip_address(literal)))
            except ValueError:
                raise ValueError(f"resolve[{host!r}]: {literal!r} is not an IP address") from None
        name = host.lower()
        pinned[name if name.isascii() else name.encode("idna").decode("ascii")] = checked
    return pinned
