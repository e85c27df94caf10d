"""How a request reaches its server, beyond connecting to the URL's host:
proxies (from proxy= or the environment). The connect step itself (TCP,
Unix sockets, CONNECT tunnels) is the engine's (httpool._conn,
httpool._exchange)."""
