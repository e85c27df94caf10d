"""Reading pytest-benchmark's --benchmark-json files, for the report scripts."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def load_grouped(path: str, group: str, member: str) -> tuple[dict, dict]:
    """{extra_info[group]: {extra_info[member]: benchmark entry}} of the
    benchmarks that carry both keys, and the whole document."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    results: dict = defaultdict(dict)
    for bench in doc.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if info.get(group) is not None and info.get(member) is not None:
            results[info[group]][info[member]] = bench
    return dict(results), doc


def cpu_name(doc: dict) -> str:
    machine = doc.get("machine_info", {})
    return machine.get("cpu", {}).get("brand_raw") or machine.get("processor") or "unknown CPU"


def count(value: float) -> str:
    """1,234,567"""
    return f"{value:,.0f}"


def markdown_main(argv: list[str] | None, description: str, load, render, source: str,
                  chart=None) -> int:
    """The command line of a report that prints Markdown: one JSON file in.
    `load(path)` gives (results, document), `render(results, document)` the
    Markdown; 1 when the file has no benchmarks from `source` (the module
    that makes them). With `chart(results, document, path)`, --png PATH
    draws it too (matplotlib, from the bench extra: without it, no chart)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("json_file", help="output of pytest --benchmark-json")
    if chart is not None:
        ap.add_argument("--png", help="also draw the bar chart to this file (needs matplotlib)")
    args = ap.parse_args(argv)
    results, doc = load(args.json_file)
    if not results:
        print(f"{args.json_file}: no benchmarks from {source}", file=sys.stderr)
        return 1
    sys.stdout.write(render(results, doc))
    if chart is not None and args.png:
        _draw(chart, results, doc, args.png)
    return 0


def _draw(chart, results: dict, doc: dict, path: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        chart(results, doc, path)
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no chart", file=sys.stderr)
        return
    print(f"\nChart: {path}", file=sys.stderr)
