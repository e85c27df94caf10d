"""How a request reaches its server, beyond connecting to the URL's host:
which proxy it goes through (proxies: proxy= or the environment), the
tunnels a proxy opens (tunnels: HTTP CONNECT, SOCKS5), and addresses pinned
instead of DNS (addresses: resolve=). The engine does the I/O
(httpool._conn, httpool._exchange)."""
