"""The measuring loops of ``python -m httpool bench``.

A ``LoadRun`` sends GET requests to one URL through one client (a
``httpool.bench.peers`` adapter) from ``concurrency`` workers until its ``Budget``
says stop: after a number of requests in all, or at a deadline. An optional
warm-up runs first on the same client (connections opened, caches filled) and
is not recorded.

Workers are threads sharing the sync client, or asyncio tasks sharing the async
one; with one worker, the loop runs in the calling thread. httpool, with more
than one request in flight, runs its own way instead: one batch (iter_many)
from the calling thread, fed in chunks. Each worker writes
only its own ``Recorder``, so recording takes no lock. For every request it
keeps the latency (``time.perf_counter_ns`` around the call, so it includes any
wait for a pooled connection), the status, the body size, or the error by
type with its first message. Another thread may read ``LoadRun.completed()``
while the run goes on (it only sums list lengths): the live progress line does.

Results, when the run ends. Requests/s counts responses of any status. A run
of a number of requests divides them by the wall time from the start signal to
the end of the last worker. A run of some seconds counts, as wrk does, only the
responses that arrived within those seconds: a client that starves a few
requests for a long time would otherwise be charged for the wait after the
deadline, not for what it did within it. (A thread or task has at most one
response after the deadline, the one in flight then; a batch has its last
chunk's.)
Latency percentiles are nearest-rank over every response, late ones included.
A late request was either sent before the deadline (in flight then, or
answered just before it and handed back just after) or, in a batch, still
queued in it (handed to iter_many but not sent: at most ``concurrency`` are in
flight, the rest of the chunk waits); ``Result.late_queued`` counts the second
kind, told by the send time (the response's arrival as seen here less its
latency, which runs from the send, as wrk's; a late hand-back can only move a
request to this side). ``LoadRun.outstanding()`` gives the live split:
in flight and queued.

Ctrl-C: the budget is stopped so that every worker ends after its current
request, the workers are given a moment to do so (they are daemon threads and
cannot hold the process), the results of the measured phase so far are kept in
``LoadRun.partial`` (``Result.interrupted``: counted over the time it ran), the
client is closed, and KeyboardInterrupt goes on up. Under asyncio,
``asyncio.run`` cancels the tasks itself, and the same results are kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from httpool.bench.peers import Peer

__all__ = ["BATCH_CHUNK", "Budget", "LoadRun", "Result"]

BATCH_CHUNK = 16  # a batch is handed BATCH_CHUNK * concurrency requests at a time

_clock = time.perf_counter_ns
_JOIN_AFTER_INTERRUPT = 1.0  # seconds given to each worker thread to finish its request


class Budget:
    """When a run stops: after `requests` in all, or `seconds` after start()."""

    def __init__(self, *, requests: int | None = None, seconds: float | None = None) -> None:
        if (requests is None) == (seconds is None):
            raise ValueError("give requests or seconds")
        self.requests = requests
        self.seconds = seconds
        self._limit = requests or 0
        self._tickets = itertools.count()  # next() is atomic under the GIL
        self.end_ns = 0  # with seconds: the deadline, on the perf_counter_ns clock
        self.take: Callable[[], bool] = self._take_ticket if requests is not None else self._before_end

    def start(self) -> None:
        if self.seconds is not None:
            self.end_ns = _clock() + round(self.seconds * 1e9)

    def stop(self) -> None:
        """No request starts after this."""
        self._limit = 0
        self.end_ns = 0

    def _take_ticket(self) -> bool:
        return next(self._tickets) < self._limit

    def _before_end(self) -> bool:
        return _clock() < self.end_ns


class Recorder:
    """What one worker saw."""

    __slots__ = ("budget", "answers", "late", "late_queued", "submitted", "non_2xx",
                 "errors", "error_examples")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        # Per response, three ints: latency (ns), status, body size. One
        # list.extend() records a response whole: Ctrl-C raises
        # KeyboardInterrupt between bytecodes, never inside that call, so an
        # interrupted run never counts a response's latency without its status.
        self.answers: list[int] = []
        self.late = 0                   # responses after a seconds budget's deadline
        self.late_queued = 0            # of those, sent after it (queued in a batch then)
        self.submitted = 0              # requests handed to a batch (batch only)
        self.non_2xx = 0                # for the progress line; Result counts from answers
        self.errors: Counter[str] = Counter()
        self.error_examples: dict[str, str] = {}

    @property
    def responses(self) -> int:
        return len(self.answers) // 3

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def completed(self) -> int:
        return self.responses + self.error_count

    def answered(self, started_ns: int, status: int, size: int, finished: int = 0,
                 queued: bool = False) -> None:
        """A response; `queued`: it may have waited in a batch before `started_ns`."""
        finished = finished or _clock()
        end_ns = self.budget.end_ns
        if end_ns and finished > end_ns:
            self.late += 1
            if queued and started_ns >= end_ns:
                self.late_queued += 1
        if not 200 <= status < 300:
            self.non_2xx += 1
        self.answers.extend((finished - started_ns, status, size))

    def failed(self, exc: Exception) -> None:
        name = type(exc).__name__
        self.errors[name] += 1
        self.error_examples.setdefault(name, str(exc) or repr(exc))


@dataclasses.dataclass
class Result:
    """A finished run."""

    elapsed_s: float         # wall time
    window_s: float          # the time requests/s is counted over
    counted: int             # the responses counted: those that arrived within window_s
    latencies_ns: list[int]  # sorted
    statuses: dict[int, int]
    body_bytes: int
    errors: dict[str, int]
    error_examples: dict[str, str]
    client_stats: Any = None  # what the client says about itself (httpool: PoolStats)
    late_queued: int = 0      # late responses (after window_s) sent only after it (queued until then)
    interrupted: bool = False  # Ctrl-C: the results so far, counted over the time the run took

    @classmethod
    def merge(cls, recorders: list[Recorder], budget: Budget, elapsed_ns: int, client_stats: Any,
              interrupted: bool = False) -> Result:
        latencies: list[int] = []
        statuses: Counter[int] = Counter()
        body_bytes = 0
        errors: Counter[str] = Counter()
        examples: dict[str, str] = {}
        for recorder in recorders:
            answers = recorder.answers
            latencies += answers[0::3]
            statuses.update(answers[1::3])
            body_bytes += sum(answers[2::3])
            errors.update(recorder.errors)
            for name, message in recorder.error_examples.items():
                examples.setdefault(name, message)
        latencies.sort()
        late_queued = 0
        if budget.seconds is not None and not interrupted:
            window = budget.seconds
            counted = len(latencies) - sum(r.late for r in recorders)
            late_queued = sum(r.late_queued for r in recorders)
        else:
            window, counted = elapsed_ns / 1e9, len(latencies)
        return cls(elapsed_ns / 1e9, window, counted, latencies, dict(statuses),
                   body_bytes, dict(errors), examples, client_stats,
                   late_queued, interrupted)

    @property
    def responses(self) -> int:
        return len(self.latencies_ns)

    @property
    def late(self) -> int:
        """Responses after the window: in flight at its end, or queued then."""
        return self.responses - self.counted

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def error_status(self) -> int:
        """Responses with a 4xx or 5xx status."""
        return sum(n for status, n in self.statuses.items() if status >= 400)

    @property
    def all_failed(self) -> bool:
        """Requests were made and none got a response with a status below 400."""
        return (self.responses + self.error_total > 0
                and self.error_status == self.responses)

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())

    @property
    def requests_per_s(self) -> float:
        return self.counted / self.window_s if self.window_s > 0 else 0.0

    def percentile_ns(self, q: float) -> int | None:
        """Nearest-rank percentile (q in 0..100) of the latencies, None without any."""
        if not self.latencies_ns:
            return None
        rank = max(1, math.ceil(q / 100 * len(self.latencies_ns)))
        return self.latencies_ns[min(rank, len(self.latencies_ns)) - 1]

    @property
    def mean_ns(self) -> float | None:
        return sum(self.latencies_ns) / len(self.latencies_ns) if self.latencies_ns else None


def _work(get: Callable[[str], tuple[int, int]], url: str, budget: Budget, recorder: Recorder) -> None:
    take = budget.take
    while take():
        started = _clock()
        try:
            status, size = get(url)
        except Exception as exc:  # counted by type; the run goes on
            recorder.failed(exc)
            continue
        recorder.answered(started, status, size)


async def _work_async(get: Callable[[str], Awaitable[tuple[int, int]]], url: str, budget: Budget,
                      recorder: Recorder) -> None:
    take = budget.take
    while take():
        started = _clock()
        try:
            status, size = await get(url)
        except Exception as exc:  # counted by type; the run goes on
            recorder.failed(exc)
            continue
        recorder.answered(started, status, size)


def _run_threads(get: Callable[[str], tuple[int, int]], url: str, budget: Budget,
                 recorders: list[Recorder]) -> int:
    """Run one worker per recorder; the wall time in ns."""
    if len(recorders) == 1:
        budget.start()
        started = _clock()
        _work(get, url, budget, recorders[0])
        return _clock() - started
    barrier = threading.Barrier(len(recorders) + 1)

    def worker(recorder: Recorder) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:  # interrupted before the start
            return
        _work(get, url, budget, recorder)

    threads = [threading.Thread(target=worker, args=(recorder,), name=f"bench-worker-{i}", daemon=True)
               for i, recorder in enumerate(recorders)]
    try:
        for thread in threads:
            thread.start()
        budget.start()
        barrier.wait()
        started = _clock()
        for thread in threads:
            thread.join()
        return _clock() - started
    except BaseException:
        budget.stop()
        barrier.abort()
        for thread in threads:
            if thread.is_alive():
                thread.join(_JOIN_AFTER_INTERRUPT)
        raise


async def _run_tasks(get: Callable[[str], Awaitable[tuple[int, int]]], url: str, budget: Budget,
                     recorders: list[Recorder]) -> int:
    budget.start()
    started = _clock()
    await asyncio.gather(*(_work_async(get, url, budget, recorder) for recorder in recorders))
    return _clock() - started


def _run_batch(get_many: Callable[[str, int, int], Iterator[Any]], url: str, budget: Budget,
               recorder: Recorder, concurrency: int) -> int:
    """httpool's own way: chunks of requests through one batch (iter_many),
    `concurrency` in flight, from this thread. The wall time in ns."""
    chunk = BATCH_CHUNK * concurrency
    budget.start()
    started = _clock()
    while True:
        count = 0
        while count < chunk and budget.take():
            count += 1
        if not count:
            return _clock() - started
        recorder.submitted += count
        for item in get_many(url, count, concurrency):
            if isinstance(item, Exception):
                recorder.failed(item)
            else:
                status, size, latency_ns = item
                finished = _clock()
                recorder.answered(finished - latency_ns, status, size, finished, queued=True)


class LoadRun:
    """One client, one URL, `concurrency` workers: a warm-up, then the measured run."""

    def __init__(self, peer: Peer, url: str, *, concurrency: int, budget: Budget,
                 warmup: Budget | None = None, timeout: float = 10.0) -> None:
        self.peer = peer
        self.url = url
        self.concurrency = concurrency
        self.budget = budget
        self.warmup = warmup
        self.timeout = timeout
        self.phase = "starting"  # then "warm-up" and "measuring"
        self.phase_started_ns = _clock()
        self.recorders: list[Recorder] = []
        self.batch = False  # the current phase runs as one batch (httpool's get_many)
        self.partial: Result | None = None  # after Ctrl-C in the measured phase

    def completed(self) -> int:
        """Requests done in the current phase (safe to call from another thread)."""
        return sum(recorder.completed for recorder in self.recorders)

    def outstanding(self) -> tuple[int, int]:
        """(in flight, queued) now, as far as the run can tell: a batch is handed
        chunks of requests of which at most `concurrency` are in flight and the
        rest wait in it; a worker thread or task has one request in flight, none
        queued. Safe to call from another thread."""
        recorders = self.recorders
        if not self.batch:
            return (len(recorders) if self.phase in ("warm-up", "measuring") else 0), 0
        waiting = sum(r.submitted - r.completed for r in recorders)
        in_flight = min(waiting, self.concurrency)
        return in_flight, waiting - in_flight

    def _keep_partial(self, client: Any) -> None:
        if self.phase != "measuring":
            return
        elapsed = _clock() - self.phase_started_ns
        stats = None
        if hasattr(client, "stats"):
            try:
                stats = client.stats()
            except Exception:  # the results matter more than the stats
                stats = None
        self.partial = Result.merge(self.recorders, self.budget, elapsed, stats, interrupted=True)

    def _enter(self, phase: str, budget: Budget, workers: int, batch: bool = False) -> list[Recorder]:
        recorders = [Recorder(budget) for _ in range(workers)]
        self.recorders = recorders
        self.batch = batch
        self.phase = phase
        self.phase_started_ns = _clock()
        return recorders

    def execute(self) -> Result:
        if self.peer.is_async:
            return asyncio.run(self._execute_async())
        client = self.peer.open(self.concurrency, self.timeout)
        try:
            if self.warmup is not None:
                self._measure(client, self.warmup, "warm-up")
            recorders, elapsed = self._measure(client, self.budget, "measuring")
            stats = client.stats() if hasattr(client, "stats") else None
        except KeyboardInterrupt:
            self._keep_partial(client)
            raise
        finally:
            client.close()
        return Result.merge(recorders, self.budget, elapsed, stats)

    def _measure(self, client: Any, budget: Budget, phase: str) -> tuple[list[Recorder], int]:
        if self.concurrency > 1 and hasattr(client, "get_many"):
            recorders = self._enter(phase, budget, 1, batch=True)
            return recorders, _run_batch(client.get_many, self.url, budget, recorders[0],
                                         self.concurrency)
        recorders = self._enter(phase, budget, self.concurrency)
        return recorders, _run_threads(client.get, self.url, budget, recorders)

    async def _execute_async(self) -> Result:
        client = self.peer.open(self.concurrency, self.timeout)
        try:
            if self.warmup is not None:
                await _run_tasks(client.get, self.url, self.warmup,
                                 self._enter("warm-up", self.warmup, self.concurrency))
            recorders = self._enter("measuring", self.budget, self.concurrency)
            elapsed = await _run_tasks(client.get, self.url, self.budget, recorders)
        except (asyncio.CancelledError, KeyboardInterrupt):  # asyncio.run cancels on Ctrl-C
            self._keep_partial(client)
            raise
        finally:
            await client.close()
        return Result.merge(recorders, self.budget, elapsed, None)
