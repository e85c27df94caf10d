"""``python -m httpool bench``: the load tester, the comparison with other
HTTP clients and the servers it measures against.

Tooling, not the client: ``import httpool`` never imports this package.
"""
