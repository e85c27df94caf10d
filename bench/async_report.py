"""Turn a pytest-benchmark JSON file from bench/test_async_bench.py into Markdown.

    python bench/async_report.py bench/results/local/async.json

Per client: requests per second at 64 and 256 in flight (the requests of one
timed call divided by pytest-benchmark's median time per call), the CPU time
the benchmark process spent per request, and the peak RSS of a fresh
interpreter sending 10,000 requests with 256 in flight; wrk with the same
connection counts as the ceiling. Then the targets of the asyncio issue, met
or not. The exit status is 0 either way. Standard library only.
"""

from __future__ import annotations

import sys

from concurrency_report import _mib, header, load, rps, wrk_ceilings

from benchjson import count, markdown_main

LABELS = {
    "httpool-async": "httpool `AsyncPool` (uvloop)",
    "httpool-async-asyncio": "httpool `AsyncPool` (default loop)",
    "aiohttp-uvloop": "aiohttp (uvloop)",
    "aiohttp": "aiohttp (default loop)",
    "httpx-async": "httpx `AsyncClient`",
}
OURS = ("httpool-async", "httpool-async-asyncio")
# From the issue: (ours, the peer or "fastest" async peer, at least this ratio of requests/s).
TARGETS = [("httpool-async", "fastest", 1.5), ("httpool-async", "aiohttp-uvloop", 3.0),
           ("httpool-async-asyncio", "aiohttp", 2.0)]


def _label(client: str) -> str:
    return LABELS.get(client, client.removesuffix("-async"))


def _fastest_peer(per_client: dict) -> str | None:
    peers = [c for c in per_client if c not in OURS]
    return max(peers, key=lambda c: rps(per_client[c])) if peers else None


def table(levels: dict, memory: dict, wrk: dict) -> list:
    cols = list(levels)
    lines = ["| client | " + " | ".join(f"{c} in flight | CPU/req" for c in cols)
             + " | peak RSS at 256 |", "| --- |" + " ---: |" * (2 * len(cols) + 1)]
    clients = sorted({c for per_client in levels.values() for c in per_client},
                     key=lambda c: -rps(levels[cols[0]][c]) if c in levels[cols[0]] else 0)
    for client in clients:
        cells = []
        for level in cols:
            bench = levels[level].get(client)
            cpu = bench["extra_info"].get("client_cpu_per_request") if bench else None
            cells += [f"{count(rps(bench))} req/s" if bench else "",
                      f"{cpu * 1e6:.0f} µs" if cpu else ""]
        rss = memory.get(client)
        cells.append(_mib(rss["extra_info"]["peak_kib"]) if rss else "")
        lines.append(f"| {_label(client)} | " + " | ".join(cells) + " |")
    lines.append("| wrk (the ceiling, same CPU) | "
                 + " | ".join(f"{count(wrk[level])} |" if level in wrk else " |" for level in cols)
                 + " |")
    return lines


def targets(levels: dict, memory: dict) -> list:
    verdicts = []
    for level, per_client in levels.items():
        for ours, peer, want in TARGETS:
            if peer == "fastest":
                peer = _fastest_peer(per_client) or "fastest"
            if ours not in per_client or peer not in per_client:
                verdicts.append(f"{level} in flight: {_label(ours)} at least {want:g}× {peer} "
                                "— not measured.")
                continue
            got = rps(per_client[ours]) / rps(per_client[peer])
            verdicts.append(f"{level} in flight: {_label(ours)} at least {want:g}× "
                            f"{_label(peer)}'s requests/s — measured {got:.2f}×: "
                            f"{'met' if got >= want else '**not met**'}.")
    if "httpool-async" in memory and "aiohttp" in memory:
        ours, theirs = (memory[c]["extra_info"]["peak_kib"] for c in ("httpool-async", "aiohttp"))
        verdicts.append(f"Peak RSS at 256 in flight no higher than aiohttp's — measured "
                        f"{_mib(ours)} against {_mib(theirs)}: "
                        f"{'met' if ours <= theirs else '**not met**'}.")
    return verdicts


def render(results: tuple, doc: dict) -> str:
    levels, memory = results
    wrk, _ = wrk_ceilings(levels, doc)
    lines = [header(levels, memory, doc), ""] + table(levels, memory, wrk)
    lines += ["", "Targets:", ""] + [f"- {v}" for v in targets(levels, memory)]
    return "\n".join(lines) + "\n"


def _load(path: str) -> tuple[tuple | None, dict]:
    levels, memory, doc = load(path, "async")
    return ((levels, memory) if levels or memory else None), doc


def main(argv: list[str] | None = None) -> int:
    return markdown_main(argv, __doc__.splitlines()[0], _load, render, "bench/test_async_bench.py")


if __name__ == "__main__":
    sys.exit(main())
