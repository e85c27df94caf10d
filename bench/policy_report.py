"""Turn a pytest-benchmark JSON file from bench/test_policy_bench.py into Markdown.

    python bench/policy_report.py bench/results/local/policy.json

Per scenario and client: the median time per request (pytest-benchmark's
median per timed call divided by the requests each call sends; a redirected
request counts once, its two exchanges included), requests per second (its
inverse), MB/s of decoded body (10**6 bytes per second; gzip-1mib), httpool's
requests per second divided by that client's, the CPU time the benchmark
process spent per request (the client's own cost, nginx's not included) and
the connections nginx accepted while the client ran (out of the requests it
served: two per redirected request); bench/https_report.py's table. Then,
per scenario, the fastest peer and httpool's ratio to it, and the
Accept-Encoding each client sent. The exit status is 0 either way. Other
benchmarks in the same file are ignored.
"""

from __future__ import annotations

import sys

from http_report import _time, header, per_request
from https_report import fastest_peer, table

from benchjson import load_grouped, markdown_main

SCENARIOS = {
    "gzip-1mib": "(1) GET 1 MiB JSON, gzip-encoded, decoded",
    "redirect": "(2) GET a 302 to /small (13 B), followed",
}
CLIENTS = ("httpool", "httpx", "urllib3", "requests", "aiohttp", "pycurl", "pyreqwest", "httpr", "rnet",
           "curl_cffi")
MB_SCENARIOS = ("gzip-1mib",)


def load(path: str) -> tuple[dict, dict]:
    """{scenario: {client: benchmark entry}} of the policy benchmarks, and the document."""
    return load_grouped(path, "policy_scenario", "client")


def _order(results: dict) -> list:
    return [s for s in SCENARIOS if s in results]


def accept_encodings(results: dict) -> list:
    """What each client sent as Accept-Encoding in (1), as nginx saw it."""
    per_client = results.get("gzip-1mib", {})
    lines = ["| Client | Accept-Encoding sent |", "|---|---|"]
    lines += [f"| {client} | `{per_client[client]['extra_info'].get('accept_encoding', '?')}` |"
              for client in CLIENTS if client in per_client]
    return lines if per_client else []


def summary(results: dict) -> list:
    """Per scenario: the fastest peer, and httpool's requests/s divided by its."""
    lines = ["| Scenario | Fastest peer | httpool ÷ fastest peer |", "|---|---|---:|"]
    for scenario in _order(results):
        per_client = results[scenario]
        fastest = fastest_peer(per_client)
        if fastest is None or "httpool" not in per_client:
            continue
        ratio = per_request(per_client[fastest]) / per_request(per_client["httpool"])
        lines.append(f"| {SCENARIOS.get(scenario, scenario)} "
                     f"| {fastest} ({_time(per_request(per_client[fastest]))}) | {ratio:.2f}× |")
    return lines


def render(results: dict, doc: dict) -> str:
    lines = [header(results, doc), ""] + table(results, SCENARIOS, CLIENTS, MB_SCENARIOS)
    lines += ["", "Per scenario:", ""] + summary(results)
    encodings = accept_encodings(results)
    if encodings:
        lines += ["", "Accept-Encoding of each client in (1) (the server's view):", ""] + encodings
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return markdown_main(argv, __doc__.splitlines()[0], load, render, "bench/test_policy_bench.py")


if __name__ == "__main__":
    sys.exit(main())
