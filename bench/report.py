"""Turn a pytest-benchmark JSON file from bench/test_parser_bench.py into a
Markdown table (standard library only).

    python bench/report.py bench/results/local/parser.json

Per case and parser: the median time per response (pytest-benchmark's median
per timed call divided by the responses each call parses), responses per second
(1 / median), throughput in MB/s (10**6 bytes per second) of the whole response
as received (status line, headers, chunk framing and body), and how many times
faster httpool is than that parser (its median divided by httpool's). Then the
targets of the benchmark issue, met or not. The exit status is 0 either way.
"""

from __future__ import annotations

import sys

from benchjson import count, cpu_name, load_grouped, markdown_main

PARSERS = ("httpool", "httptools", "h11")
CASE_TITLES = {
    "a": "(a) 200, 10 headers, 1 KiB body",
    "b": "(b) 64 KiB chunked, 4 KiB chunks",
    "c": "(c) 1 MiB Content-Length body",
}
# From the issue: (a) at least 2x httptools' responses per second;
# (b) and (c) at least 1 GB/s.
MIN_SPEEDUP_VS_HTTPTOOLS = {"a": 2.0}
MIN_BYTES_PER_SECOND = {"b": 1e9, "c": 1e9}


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.3f} ms"




def per_response(bench: dict) -> float:
    """Median seconds per response."""
    return bench["stats"]["median"] / bench.get("extra_info", {}).get("responses_per_call", 1)


def load(path: str) -> tuple[dict, dict]:
    """{case: {parser: benchmark entry}} and the whole document."""
    return load_grouped(path, "case", "parser")


def render(results: dict, doc: dict) -> str:
    lines = []
    machine = doc.get("machine_info", {})
    cpu = cpu_name(doc)
    versions = {}
    for per_parser in results.values():
        for parser, bench in per_parser.items():
            versions[parser] = bench.get("extra_info", {}).get("version", "?")
    lines.append(
        f"{cpu}, {machine.get('python_implementation', 'Python')} "
        f"{machine.get('python_version', '?')}; "
        + ", ".join(f"{p} {versions[p]}" for p in PARSERS if p in versions)
        + f"; pytest-benchmark {doc.get('version', '?')}, {doc.get('datetime', '?')[:10]}.")
    lines.append("")
    lines.append("| Case | Parser | Median per response | Responses/s | MB/s | httpool is × faster |")
    lines.append("|---|---|---:|---:|---:|---:|")
    verdicts = []
    for case in sorted(results):
        per_parser = results[case]
        base = per_parser.get("httpool")
        base_median = per_response(base) if base else None
        first = True
        for parser in PARSERS:
            bench = per_parser.get(parser)
            if bench is None:
                continue
            median = per_response(bench)
            size = bench["extra_info"]["response_bytes"]
            if parser == "httpool" or base_median is None:
                ratio = "—"
            else:
                ratio = f"{median / base_median:.2f}×"
            title = CASE_TITLES.get(case, case) if first else ""
            first = False
            name = f"**{parser}**" if parser == "httpool" else parser
            lines.append(f"| {title} | {name} | {_time(median)} | {count(1 / median)} "
                         f"| {count(size / median / 1e6)} | {ratio} |")

        if base_median is None:
            continue
        label = CASE_TITLES.get(case, case)
        if case in MIN_SPEEDUP_VS_HTTPTOOLS and "httptools" in per_parser:
            want = MIN_SPEEDUP_VS_HTTPTOOLS[case]
            got = per_response(per_parser["httptools"]) / base_median
            verdicts.append(f"{label}: httpool at least {want:g}× httptools' responses/s — "
                            f"measured {got:.2f}×: {'met' if got >= want else '**not met**'}.")
        if case in MIN_BYTES_PER_SECOND:
            want = MIN_BYTES_PER_SECOND[case]
            got = base["extra_info"]["response_bytes"] / base_median
            verdicts.append(f"{label}: httpool at least {want / 1e9:g} GB/s — "
                            f"measured {got / 1e9:.2f} GB/s: "
                            f"{'met' if got >= want else '**not met**'}.")
    if verdicts:
        lines.append("")
        lines.append("Targets:")
        lines.append("")
        lines.extend(f"- {v}" for v in verdicts)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return markdown_main(argv, __doc__.splitlines()[0], load, render, "bench/test_parser_bench.py")


if __name__ == "__main__":
    sys.exit(main())
