"""``python -m httpool bench``: argument parsing, output, exit codes.

    python -m httpool --version
    python -m httpool bench [URL] [-n N | -d SECONDS] [-c C] [--timeout SECONDS]
                            [--allow-errors] [--server auto|nginx|builtin]
                            [--clients LIST] [--scenarios LIST] [--png FILE]
                            [--chart] [--json] [--progress]

Without a URL it runs the comparison of ``httpool.bench.compare`` against an
embedded server (``httpool.bench.embedded_server``) and prints a table. With a URL
it load-tests that URL with httpool alone, like wrk or hey, and prints
requests/s, latency percentiles, status counts, errors by type and the pool's
stats. The measuring itself is ``httpool.bench.loadgen``; the chart of the
comparison (``--png``, ``--chart``) is ``httpool.bench.chart``.

Output: the live progress line goes to stderr, rewritten in place with ``\\r``,
and only when stderr is a terminal or with ``--progress``; results go to
stdout, as text or (``--json``) as one JSON document.

Exit codes: 0 when the run finished; 1 when a URL load test got no response
with a status below 400 (every request failed or got a 4xx or 5xx), unless
``--allow-errors``; 2 for bad arguments, a URL that cannot be reached and a
server that would not start, each with one line on stderr and no traceback;
130 after Ctrl-C, once the results gathered so far are printed and any server
is stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import httpool
from httpool.bench.compare import Row, Scenario, compare, scenarios
from httpool.bench.embedded_server import ServerError, start_server
from httpool.bench.loadgen import BATCH_CHUNK as _BATCH_CHUNK
from httpool.bench.loadgen import Budget, LoadRun, Result
from httpool.bench.peers import PEERS, Peer, peer_named

__all__ = ["main"]

PROG = "python -m httpool"
_COMPARE_SECONDS = 0.8   # per measured run of the comparison: about 30 s with every peer
_URL_SECONDS = 10.0      # a URL load test without -n
_URL_CONCURRENCY = 8
_MAX_WARMUP_SECONDS = 0.25
_SCENARIO_NUMBERS = (1, 3, 5)
_IN_FLIGHT = (8, 64)
_INSTALL_PEERS = 'pip install "httpool[bench]", or pip install -e ".[bench]" in a checkout'
_COMPARISON_ONLY = ("server", "clients", "scenarios", "png", "chart")


class UsageError(Exception):
    """Bad arguments, an unreachable URL or a server that would not start: exit 2."""

    def __init__(self, message: str, prog: str = f"{PROG} bench") -> None:
        super().__init__(message)
        self.prog = prog


class _ShowVersion(Exception):
    """--version was given: main() prints the version and exits 0."""


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print httpool's version (and where it is installed) and exit")

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        raise _ShowVersion


def version_text() -> str:
    import os

    where = os.path.dirname(os.path.abspath(httpool.__file__))
    return (f"httpool {httpool.__version__} from {where} "
            f"({platform.python_implementation()} {platform.python_version()})")


class _Parser(argparse.ArgumentParser):
    """Errors as one line (argparse would print the usage first), raised, not exited."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)", self.prog)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text}")
    return value


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="httpool, a fast HTTP/1.1 client connection pool.")
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command",
                                     parser_class=_Parser)
    bench = commands.add_parser(
        "bench", help="compare httpool with other clients, or load-test a URL",
        description="With no URL: start an embedded server (nginx when installed, else "
                    "httpool's own) and compare httpool with every installed peer (httpx, "
                    "urllib3, requests, aiohttp, pycurl) on scenarios 1 (sequential small "
                    "GET), 3 (sequential 1 MiB GET) and 5 (8 and 64 in flight). With a URL: "
                    "load-test it with httpool alone. The peers come with the bench extra: "
                    + _INSTALL_PEERS + ".")
    bench.add_argument("--version", action=_VersionAction)
    bench.add_argument("url", nargs="?", metavar="URL",
                       help="http://host[:port]/path to load-test (none: the comparison)")
    amount = bench.add_mutually_exclusive_group()
    amount.add_argument("-n", "--requests", type=_positive_int, metavar="N",
                        help="requests in all (comparison: per run)")
    amount.add_argument("-d", "--duration", type=_positive_seconds, metavar="SECONDS",
                        help=f"seconds to run (default: {_URL_SECONDS:g} for a URL, "
                             f"{_COMPARE_SECONDS:g} per run for the comparison)")
    bench.add_argument("-c", "--concurrency", type=_positive_int, metavar="C",
                       help=f"requests in flight (default {_URL_CONCURRENCY}; comparison: "
                            f"scenario 5 at C only instead of {' and '.join(map(str, _IN_FLIGHT))})")
    bench.add_argument("--timeout", type=_positive_seconds, default=10.0, metavar="SECONDS",
                       help="total deadline of each request (default 10)")
    bench.add_argument("--allow-errors", action="store_true",
                       help="URL only: exit 0 even when every request failed or got a 4xx or 5xx "
                            "status (default: exit 1 then)")
    bench.add_argument("--server", choices=("auto", "nginx", "builtin"),
                       help="comparison only: the embedded server (default auto: nginx when "
                            "installed, else the built-in one)")
    bench.add_argument("--clients", type=_names, metavar="LIST",
                       help="comparison only: clients to run, comma-separated (default every "
                            f"installed one of {', '.join(p.name for p in PEERS)})")
    bench.add_argument("--scenarios", type=_names, metavar="LIST",
                       help="comparison only: scenarios to run, comma-separated (default 1,3,5)")
    bench.add_argument("--png", metavar="FILE",
                       help="comparison only: draw the chart of requests/s to FILE (needs "
                            "matplotlib; without it, bars are drawn in the terminal instead)")
    bench.add_argument("--chart", action="store_true",
                       help="comparison only: draw the bars of requests/s in the terminal too")
    bench.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    bench.add_argument("--progress", action="store_true",
                       help="show the live progress line even when stderr is not a terminal")
    return parser


# ------------------------------------------------------------------ progress


class _Progress:
    """The live line on stderr: a daemon thread rewrites it in place (``\\r``)
    five times a second from the function given to follow()."""

    INTERVAL = 0.2

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled
        self._describe: Callable[[], str] | None = None
        self._width = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, describe: Callable[[], str]) -> None:
        self._describe = describe
        if self._enabled and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="bench-progress", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            columns = shutil.get_terminal_size().columns
            text = self._describe()[: columns - 1]  # type: ignore[misc]
            self._width = max(self._width, len(text))
            self._stream.write("\r" + text.ljust(self._width))
            self._stream.flush()

    def close(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()


def _rate(run: LoadRun) -> str:
    seconds = (time.perf_counter_ns() - run.phase_started_ns) / 1e9
    done = run.completed()
    return f"{done:,} requests, {done / seconds if seconds > 0 else 0:,.0f}/s"


def _url_progress(run: LoadRun, total: str) -> str:
    seconds = (time.perf_counter_ns() - run.phase_started_ns) / 1e9
    done = run.completed()
    in_flight, queued = run.outstanding()
    recorders = run.recorders
    errors = sum(r.error_count for r in recorders)
    non_2xx = sum(r.non_2xx for r in recorders)
    return (f"{done:,}{total} requests, {done / seconds if seconds > 0 else 0:,.0f}/s, "
            f"{in_flight:,} in flight, {queued:,} queued, {non_2xx:,} non-2xx, {errors:,} errors")


# ------------------------------------------------------------------ formatting


def _latency(ns: float | None) -> str:
    if ns is None:
        return "-"
    us = ns / 1000
    if us < 1000:
        return f"{us:.0f} us"
    if us < 100_000:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1000:.0f} ms"


_QUANTILES = (("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9), ("max", 100))


def _latency_us(result: Result, quantiles: Sequence[tuple[str, float]]) -> dict[str, float | None]:
    figures = {}
    for name, q in quantiles:
        ns = result.percentile_ns(q)
        figures[name] = None if ns is None else round(ns / 1000, 1)
    return figures


def _pool_json(stats: Any) -> dict[str, Any]:
    figures = dataclasses.asdict(stats)
    figures["closed"]["total"] = stats.closed.total
    return figures


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                      for i, cell in enumerate(row)).rstrip() for row in rows]


def _compare_text(rows: list[Row]) -> str:
    lines = [""]
    cells = [["scenario", "client", "req/s", "p50", "p99", "httpool x"]]
    previous: Scenario | None = None
    for row in rows:
        title = f"{row.scenario.number}  {row.scenario.title}" if row.scenario != previous else ""
        previous = row.scenario
        result = row.result
        if result is None:
            cells.append([title, row.peer.name, "failed", "", "", ""])
            continue
        ratio = "-" if row.peer.name == "httpool" or row.ratio is None else f"{row.ratio:.2f}"
        cells.append([title, row.peer.name, f"{result.requests_per_s:,.0f}",
                      _latency(result.percentile_ns(50)), _latency(result.percentile_ns(99)), ratio])
    lines += _table(cells, right={2, 3, 4, 5})
    lines += ["", "httpool x: httpool's requests/s divided by the client's (above 1: httpool is faster)."]
    if not any(row.peer.name != "httpool" for row in rows):
        lines.append(f"No other client ran. To compare: {_INSTALL_PEERS}.")
    problems = [row for row in rows if row.problem]
    if problems:
        lines.append("problems:")
        lines += [f"  scenario {row.scenario.number} ({row.scenario.title}), {row.peer.name}: {row.problem}"
                  for row in problems]
    return "\n".join(lines)


def _compare_json(server: Any, note: str | None, peers: list[Peer], budget: dict[str, float],
                  rows: list[Row], missing: Sequence[str], interrupted: bool) -> dict[str, Any]:
    runs = []
    for row in rows:
        run: dict[str, Any] = {
            "scenario": row.scenario.number, "title": row.scenario.title, "path": row.scenario.path,
            "concurrency": row.scenario.concurrency, "client": row.peer.name, "problem": row.problem,
        }
        if row.result is not None:
            run.update(requests_per_s=round(row.result.requests_per_s, 1),
                       responses=row.result.responses, elapsed_s=round(row.result.elapsed_s, 4),
                       latency_us=_latency_us(row.result, (("p50", 50), ("p99", 99))), errors=row.result.errors,
                       httpool_ratio=None if row.ratio is None else round(row.ratio, 3),
                       interrupted=row.result.interrupted)
        runs.append(run)
    return {
        "mode": "compare", "httpool": httpool.__version__,
        "server": {"name": server.name, "description": server.description, "url": server.url,
                   "note": note},
        "clients": [{"name": peer.name, "version": peer.version} for peer in peers],
        "not_installed": list(missing), **budget, "interrupted": interrupted, "runs": runs,
    }


def _how(concurrency: int) -> str:
    if concurrency == 1:
        return "1 in flight (one thread)"
    chunk = _BATCH_CHUNK * concurrency
    return (f"{concurrency} in flight on {concurrency} connections, up to {chunk - concurrency:,} "
            f"more queued (iter_many batches of {chunk:,})")


def _url_text(url: str, concurrency: int, result: Result) -> str:
    seconds = result.elapsed_s
    late = result.late
    lines = [f"httpool {httpool.__version__} bench: GET {url}, {_how(concurrency)}", ""]
    if result.interrupted:
        lines.append(f"  interrupted  after {result.elapsed_s:.2f} s: the results so far")
    lines.append(f"  requests/s   {result.requests_per_s:,.0f}   ({result.counted:,} responses "
                 f"in {result.window_s:.2f} s)")
    if late:
        in_flight = late - result.late_queued
        lines.append(f"  {f'after {result.window_s:.2f} s':<12} {late:,} more responses, in the figures below, "
                     f"not in requests/s: {in_flight:,} sent before then"
                     + (f", {result.late_queued:,} queued in the batch until after" if result.late_queued else ""))
    lines.append("  latency      " + "   ".join(
        f"{name} {_latency(result.percentile_ns(q))}" for name, q in _QUANTILES)
        + f"   mean {_latency(result.mean_ns)}")
    megabytes = result.body_bytes / 1e6
    lines.append(f"  received     {megabytes:,.2f} MB of bodies ({megabytes / seconds if seconds else 0:,.2f} MB/s)")
    statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(result.statuses.items()))
    lines.append(f"  status       {statuses or 'none'}")
    if result.non_2xx:
        lines.append(f"  non-2xx      {result.non_2xx:,} of {result.responses:,} responses "
                     f"({100 * result.non_2xx / result.responses:.1f} %)")
    else:
        lines.append("  non-2xx      none")
    if result.errors:
        lines.append(f"  errors       {result.error_total:,} requests got no response")
        for name, n in sorted(result.errors.items(), key=lambda item: -item[1]):
            lines.append(f"    {name}: {n:,}   (e.g. {result.error_examples[name]})")
    else:
        lines.append("  errors       none (every request got a response)")
    if result.client_stats is not None:
        lines.append(f"  pool         {result.client_stats}")
    return "\n".join(lines)


def _url_json(url: str, concurrency: int, budget: Budget, result: Result) -> dict[str, Any]:
    return {
        "mode": "url", "httpool": httpool.__version__, "url": url, "method": "GET",
        "concurrency": concurrency, "requests": budget.requests, "duration_s": budget.seconds,
        "interrupted": result.interrupted,
        "responses": result.responses, "elapsed_s": round(result.elapsed_s, 4),
        "requests_per_s": round(result.requests_per_s, 1),
        "counted_responses": result.counted, "counted_over_s": round(result.window_s, 4),
        "late_responses": {"sent_before": result.late - result.late_queued, "queued": result.late_queued},
        "body_bytes": result.body_bytes,
        "latency_us": {**_latency_us(result, _QUANTILES),
                       "mean": None if result.mean_ns is None else round(result.mean_ns / 1000, 1)},
        "statuses": {str(status): n for status, n in sorted(result.statuses.items())},
        "non_2xx": result.non_2xx,
        "errors": result.errors, "error_examples": result.error_examples,
        "pool": None if result.client_stats is None else _pool_json(result.client_stats),
    }


# ------------------------------------------------------------------ the two modes


def _load_test(args: argparse.Namespace, progress: _Progress, out: TextIO, err: TextIO) -> int:
    # One request on a pool of its own: a bad URL (refused with ValueError
    # before any I/O) or an unreachable one is an error before any load, and
    # the stats of the run's pool count only the run.
    with httpool.Pool(timeout=args.timeout) as probe:
        try:
            probe.get(args.url)
        except ValueError as exc:
            message = str(exc)
            raise UsageError(f"bad URL: {message}" if args.url in message
                             else f"bad URL {args.url!r}: {message}") from None
        except httpool.HTTPError as exc:
            raise UsageError(f"cannot load-test {args.url}: {exc}") from None
    concurrency = args.concurrency or _URL_CONCURRENCY
    budget = (Budget(requests=args.requests) if args.requests
              else Budget(seconds=args.duration or _URL_SECONDS))
    run = LoadRun(peer_named("httpool"), args.url, concurrency=concurrency, budget=budget,
                  timeout=args.timeout)
    total = f" of {budget.requests:,}" if budget.requests else ""
    progress.follow(lambda: _url_progress(run, total))

    def report(result: Result) -> None:
        if args.json:
            print(json.dumps(_url_json(args.url, concurrency, budget, result), indent=2), file=out)
        else:
            print(_url_text(args.url, concurrency, result), file=out)
        out.flush()

    try:
        result = run.execute()
    except KeyboardInterrupt:
        progress.close()
        if run.partial is not None:
            report(run.partial)
        raise
    progress.close()
    report(result)
    if result.all_failed and not args.allow_errors:
        what = ", ".join(f"{status}: {n:,}" for status, n in sorted(result.statuses.items()))
        if result.error_total:
            what += (", " if what else "") + f"{result.error_total:,} without a response"
        print(f"{PROG} bench: every request failed or got an error status ({what}); "
              f"exit status 1 (--allow-errors: 0)", file=err)
        return 1
    return 0


def _choose_peers(names: list[str] | None) -> tuple[list[Peer], list[str]]:
    """The peers to run (httpool first) and the names of those not installed."""
    if names is None:
        return [p for p in PEERS if p.installed], [p.name for p in PEERS if not p.installed]
    peers = []
    for name in names:
        try:
            peer = peer_named(name)
        except KeyError:
            raise UsageError(f"unknown client {name!r}: choose among "
                             f"{', '.join(p.name for p in PEERS)}") from None
        if not peer.installed:
            raise UsageError(f"client {name!r} is not installed: pip install {peer.distribution}; "
                             f"all the peers: {_INSTALL_PEERS}")
        if peer not in peers:
            peers.append(peer)
    return sorted(peers, key=PEERS.index), []


def _choose_scenarios(names: list[str] | None, concurrency: int | None) -> list[Scenario]:
    numbers: tuple[int, ...] = _SCENARIO_NUMBERS
    if names is not None:
        if not names or any(name not in {str(n) for n in _SCENARIO_NUMBERS} for name in names):
            raise UsageError(f"--scenarios takes numbers among {','.join(map(str, _SCENARIO_NUMBERS))}, "
                             f"not {','.join(names) or 'nothing'}")
        numbers = tuple(int(name) for name in names)
    return scenarios(numbers, (concurrency,) if concurrency else _IN_FLIGHT)


def _budgets(args: argparse.Namespace) -> tuple[Callable[[Scenario], Budget], Callable[[Scenario], Budget],
                                                 dict[str, float], str]:
    """The comparison's budget per run and per warm-up (functions of the
    scenario), and how to state them in JSON and in words."""
    if args.requests:
        n = args.requests
        return (lambda scenario: Budget(requests=n),
                lambda scenario: Budget(requests=max(scenario.concurrency, n // 10)),
                {"requests_per_run": n}, f"{n:,} requests per run after a warm-up of a tenth of that")
    seconds = args.duration or _COMPARE_SECONDS
    warm = min(_MAX_WARMUP_SECONDS, seconds / 4)
    return (lambda scenario: Budget(seconds=seconds), lambda scenario: Budget(seconds=warm),
            {"seconds_per_run": seconds, "warmup_s": warm},
            f"{seconds:g} s per run after a {warm:g} s warm-up")


def _missing_text(missing: Sequence[str]) -> str:
    distributions = list(dict.fromkeys(peer_named(name).distribution for name in missing))
    return f"pip install {' '.join(distributions)}; all the peers: {_INSTALL_PEERS}"


def _comparison(args: argparse.Namespace, progress: _Progress, out: TextIO, err: TextIO) -> int:
    peers, missing = _choose_peers(args.clients)
    plan = _choose_scenarios(args.scenarios, args.concurrency)
    budget, warmup, amount, amount_text = _budgets(args)
    if missing and all(peer.name == "httpool" for peer in peers):
        print(f"{PROG} bench: no other HTTP client is installed, so httpool runs alone and is "
              f"compared with nothing (not installed: {', '.join(missing)}). The peers come with "
              f"the bench extra: {_INSTALL_PEERS}.", file=err, flush=True)
    try:
        server, note = start_server(args.server or "auto")
    except (ServerError, OSError) as exc:
        raise UsageError(f"cannot start the server: {exc}") from None
    rows: list[Row] = []
    interrupted = False
    try:
        header = [f"httpool {httpool.__version__} bench, server: {server.description} at {server.url}"]
        if note:
            header.append(f"  ({note})")
        header.append("clients: " + ", ".join(f"{p.name} {p.version}" for p in peers)
                      + (f"; not installed: {', '.join(missing)}" if missing else ""))
        if missing and any(peer.name != "httpool" for peer in peers):
            header.append(f"  (to add them: {_missing_text(missing)})")
        header.append(f"{amount_text}; timeout {args.timeout:g} s per request")
        if not args.json:
            print("\n".join(header), file=out, flush=True)

        def on_run(index: int, total: int, scenario: Scenario, run: LoadRun) -> None:
            progress.follow(lambda: f"[{index}/{total}] {scenario.number} {scenario.title}: "
                                    f"{run.peer.name} {run.phase}, {_rate(run)}")

        compare(server.url, peers, plan, budget=budget, warmup=warmup,
                timeout=args.timeout, on_run=on_run, rows=rows)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
        server.stop()
    if args.json:
        print(json.dumps(_compare_json(server, note, peers, amount, rows, missing, interrupted),
                         indent=2), file=out)
    else:
        if interrupted:
            print(f"\ninterrupted: {len(rows)} of {len(plan) * len(peers)} runs have results so far",
                  file=out)
        if rows:
            print(_compare_text(rows), file=out)
            if args.chart:
                print(_terminal_bars(rows, out), file=out)
    if args.png and rows:
        _draw_png(args.png, rows, server, peers, amount_text, out, err, terminal=not args.chart and not args.json)
    out.flush()
    if interrupted:
        raise KeyboardInterrupt
    return 0


def _terminal_bars(rows: list[Row], out: TextIO) -> str:
    from httpool.bench.chart import bars

    encoding = getattr(out, "encoding", None) or "ascii"
    try:
        "█▏".encode(encoding)
        unicode = True
    except (UnicodeEncodeError, LookupError):
        unicode = False
    width = max(10, min(40, shutil.get_terminal_size().columns - 45))
    return bars(rows, width=width, unicode=unicode)


def _draw_png(path: str, rows: list[Row], server: Any, peers: list[Peer], amount_text: str,
              out: TextIO, err: TextIO, terminal: bool) -> None:
    from httpool.bench.chart import png

    title = f"httpool {httpool.__version__} and its peers: requests per second"
    subtitle = f"against {server.description}, {amount_text}"
    try:
        png(rows, path, title, subtitle)
    except ImportError:
        print(f"{PROG} bench: matplotlib is not installed (pip install matplotlib), so no "
              f"{path}: the chart is drawn in the terminal instead", file=err)
        if terminal:
            print(_terminal_bars(rows, out), file=out)
        return
    except OSError as exc:
        print(f"{PROG} bench: cannot write the chart to {path}: {exc}", file=err)
        return
    print(f"chart: {path}", file=err)


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    progress = _Progress(err, enabled=False)
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:  # argparse would blame the top-level parser
            raise UsageError(f"unrecognized arguments: {' '.join(extra)} (see {PROG} bench --help)")
        if args.url is not None:
            for option in _COMPARISON_ONLY:
                if getattr(args, option) not in (None, False):
                    raise UsageError(f"--{option} applies to the comparison (no URL), not to a URL load test")
        elif args.allow_errors:
            raise UsageError("--allow-errors applies to a URL load test, not to the comparison")
        progress = _Progress(err, enabled=args.progress or err.isatty())
        if args.url is None:
            return _comparison(args, progress, out, err)
        return _load_test(args, progress, out, err)
    except _ShowVersion:
        print(version_text(), file=out)
        return 0
    except UsageError as exc:
        progress.close()
        print(f"{exc.prog}: error: {exc}", file=err)
        return 2
    except KeyboardInterrupt:
        progress.close()
        print(f"{PROG} bench: interrupted", file=err)
        return 130
