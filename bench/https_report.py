"""Turn a pytest-benchmark JSON file from bench/test_https_bench.py into Markdown.

    python bench/https_report.py bench/results/https.json

Per scenario and client: the median time per request (pytest-benchmark's
median per timed call divided by the requests each call sends), requests per
second (its inverse; in https-4, all 64 requests in flight together), MB/s of
response body (10**6 bytes per second; https-2), httpool's requests per
second divided by that client's, the CPU time the benchmark process spent per
request (the client's own cost, nginx's not included) and the connections
nginx accepted while the client ran (out of the requests it served).

Then, per scenario: the fastest peer (the raw floors are not peers) and
httpool's ratio to it, httpool's ratio to the raw-tls floor, and the ratio of
the two floors (raw-tls-bio's requests/s ÷ raw-tls's: what an SSLObject over
memory BIOs with one's own socket I/O costs against an SSLSocket, in a plain
Python loop); what each client negotiated on its new connections in https-3
and how many of them resumed a TLS session; and the targets, met or not.
The exit status is 0 either way. Other benchmarks in the same file are ignored.
"""

from __future__ import annotations

import sys

from benchjson import count, cpu_name, load_grouped, markdown_main

SCENARIOS = {
    "1": "(1) GET 13 B, sequential",
    "2": "(2) GET 1 MiB, sequential",
    "3": "(3) GET 13 B, new connection each",
    "4": "(4) GET 13 B, 64 in flight",
}
FLOOR, FLOOR_BIO = "raw-tls", "raw-tls-bio"
FLOORS = (FLOOR, FLOOR_BIO)
CLIENTS = ("httpool", FLOOR, FLOOR_BIO, "httpx", "httpx-async", "urllib3", "aiohttp", "pycurl",
           "pyreqwest", "pyreqwest-async", "httpr", "rnet", "rnet-async", "curl_cffi",
           "curl_cffi-async")
LABELS = {"httpx-async": "httpx (async)", "pyreqwest-async": "pyreqwest (async)",
          "rnet-async": "rnet (async)", "curl_cffi-async": "curl_cffi (async)",
          FLOOR: "raw-tls (floor: SSLSocket)", FLOOR_BIO: "raw-tls-bio (floor: SSLObject + BIO)"}
MB_SCENARIOS = ("2",)

# Targets (reported, not asserted): (scenario or None for every one, peer, at least httpool/peer)
MIN_RATIO = [("1", "httpx", 3.0)]
MIN_FLOOR = 0.85     # httpool at least this fraction of raw-tls's requests/s, every scenario


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def per_request(bench: dict) -> float:
    """Median seconds per request."""
    return bench["stats"]["median"] / bench["extra_info"]["requests_per_call"]


def load(path: str) -> tuple[dict, dict]:
    """{scenario: {client: benchmark entry}} of the HTTPS benchmarks, and the document."""
    return load_grouped(path, "https_scenario", "client")


def _order(results: dict, scenarios: dict = SCENARIOS) -> list:
    return [s for s in scenarios if s in results]


def _label(client: str) -> str:
    return LABELS.get(client, client)


def peers(per_client: dict) -> list:
    return [c for c in per_client if c != "httpool" and c not in FLOORS]


def fastest_peer(per_client: dict) -> str | None:
    candidates = peers(per_client)
    return min(candidates, key=lambda c: per_request(per_client[c])) if candidates else None


def header(results: dict, doc: dict) -> str:
    machine = doc.get("machine_info", {})
    cpus = machine.get("cpu", {}).get("count") or doc.get("http_bench", {}).get("cpus")
    versions = {}
    for per_client in results.values():
        for client, bench in per_client.items():
            info = bench["extra_info"]
            library = client.removesuffix("-async")
            if library in FLOORS:
                continue
            text = info.get("version") or "?"
            if info.get("tls_library"):
                text += f" ({info['tls_library']})"
            versions.setdefault(library, text)
    meta = doc.get("http_bench", {})
    server = (meta.get("nginx") or "nginx").replace("nginx version: ", "")
    tls = meta.get("tls_server") or {}
    if tls:
        server += (f", {tls.get('protocols', 'TLS')} only, {tls.get('key_type', '?')} certificate, "
                   f"session tickets {'on' if tls.get('session_tickets') else 'off'}, "
                   f"session cache {tls.get('session_cache', '?')}")
    if meta.get("congestion_control"):
        server += f" ({meta['congestion_control']} congestion control)"
    python_ssl = tls.get("python_ssl")
    placement = "; ".join(f"{kind} scenarios: {where}"
                          for kind, where in (meta.get("placement") or {}).items())
    return (f"{cpu_name(doc)}{f' ({cpus} CPUs)' if cpus else ''}, "
            f"{machine.get('python_implementation', 'Python')} {machine.get('python_version', '?')}"
            + (f" with {python_ssl}" if python_ssl else "") + "; "
            + ", ".join(f"{c} {v}" for c, v in versions.items()) + f"; {server}"
            + (f"; {placement}" if placement else "")
            + f"; pytest-benchmark {doc.get('version', '?')}, {doc.get('datetime', '?')[:10]}.")


def table(results: dict, scenarios: dict = SCENARIOS, clients: tuple = CLIENTS,
          mb_scenarios: tuple = MB_SCENARIOS) -> list:
    """The table of every client in every scenario; `scenarios` (key: title),
    `clients` (their order) and `mb_scenarios` are another benchmark's when
    its report passes them (bench/policy_report.py)."""
    lines = ["| Scenario | Client | Median per request | Requests/s | MB/s "
             "| httpool ÷ client | Client CPU per request | Connections opened |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for scenario in _order(results, scenarios):
        per_client = results[scenario]
        base = per_client.get("httpool")
        base_rps = 1 / per_request(base) if base else None
        fastest = fastest_peer(per_client)
        first = True
        for client in sorted(per_client, key=lambda c: clients.index(c) if c in clients else 99):
            bench = per_client[client]
            info = bench["extra_info"]
            median = per_request(bench)
            rps = 1 / median
            mbs = count(rps * info["body_bytes"] / 1e6) if scenario in mb_scenarios else ""
            ratio = "—" if client == "httpool" or base_rps is None else f"{base_rps / rps:.2f}×"
            opened = f"{info['connections_opened']:,} of {info['requests_served']:,}"
            cpu = info.get("client_cpu_per_request")
            cpu = _time(cpu) if cpu is not None else ""
            title = scenarios.get(scenario, scenario) if first else ""
            first = False
            name = _label(client)
            if client == "httpool":
                name = f"**{name}**"
            elif client == fastest:
                name += " (fastest peer)"
            lines.append(f"| {title} | {name} | {_time(median)} | {count(rps)} | {mbs} "
                         f"| {ratio} | {cpu} | {opened} |")
    return lines


def summary(results: dict) -> list:
    """Per scenario: the fastest peer, httpool against it and the floor, the floors' ratio."""
    lines = ["| Scenario | Fastest peer | httpool ÷ fastest peer | httpool ÷ raw-tls "
             "| raw-tls-bio ÷ raw-tls |", "|---|---|---:|---:|---:|"]
    for scenario in _order(results):
        per_client = results[scenario]
        fastest = fastest_peer(per_client)
        base = per_client.get("httpool")

        def ratio(a, b):
            if a is None or b is None:
                return "—"
            return f"{per_request(b) / per_request(a):.2f}×"

        lines.append(
            f"| {SCENARIOS[scenario]} "
            f"| {_label(fastest) + f' ({count(1 / per_request(per_client[fastest]))}/s)' if fastest else '—'} "
            f"| {ratio(base, per_client.get(fastest))} "
            f"| {ratio(base, per_client.get(FLOOR))} "
            f"| {ratio(per_client.get(FLOOR_BIO), per_client.get(FLOOR))} |")
    return lines


def tls_table(results: dict) -> list:
    per_client = results.get("3")
    if not per_client or not any("tls" in b["extra_info"] for b in per_client.values()):
        return []
    lines = ["| Client | TLS library | Protocol | Cipher | Key exchange | New connections that resumed |",
             "|---|---|---|---|---|---:|"]
    for client in sorted(per_client, key=lambda c: CLIENTS.index(c) if c in CLIENTS else 99):
        info = per_client[client]["extra_info"]
        tls = info.get("tls")
        if not tls:
            continue
        resumed = f"{tls['resumed']} of {tls['probes']}"
        if info.get("tls_resumed") is not None:
            resumed += (f" (pool.stats(): {info['tls_resumed']:,} resumed, "
                        f"{info.get('tls_handshakes', '?')} tls_handshakes)")
        lines.append(f"| {_label(client)} | {info.get('tls_library') or '?'} | {tls['protocol']} "
                     f"| {tls['cipher']} | {tls['group']} | {resumed} |")
    return lines


def targets(results: dict) -> list:
    verdicts = []

    def verdict(text, got, want):
        return f"{text} — measured {got:.2f}×: {'met' if got >= want else '**not met**'}."

    for scenario in _order(results):
        per_client = results[scenario]
        if "httpool" not in per_client:
            verdicts.append(f"{SCENARIOS[scenario]}: httpool is not in this run (skipped?).")
            continue
        base = per_request(per_client["httpool"])
        fastest = fastest_peer(per_client)
        if fastest:
            got = per_request(per_client[fastest]) / base
            verdicts.append(verdict(f"{SCENARIOS[scenario]}: httpool faster than every peer "
                                    f"(the fastest: {_label(fastest)})", got, 1.0))
        if FLOOR in per_client:
            got = per_request(per_client[FLOOR]) / base
            verdicts.append(verdict(f"{SCENARIOS[scenario]}: httpool at least {MIN_FLOOR:g}× the "
                                    f"raw-tls floor's requests/s", got, MIN_FLOOR))
        for target_scenario, peer, want in MIN_RATIO:
            if target_scenario == scenario and peer in per_client:
                got = per_request(per_client[peer]) / base
                verdicts.append(verdict(f"{SCENARIOS[scenario]}: httpool at least {want:g}× "
                                        f"{_label(peer)}'s requests/s", got, want))
    return verdicts


def render(results: dict, doc: dict) -> str:
    lines = [header(results, doc), ""] + table(results)
    lines += ["", "Per scenario:", ""] + summary(results)
    tls = tls_table(results)
    if tls:
        lines += ["", "TLS of the new connections of (3) (nginx's view, after the timed rounds):",
                  ""] + tls
    verdicts = targets(results)
    if verdicts:
        lines += ["", "Targets:", ""] + [f"- {v}" for v in verdicts]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return markdown_main(argv, __doc__.splitlines()[0], load, render, "bench/test_https_bench.py")


if __name__ == "__main__":
    sys.exit(main())
