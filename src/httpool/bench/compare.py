"""The comparison ``python -m httpool bench`` runs when given no URL.

Scenarios, numbered as in the benchmark plan (2 and 4 live in ``bench/``):

    1  sequential GET /small (13-byte body): one request at a time, one connection
    3  sequential GET /1m (1 MiB body)
    5  GET /small with 8, then 64 requests in flight: httpool's own batch
       (iter_many), threads sharing one client (the sync peers), or asyncio
       tasks (httpx-async, aiohttp)

Within a scenario every client runs in turn, httpool first, each with a new
client object: a warm-up, then the measured run, both with budgets from the
caller (the same for every client). The ratio of a row is httpool's
requests/s divided by that client's: above 1, httpool is faster.

A row has no figures, only a ``problem``, when the client raised on opening or
did not get a single response; it keeps its figures and gets a ``problem``
too when some requests failed or a response was not the expected 200 with
the expected body size, so that a wrong server or a broken client never
passes as a fast one.

Rows are appended to the caller's list as each run ends, so that after
Ctrl-C (KeyboardInterrupt goes on up) the caller still has every finished
row, and the interrupted run's results so far as a last row whose problem
says it was interrupted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from httpool.bench._server import ONE_MIB_BODY, SMALL_BODY
from httpool.bench.loadgen import Budget, LoadRun, Result
from httpool.bench.peers import Peer

__all__ = ["Row", "Scenario", "compare", "scenarios"]


@dataclasses.dataclass(frozen=True)
class Scenario:
    number: int
    title: str
    path: str
    concurrency: int
    body_size: int


def scenarios(numbers: Sequence[int] = (1, 3, 5), in_flight: Sequence[int] = (8, 64)) -> list[Scenario]:
    """The scenarios to run, in order; scenario 5 once per level of `in_flight`."""
    small, large = len(SMALL_BODY), len(ONE_MIB_BODY)
    chosen = []
    if 1 in numbers:
        chosen.append(Scenario(1, f"sequential GET /small ({small} B)", "/small", 1, small))
    if 3 in numbers:
        chosen.append(Scenario(3, "sequential GET /1m (1 MiB)", "/1m", 1, large))
    if 5 in numbers:
        chosen += [Scenario(5, f"{level} in flight, GET /small", "/small", level, small)
                   for level in in_flight]
    return chosen


@dataclasses.dataclass
class Row:
    scenario: Scenario
    peer: Peer
    result: Result | None = None
    problem: str | None = None
    ratio: float | None = None  # httpool's requests/s / this client's


def _problem(result: Result, scenario: Scenario) -> str | None:
    if result.errors:
        name, count = max(result.errors.items(), key=lambda item: item[1])
        return f"{result.error_total} errors, {count} {name}: {result.error_examples[name]}"
    wrong = {status: n for status, n in result.statuses.items() if status != 200}
    if wrong:
        return "unexpected status: " + ", ".join(f"{n} x {status}" for status, n in sorted(wrong.items()))
    if result.body_bytes != result.responses * scenario.body_size:
        return f"bodies were not {scenario.body_size} bytes each"
    return None


def compare(base_url: str, peers: Sequence[Peer], plan: Sequence[Scenario], *,
            budget: Callable[[Scenario], Budget], warmup: Callable[[Scenario], Budget],
            timeout: float, on_run: Callable[[int, int, Scenario, LoadRun], None],
            rows: list[Row] | None = None) -> list[Row]:
    """Run every scenario of `plan` with every peer, appending a Row to `rows`
    (a new list if None, returned) as each run ends; on_run(index, total,
    scenario, run) is called as each run starts."""
    rows = [] if rows is None else rows
    total = len(plan) * len(peers)
    for scenario in plan:
        base: Result | None = None  # httpool's, the first peer's
        for peer in peers:
            run = LoadRun(peer, base_url + scenario.path, concurrency=scenario.concurrency,
                          budget=budget(scenario), warmup=warmup(scenario), timeout=timeout)
            on_run(len(rows) + 1, total, scenario, run)
            row = Row(scenario, peer)
            try:
                row.result = run.execute()
            except KeyboardInterrupt:
                if run.partial is not None and run.partial.responses:
                    row.result = run.partial
                    row.problem = f"interrupted after {run.partial.elapsed_s:.2f} s (results so far)"
                    _set_ratio(row, base)
                    rows.append(row)
                raise
            except Exception as exc:  # a peer that cannot run at all is reported, not fatal
                row.problem = f"{type(exc).__name__}: {exc}"
            else:
                row.problem = _problem(row.result, scenario)
                if not row.result.responses:
                    row.result = None
            if peer.name == "httpool" and peer is peers[0]:
                base = row.result
            _set_ratio(row, base)
            rows.append(row)
    return rows


def _set_ratio(row: Row, base: Result | None) -> None:
    if base is not None and row.result is not None and row.result.requests_per_s > 0:
        row.ratio = base.requests_per_s / row.result.requests_per_s
