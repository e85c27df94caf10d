"""What the tests and benchmarks share: misbehaving raw-socket servers
(servers), nginx (nginx), the pool's accounting check (accounting) and the
parser's feeding helpers (parser_helpers)."""
