"""Turn a pytest-benchmark JSON file from bench/test_concurrency_bench.py into
Markdown tables and, when matplotlib is installed, a chart.

    python bench/concurrency_report.py bench/results/local/concurrency.json [--png FILE]

Per concurrency level and client: requests per second (the requests of one
timed call divided by pytest-benchmark's median time per call), httpool's
requests/s divided by that client's, the CPU time the benchmark process spent
per request (the client's own cost, nginx's and wrk's not included), and the
connections nginx accepted while the client ran (out of the requests it
served); then wrk's requests/s with the same connection count, the ceiling,
and httpool's share of it. Then the targets of the benchmark issue, met or
not, and the peak-RSS table (10,000 requests, 256 in flight, one fresh
interpreter per client). The chart goes to bench/results/local/concurrency.png
(ignored by git) unless --png says otherwise (--png bench/concurrency.png
replaces the README's chart) or --no-png. The exit status is 0 either way. Other
benchmarks in the same file are ignored. Standard library only (matplotlib
for the chart).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from benchjson import count, cpu_name

CLIENTS = ("httpool", "aiohttp", "httpx-async", "urllib3", "httpx", "pycurl")
LABELS = {
    "httpool": "httpool request_many",
    "aiohttp": "aiohttp (asyncio tasks)",
    "httpx-async": "httpx AsyncClient (asyncio tasks)",
    "urllib3": "urllib3 (thread pool)",
    "httpx": "httpx Client (thread pool)",
    "pycurl": "pycurl CurlMulti",
    "python": "python, no client (baseline)",
}
SHORT = {"httpool": "httpool", "aiohttp": "aiohttp", "httpx-async": "httpx async",
         "urllib3": "urllib3 threads", "httpx": "httpx threads", "pycurl": "pycurl multi"}

# From the issue: at this concurrency, httpool at least RATIO x the peer's requests/s...
TARGET_LEVEL = 64
MIN_RATIO = [("aiohttp", 5.0), ("httpx-async", 10.0)]
# ...and at least this share of wrk's requests/s with the same connection count.
MIN_WRK_SHARE = 0.40

WRK_NOTE = "3 s per run"
DEFAULT_PNG = Path(__file__).resolve().parent / "results" / "local" / "concurrency.png"
WRK_FILE = Path(__file__).resolve().parent / "results" / "local" / "wrk_concurrency.json"




def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def rps(bench: dict) -> float:
    return bench["extra_info"]["requests_per_call"] / bench["stats"]["median"]


def load(path: str, kind: str = "concurrency") -> tuple[dict, dict, dict]:
    """{level: {client: entry}}, {client: RSS entry} and the whole document,
    of the benchmarks of `kind` (extra_info["bench"]: "concurrency", "async")."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    levels: dict = defaultdict(dict)
    memory: dict = {}
    for bench in doc.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if info.get("bench") == kind:
            levels[info["concurrency"]][info["client"]] = bench
        elif info.get("bench") == f"{kind}-rss":
            memory[info["client"]] = bench
    return dict(sorted(levels.items())), memory, doc


def wrk_ceilings(levels: dict, doc: dict) -> tuple[dict, str]:
    """{level: requests/s} of wrk, and where they came from."""
    found = {entry["connections"]: entry["requests_per_second"]
             for entry in doc.get("wrk", {}).values()
             if isinstance(entry, dict) and entry.get("bench") == "concurrency"}
    if found:
        return found, "this run"
    for level, per_client in levels.items():
        for bench in per_client.values():
            if "wrk_requests_per_second" in bench["extra_info"]:
                found[level] = bench["extra_info"]["wrk_requests_per_second"]
    if found:
        return found, "this run"
    try:
        saved = json.loads(WRK_FILE.read_text())
    except (OSError, ValueError):
        return {}, ""
    found = {int(level): entry["requests_per_second"] for level, entry in saved.items()}
    when = sorted({entry.get("datetime", "?") for entry in saved.values()})
    return found, f"{WRK_FILE.name}, {', '.join(when)}"


def wrk_runs(doc: dict) -> dict:
    """{level: [requests/s of each wrk run]} (the ceiling is the best)."""
    return {entry["connections"]: entry.get("runs", [entry["requests_per_second"]])
            for entry in doc.get("wrk", {}).values()
            if isinstance(entry, dict) and entry.get("bench") == "concurrency"}


def header(levels: dict, memory: dict, doc: dict) -> str:
    machine = doc.get("machine_info", {})
    cpu = cpu_name(doc)
    count = machine.get("cpu", {}).get("count")
    versions: dict = {}
    server = placement = None
    for per_client in list(levels.values()) + [memory]:
        for client, bench in per_client.items():
            info = bench["extra_info"]
            library = client.removesuffix("-async")
            if client != "python":
                versions.setdefault(library, info.get("version"))
            server = server or info.get("server")
            if not info.get("bench", "").endswith("-rss"):
                placement = placement or info.get("placement")
    parts = [f"{c} {v}" if c != "pycurl" else f"pycurl (libcurl {v.split()[0]})"
             for c, v in versions.items() if v and v != "?"]
    return (f"{cpu}{f' ({count} CPUs)' if count else ''}, "
            f"{machine.get('python_implementation', 'Python')} {machine.get('python_version', '?')}; "
            + ", ".join(parts)
            + (f"; {server}" if server else "")
            + (f"; {placement}" if placement else "")
            + f"; pytest-benchmark {doc.get('version', '?')}, {doc.get('datetime', '?')[:10]}.")


def _ordered(per_client: dict) -> list:
    return sorted(per_client, key=lambda c: CLIENTS.index(c) if c in CLIENTS else 99)


def throughput_table(levels: dict, wrk: dict, runs: dict) -> list:
    lines = ["| In flight | Client | Requests/s | httpool ÷ client | Median per batch "
             "| Client CPU per request (user + system µs) | Connections opened |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for level, per_client in levels.items():
        base = rps(per_client["httpool"]) if "httpool" in per_client else None
        first = True
        for client in _ordered(per_client):
            bench = per_client[client]
            info = bench["extra_info"]
            value = rps(bench)
            ratio = "—" if client == "httpool" or base is None else f"{base / value:.2f}×"
            name = LABELS.get(client, client)
            name = f"**{name}**" if client == "httpool" else name
            cpu = info.get("client_cpu_per_request")
            if cpu is None:
                cpu = ""
            elif "client_user_per_request" in info:
                cpu = (f"{_time(cpu)} ({info['client_user_per_request'] * 1e6:.1f} + "
                       f"{info['client_system_per_request'] * 1e6:.1f})")
            else:
                cpu = _time(cpu)
            lines.append(
                f"| {level if first else ''} | {name} | {count(value)} | {ratio} "
                f"| {_time(bench['stats']['median'])} ({info['requests_per_call']:,} req.) "
                f"| {cpu} "
                f"| {info['connections_opened']:,} of {info['requests_served']:,} |")
            first = False
        if level in wrk:
            share = f"httpool = {base / wrk[level]:.0%} of it" if base else ""
            both = runs.get(level, [])
            note = (f" (best of {' and '.join(count(r) for r in both)}: before and after "
                    f"the clients)" if len(both) > 1 else "")
            lines.append(f"|  | *wrk -t1 -c{level} (ceiling)* | {count(wrk[level])} | {share} "
                         f"| {WRK_NOTE}{note} |  |  |")
    return lines


def summary_table(levels: dict, wrk: dict) -> list:
    """Clients by rows, levels by columns: requests/s (httpool ÷ client)."""
    cols = list(levels)
    lines = ["| Client | " + " | ".join(f"{c} in flight" for c in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    clients = [c for c in CLIENTS if any(c in levels[level] for level in cols)]
    for client in clients:
        cells = []
        for level in cols:
            per_client = levels[level]
            if client not in per_client:
                cells.append("")
                continue
            value = rps(per_client[client])
            if client == "httpool" or "httpool" not in per_client:
                cells.append(f"**{count(value)}**" if client == "httpool" else count(value))
            else:
                cells.append(f"{count(value)} ({rps(per_client['httpool']) / value:.1f}×)")
        lines.append(f"| {LABELS.get(client, client)} | " + " | ".join(cells) + " |")
    if wrk:
        cells = []
        for level in cols:
            if level not in wrk:
                cells.append("")
                continue
            base = levels[level].get("httpool")
            share = f" (httpool {rps(base) / wrk[level]:.0%})" if base else ""
            cells.append(f"{count(wrk[level])}{share}")
        lines.append("| *wrk, same connection count (ceiling)* | " + " | ".join(cells) + " |")
    return lines


def targets(levels: dict, wrk: dict) -> list:
    verdicts = []
    per_client = levels.get(TARGET_LEVEL, {})
    base = per_client.get("httpool")
    if base is None:
        return [f"No httpool result at concurrency {TARGET_LEVEL}: targets not evaluated."]
    for peer, want in MIN_RATIO:
        if peer not in per_client:
            verdicts.append(f"{TARGET_LEVEL} in flight: httpool at least {want:g}× "
                            f"{LABELS[peer]} — not measured ({peer} not installed).")
            continue
        got = rps(base) / rps(per_client[peer])
        verdicts.append(f"{TARGET_LEVEL} in flight: httpool request_many at least {want:g}× "
                        f"{LABELS[peer]}'s requests/s — measured {got:.2f}×: "
                        f"{'met' if got >= want else '**not met**'}.")
    if TARGET_LEVEL in wrk:
        got = rps(base) / wrk[TARGET_LEVEL]
        verdicts.append(f"{TARGET_LEVEL} in flight: httpool request_many at least "
                        f"{MIN_WRK_SHARE:.0%} of wrk's requests/s with {TARGET_LEVEL} connections "
                        f"— measured {got:.1%} ({count(rps(base))} of {count(wrk[TARGET_LEVEL])}): "
                        f"{'met' if got >= MIN_WRK_SHARE else '**not met**'}.")
    else:
        verdicts.append(f"{TARGET_LEVEL} in flight: httpool at least {MIN_WRK_SHARE:.0%} of wrk "
                        f"— not measured (no wrk figure).")
    return verdicts


def memory_table(memory: dict) -> list:
    if not memory:
        return []
    requests = max(bench["extra_info"]["requests"] for bench in memory.values())
    concurrency = next(iter(memory.values()))["extra_info"]["concurrency"]
    lines = [f"Peak RSS of one fresh interpreter per client sending {requests:,} GET /small "
             f"requests with {concurrency} in flight (VmHWM), and of the same interpreter "
             "importing the client's modules and sending nothing:", "",
             "| Client | Peak RSS | Imports only | Added by the requests | Time for the requests |",
             "|---|---:|---:|---:|---:|"]
    order = ["python"] + [c for c in CLIENTS]
    for client in sorted(memory, key=lambda c: order.index(c) if c in order else 99):
        info = memory[client]["extra_info"]
        name = LABELS.get(client, client)
        name = f"**{name}**" if client == "httpool" else name
        if client == "python":
            lines.append(f"| {name} | {_mib(info['peak_kib'])} |  |  |  |")
            continue
        seconds = info.get("requests_seconds")
        lines.append(f"| {name} | {_mib(info['peak_kib'])} | {_mib(info['baseline_kib'])} "
                     f"| {_mib(info['peak_kib'] - info['baseline_kib'])} "
                     f"| {f'{seconds:.2f} s' if seconds else ''} |")
    return lines


def render(levels: dict, memory: dict, doc: dict) -> str:
    wrk, source = wrk_ceilings(levels, doc)
    lines = [header(levels, memory, doc), ""]
    if levels:
        lines += ["Requests/s (httpool request_many's requests/s ÷ the client's):", ""]
        lines += summary_table(levels, wrk)
        lines += ["", "In detail:", ""]
        lines += throughput_table(levels, wrk, wrk_runs(doc))
        if wrk and source != "this run":
            lines += ["", f"(wrk figures from {source}.)"]
        lines += ["", "Targets:", ""]
        lines += [f"- {v}" for v in targets(levels, wrk)]
    table = memory_table(memory)
    if table:
        lines += [""] + table
    return "\n".join(lines) + "\n"


def chart(levels: dict, memory: dict, doc: dict, path: str) -> None:
    """Left: requests/s per level and client (log scale), wrk as a line.
    Right: peak RSS per client, imports and requests stacked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wrk, _ = wrk_ceilings(levels, doc)
    colors = {"httpool": "#d62728", "aiohttp": "#1f77b4", "httpx-async": "#9467bd",
              "urllib3": "#2ca02c", "httpx": "#8c564b", "pycurl": "#ff7f0e", "python": "#7f7f7f"}
    panels = 2 if memory else 1
    fig, axes = plt.subplots(1, panels, figsize=(13 if memory else 8.5, 4.4), dpi=72,
                             gridspec_kw={"width_ratios": [1.6, 1]} if memory else None)
    axes = list(axes) if panels > 1 else [axes]

    ax = axes[0]
    cols = list(levels)
    clients = [c for c in CLIENTS if any(c in levels[level] for level in cols)]
    width = 0.8 / max(1, len(clients))
    for i, client in enumerate(clients):
        xs, ys = [], []
        for j, level in enumerate(cols):
            if client in levels[level]:
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(rps(levels[level][client]))
        ax.bar(xs, ys, width * 0.92, label=SHORT.get(client, client), color=colors.get(client))
        for x, y in zip(xs, ys):
            if y >= 1000:   # inside the bar
                ax.text(x, y * 0.85, f"{y / 1000:.1f}k" if y < 10_000 else f"{y / 1000:.0f}k",
                        ha="center", va="top", rotation=90, fontsize=7, color="white")
            else:           # above it
                ax.text(x, y * 1.1, f"{y:.0f}", ha="center", va="bottom", rotation=90, fontsize=7)
    for j, level in enumerate(cols):
        if level in wrk:
            ax.hlines(wrk[level], j - 0.45, j + 0.45, colors="#444444", linestyles="--",
                      label="wrk (ceiling)" if j == 0 else None)
            ax.text(j + 0.45, wrk[level] * 1.1, f"wrk {wrk[level] / 1000:.0f}k", ha="right",
                    fontsize=7, color="#444444")
    values = [rps(b) for per_client in levels.values() for b in per_client.values()]
    values += list(wrk.values())
    ax.set_yscale("log")
    ax.set_ylim(min(values) * 0.5, max(values) * 8)
    ax.set_xticks(range(len(cols)), [f"{c} in flight" for c in cols])
    ax.set_ylabel("requests/s (log scale)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda v, _: f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"))
    placement = next((b["extra_info"].get("placement", "") for per_client in levels.values()
                      for b in per_client.values()), "")
    where = ""
    if placement.startswith("client CPUs ["):
        where = (", client and nginx on one CPU" if "," not in placement.split("]")[0]
                 else ", client and nginx not pinned")
    ax.set_title(f"GET 13 B from one local nginx, one run{where}", fontsize=10)
    ax.legend(fontsize=7, ncol=4, loc="upper center")

    if memory:
        ax = axes[1]
        order = ["python"] + list(CLIENTS)
        names = sorted(memory, key=lambda c: order.index(c) if c in order else 99)
        base = [memory[c]["extra_info"]["baseline_kib"] / 1024 if c != "python"
                else memory[c]["extra_info"]["peak_kib"] / 1024 for c in names]
        peak = [memory[c]["extra_info"]["peak_kib"] / 1024 for c in names]
        y = list(range(len(names)))[::-1]
        ax.barh(y, base, color="#cccccc", label="imports only")
        ax.barh(y, [p - b for p, b in zip(peak, base)], left=base,
                color=[colors.get(c, "#1f77b4") for c in names], label="added by the requests")
        for yi, p in zip(y, peak):
            ax.text(p + max(peak) * 0.01, yi, f"{p:.1f}", va="center", fontsize=7)
        ax.set_yticks(y, [SHORT.get(c, "python only") for c in names], fontsize=8)
        ax.set_xlim(0, max(peak) * 1.15)
        requests = max(memory[c]["extra_info"]["requests"] for c in names)
        ax.set_xlabel("MiB")
        ax.set_title(f"Peak RSS, {requests:,} requests, "
                     f"{memory[names[-1]]['extra_info']['concurrency']} in flight", fontsize=10)
        ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    fig.tight_layout()
    fig.savefig(path, pil_kwargs={"optimize": True})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json_file", help="output of pytest --benchmark-json")
    ap.add_argument("--png", default=str(DEFAULT_PNG),
                    help="where to draw the chart (default bench/results/local/concurrency.png)")
    ap.add_argument("--no-png", action="store_true", help="no chart")
    args = ap.parse_args(argv)
    levels, memory, doc = load(args.json_file)
    if not levels and not memory:
        print(f"{args.json_file}: no benchmarks from bench/test_concurrency_bench.py",
              file=sys.stderr)
        return 1
    sys.stdout.write(render(levels, memory, doc))
    if not args.no_png:
        try:
            Path(args.png).parent.mkdir(parents=True, exist_ok=True)
            chart(levels, memory, doc, args.png)
        except ImportError:
            print("matplotlib is not installed (pip install matplotlib): no chart", file=sys.stderr)
            return 0
        print(f"\nChart: {args.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
