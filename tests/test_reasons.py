"""Close reasons and counters are named once, in httpool._reasons' rows.

What derives from the rows at run time is checked here to derive from them
(CloseReason, the stats fields, str(stats), the C arrays' sizes); what cannot
derive from them is checked against them: the C names and comments of
_reasons.pxd, the .pyi stubs and the README's lists. A row added, renamed or
moved fails here until every place says the same.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

import httpool
from httpool._idle import PoolCore
from httpool._reasons import CLOSE_REASONS, CLOSE_ROWS, COUNTER_ROWS, COUNTERS

PACKAGE = Path(httpool.__file__).parent
README = Path(__file__).resolve().parents[1] / "README.md"

# rows, the prefix of their C names, the C name of their count
TABLES = {
    "close reasons": (CLOSE_ROWS, "CLOSE_", "CLOSE_REASON_COUNT"),
    "counters": (COUNTER_ROWS, "COUNT_", "COUNTER_COUNT"),
}


def names(rows: tuple) -> list[str]:
    return [row[1] for row in rows]


def pxd_enum(prefix: str, count: str) -> list[tuple[str, str]]:
    """(C name, comment) of each member of a _reasons.pxd enum, in order."""
    members: list[list[str]] = []
    in_enum = False
    for line in (PACKAGE / "_reasons.pxd").read_text().splitlines():
        member = re.match(r"    ([A-Z_]+)(?: = \d+)?\s+# (.*)$", line)
        continued = re.match(r"\s+# (.*)$", line)
        if member and (member.group(1).startswith(prefix) or member.group(1) == count):
            in_enum = True
            members.append([member.group(1), member.group(2)])
        elif in_enum and continued:
            members[-1][1] += " " + continued.group(1)
        else:
            in_enum = False
    return [(name, comment) for name, comment in members]


def stub_class(stub: str, name: str) -> list[ast.stmt]:
    tree = ast.parse((PACKAGE / stub).read_text())
    return next(node.body for node in tree.body if isinstance(node, ast.ClassDef) and node.name == name)


def stub_fields(stub: str, name: str) -> list[str]:
    return [node.target.id for node in stub_class(stub, name) if isinstance(node, ast.AnnAssign)]


def readme_list(heading: str) -> list[tuple[str, str]]:
    """(name, description) of the README's list under the paragraph starting with heading."""
    text = README.read_text()
    start = text.index("\n" + heading)
    block = text[start:].split("\n\n")[1]
    return [re.fullmatch(r"- `(\w+)`: (.*)", line).groups() for line in block.splitlines()]


@pytest.mark.parametrize("table", TABLES)
def test_rows_are_named_once_in_value_order(table):
    rows, _, _ = TABLES[table]
    first = rows[0][0]
    assert [row[0] for row in rows] == list(range(first, first + len(rows)))
    assert len(set(names(rows))) == len(rows)
    for _, name, description in rows:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", name)
        assert description and "\n" not in description


@pytest.mark.parametrize("table", TABLES)
def test_pxd_names_and_comments_match_the_rows(table):
    rows, prefix, count = TABLES[table]
    members = pxd_enum(prefix, count)
    if prefix == "CLOSE_":
        assert members.pop(0)[0] == "CLOSE_NONE"
    assert members.pop()[0] == count
    assert members == [(prefix + name.upper(), description) for _, name, description in rows]


def test_close_reason_enum_matches_the_rows():
    assert [(m.name, m.value) for m in httpool.CloseReason] == [
        (name.upper(), value) for value, name, _ in CLOSE_ROWS
    ]
    stub = [(node.targets[0].id, node.value.value) for node in stub_class("_reasons.pyi", "CloseReason")
            if isinstance(node, ast.Assign)]
    assert stub == [(m.name, m.value) for m in httpool.CloseReason]


def test_stats_fields_match_the_rows():
    closed = [f.name for f in dataclasses.fields(httpool.ClosedStats)]
    origin = [f.name for f in dataclasses.fields(httpool.OriginStats)]
    pool = [f.name for f in dataclasses.fields(httpool.PoolStats)]
    assert closed == list(CLOSE_REASONS)
    assert origin == [*COUNTERS, "idle", "in_use", "closed"]
    assert pool == [*origin, "waiting", "origins"]
    assert stub_fields("_stats.pyi", "ClosedStats") == closed
    assert stub_fields("_stats.pyi", "OriginStats") == origin
    assert stub_fields("_stats.pyi", "PoolStats") == ["waiting", "origins"]


def test_c_arrays_are_sized_by_the_rows():
    core = PoolCore(1, 1, 1, 1.0, 1.0)
    counts, closed = core.slots(("http", "example", 80), "http://example").counters()
    assert len(counts) == len(COUNTERS)
    assert len(closed) == 1 + len(CLOSE_REASONS)  # closed[0] is CLOSE_NONE
    stats = httpool.OriginStats.from_counters(tuple(range(1, len(counts) + 1)),
                                              tuple(range(len(closed))), 0, 0)
    assert [getattr(stats, name) for name in COUNTERS] == list(range(1, len(COUNTERS) + 1))
    assert [getattr(stats.closed, name) for name in CLOSE_REASONS] == list(range(1, len(closed)))


def test_str_lists_counters_and_reasons_in_table_order():
    closed = httpool.ClosedStats(*range(1, len(CLOSE_REASONS) + 1))
    stats = httpool.PoolStats(*range(1, len(COUNTERS) + 1), closed=closed)
    keys = [key for key, _ in re.findall(r"(\w+)=(\d+)", str(stats))]
    assert keys == [*COUNTERS, "idle", "in_use", "waiting", "closed", *CLOSE_REASONS]
    assert str(httpool.PoolStats()).endswith("closed=0 (none)")


@pytest.mark.parametrize(("heading", "rows"), [
    ("Counters, in order", COUNTER_ROWS),
    ("Close reasons, in order", CLOSE_ROWS),
])
def test_readme_lists_match_the_rows(heading, rows):
    expected = [(name, description) for _, name, description in rows]
    assert readme_list(heading) == expected, "README.md should list, under " + heading + ":\n" + (
        "\n".join(f"- `{name}`: {description}" for name, description in expected))
