"""Turn a pytest-benchmark JSON file from bench/test_http_bench.py into a
Markdown table and, with --png, a bar chart (matplotlib, from the bench extra).

    python bench/http_report.py bench/results/local/http.json --png bench/results/local/http.png

Per scenario and client: the median time per request (pytest-benchmark's
median per timed call divided by the requests each call sends), requests per
second (its inverse; for the concurrent scenarios, all requests in flight
together), MB/s of response body (10**6 bytes per second; scenarios 2 and 3),
httpool's requests per second divided by that client's, the CPU time the
benchmark process spent per request (the client's own cost, nginx's not
included), and the connections nginx accepted while the client ran (out of
the requests it served). wrk's
figure, when the run has it, is the ceiling line of its scenario. Then the
targets of the benchmark issue, met or not. The exit status is 0 either way.
Other benchmarks in the same file (bench/test_parser_bench.py) are ignored.
"""

from __future__ import annotations

import sys

from benchjson import count, cpu_name, load_grouped, markdown_main

SCENARIOS = {
    "1": "(1) GET 13 B, sequential",
    "2": "(2) GET 64 KiB, sequential",
    "3": "(3) GET 1 MiB, sequential",
    "4": "(4) POST 1 KiB JSON, sequential",
    "5-8": "(5) GET 13 B, 8 in flight",
    "5-64": "(5) GET 13 B, 64 in flight",
    "6": "(6) GET 64 KiB, body unread",
}
SHORT = {
    "1": "1: GET 13 B", "2": "2: GET 64 KiB", "3": "3: GET 1 MiB", "4": "4: POST 1 KiB JSON",
    "5-8": "5: 8 in flight", "5-64": "5: 64 in flight", "6": "6: 64 KiB unread",
}
CLIENTS = ("httpool", "httpool-many", "httpx", "httpx-async", "urllib3", "requests", "aiohttp", "pycurl",
           "raw-socket")
LABELS = {"httpool-many": "httpool request_many", "httpx-async": "httpx (async)",
          "raw-socket": "raw socket (floor)"}
MB_SCENARIOS = ("2", "3")

# From the issue. (scenario, peer, at least httpool/peer)
MIN_RATIO = [("1", "httpx", 4.0), ("1", "raw-socket", 0.85),
             ("2", "urllib3", 1.5), ("3", "urllib3", 1.5)]
# Scenario 6: connections httpool may open.
MAX_OPENED_UNREAD = 1


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"




def per_request(bench: dict) -> float:
    """Median seconds per request."""
    return bench["stats"]["median"] / bench["extra_info"]["requests_per_call"]


def load(path: str) -> tuple[dict, dict]:
    """{scenario: {client: benchmark entry}} and the whole document."""
    return load_grouped(path, "scenario", "client")


def _order(results: dict) -> list:
    return [s for s in SCENARIOS if s in results] + sorted(set(results) - set(SCENARIOS))


def _wrk(doc: dict) -> dict:
    """{scenario: requests/s} of the wrk runs."""
    return {entry["scenario"]: entry["requests_per_second"]
            for entry in doc.get("wrk", {}).values()
            if entry.get("scenario") in SCENARIOS and "requests_per_second" in entry}


def header(results: dict, doc: dict) -> str:
    machine = doc.get("machine_info", {})
    cpu = cpu_name(doc)
    cpus = machine.get("cpu", {}).get("count") or doc.get("http_bench", {}).get("cpus")
    versions = {}
    for per_client in results.values():
        for client, bench in per_client.items():
            library = client.removesuffix("-async").removesuffix("-many")
            versions.setdefault(library, bench["extra_info"].get("version"))
    parts = [f"{c} {v}" if c != "pycurl" else f"pycurl (libcurl {v})"
             for c, v in versions.items() if v]
    meta = doc.get("http_bench", {})
    server = (meta.get("nginx") or "nginx").replace("nginx version: ", "")
    if meta.get("congestion_control"):
        server += f" ({meta['congestion_control']} congestion control)"
    if meta.get("wrk"):
        server += ", " + " ".join(meta["wrk"].split()[:2])
    placement = "; ".join(f"{kind} scenarios: {where}"
                          for kind, where in (meta.get("placement") or {}).items())
    return (f"{cpu}{f' ({cpus} CPUs)' if cpus else ''}, "
            f"{machine.get('python_implementation', 'Python')} {machine.get('python_version', '?')}; "
            + ", ".join(parts) + f"; {server}"
            + (f"; {placement}" if placement else "")
            + f"; pytest-benchmark {doc.get('version', '?')}, {doc.get('datetime', '?')[:10]}.")


def render(results: dict, doc: dict) -> str:
    wrk = _wrk(doc)
    lines = [header(results, doc), ""]
    lines.append("| Scenario | Client | Median per request | Requests/s | MB/s "
                 "| httpool ÷ client | Client CPU per request | Connections opened |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for scenario in _order(results):
        per_client = results[scenario]
        base = per_client.get("httpool")
        base_rps = 1 / per_request(base) if base else None
        first = True
        for client in sorted(per_client, key=lambda c: CLIENTS.index(c) if c in CLIENTS else 99):
            bench = per_client[client]
            info = bench["extra_info"]
            median = per_request(bench)
            rps = 1 / median
            mbs = count(rps * info["body_bytes"] / 1e6) if scenario in MB_SCENARIOS else ""
            ratio = "—" if client == "httpool" or base_rps is None else f"{base_rps / rps:.2f}×"
            opened = f"{info['connections_opened']:,} of {info['requests_served']:,}"
            cpu = info.get("client_cpu_per_request")
            cpu = _time(cpu) if cpu is not None else ""
            title = SCENARIOS.get(scenario, scenario) if first else ""
            first = False
            name = LABELS.get(client, client)
            name = f"**{name}**" if client == "httpool" else name
            lines.append(f"| {title} | {name} | {_time(median)} | {count(rps)} | {mbs} "
                         f"| {ratio} | {cpu} | {opened} |")
        if scenario in wrk:
            rps = wrk[scenario]
            body = next(iter(per_client.values()))["extra_info"]["body_bytes"]
            mbs = count(rps * body / 1e6) if scenario in MB_SCENARIOS else ""
            ratio = f"{base_rps / rps:.2f}×" if base_rps else ""
            lines.append(f"|  | *wrk (ceiling)* | {_time(1 / rps)} | {count(rps)} | {mbs} "
                         f"| {ratio} |  |  |")
    verdicts = targets(results)
    if verdicts:
        lines += ["", "Targets:", ""]
        lines += [f"- {v}" for v in verdicts]
    return "\n".join(lines) + "\n"


def targets(results: dict) -> list:
    verdicts = []
    for scenario, peer, want in MIN_RATIO:
        per_client = results.get(scenario, {})
        if "httpool" not in per_client or peer not in per_client:
            continue
        got = per_request(per_client[peer]) / per_request(per_client["httpool"])
        verdicts.append(f"{SCENARIOS[scenario]}: httpool at least {want:g}× "
                        f"{LABELS.get(peer, peer)}'s requests/s — measured {got:.2f}×: "
                        f"{'met' if got >= want else '**not met**'}.")
    unread = results.get("6", {})
    if "httpool" in unread:
        info = unread["httpool"]["extra_info"]
        opened = info["connections_opened"]
        others = ", ".join(f"{LABELS.get(c, c)} {b['extra_info']['connections_opened']:,}"
                           for c, b in unread.items() if c != "httpool")
        verdicts.append(f"{SCENARIOS['6']}: httpool opens exactly {MAX_OPENED_UNREAD} connection "
                        f"— measured {opened:,} for {info['requests_served']:,} requests "
                        f"(pool.stats().opened = {info.get('pool_opened', '?')}): "
                        f"{'met' if opened <= MAX_OPENED_UNREAD else '**not met**'}. "
                        f"The others opened: {others}.")
    return verdicts


def chart(results: dict, doc: dict, path: str) -> None:
    """One panel per scenario: requests/s per client, httpool highlighted."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wrk = _wrk(doc)
    order = _order(results)
    cols = 4
    rows = -(-len(order) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.1 * rows), dpi=72)
    axes = list(axes.flat) if hasattr(axes, "flat") else [axes]
    colors = {"httpool": "#d62728", "httpool-many": "#ff9896", "raw-socket": "#7f7f7f",
              "wrk": "#bbbbbb"}
    for ax, scenario in zip(axes, order):
        per_client = results[scenario]
        names = [c for c in CLIENTS if c in per_client]
        values = [1 / per_request(per_client[c]) for c in names]
        labels = [LABELS.get(c, c).replace(" (floor)", "\n(floor)").replace(" request_many",
                                                                             "\nrequest_many")
                  for c in names]
        if scenario in wrk:
            names.append("wrk")
            values.append(wrk[scenario])
            labels.append("wrk (ceiling)")
        y = range(len(names))[::-1]
        ax.barh(list(y), values, color=[colors.get(n, "#1f77b4") for n in names])
        ax.set_yticks(list(y), labels, fontsize=8)
        ax.set_title(SHORT.get(scenario, scenario), fontsize=10)
        ax.tick_params(axis="x", labelsize=7)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
            lambda v, _: f"{v / 1000:g}k" if v else "0"))
        top = max(values)
        ax.set_xlim(0, top * 1.32)
        for yi, name, value in zip(y, names, values):
            text = f"{value / 1000:.1f}k"
            if scenario == "6" and name in per_client:
                text += f", {per_client[name]['extra_info']['connections_opened']:,} conn."
            ax.text(value + top * 0.01, yi, text, va="center", fontsize=7)
    for ax in axes[len(order):]:
        ax.axis("off")
    if len(axes) > len(order):
        sequential = (doc.get("http_bench", {}).get("placement") or {}).get("sequential", "")
        note = ("Requests/s, more is better:\nthe median of batches of\nrequests. One nginx, one run."
                "\nScenario 6 also shows the\nconnections each client opened.")
        if sequential.startswith("client CPUs [") and "," not in sequential.split("]")[0]:
            note += ("\n\nSequential scenarios: nginx's\nworker and the client share\n"
                     "one CPU (see README).")
        axes[-1].text(0, 0.5, note, fontsize=9, va="center")
    fig.suptitle("httpool and peers against one local nginx: requests per second", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, pil_kwargs={"optimize": True})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    return markdown_main(argv, __doc__.splitlines()[0], load, render, "bench/test_http_bench.py", chart)


if __name__ == "__main__":
    sys.exit(main())
