"""Reading pytest-benchmark's --benchmark-json files, for the report scripts."""

from __future__ import annotations

import json
from collections import defaultdict


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
