"""The comparison's chart: a PNG with matplotlib, or bars drawn in the terminal.

``python -m httpool bench --png FILE`` draws one panel per scenario (requests/s
per client, httpool in red, each bar labelled with its figure and httpool's
speed-up over that client) when matplotlib can be imported, and falls back to
``bars()``, the same figures as text bars, when it cannot; ``--chart`` prints
the text bars in any case. Rows without figures (a client that failed) are
left out of the bars and named under them.
"""

from __future__ import annotations

from collections.abc import Sequence

from httpool.bench.compare import Row, Scenario

__all__ = ["bars", "png"]

_HTTPOOL_COLOR = "#d62728"
_PEER_COLOR = "#1f77b4"
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _by_scenario(rows: Sequence[Row]) -> list[tuple[Scenario, list[Row]]]:
    groups: list[tuple[Scenario, list[Row]]] = []
    for row in rows:
        if not groups or groups[-1][0] != row.scenario:
            groups.append((row.scenario, []))
        groups[-1][1].append(row)
    return groups


def _rate(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.1f}k"
    return f"{value:,.0f}"


def _ratio(row: Row) -> str:
    if row.peer.name == "httpool" or row.ratio is None:
        return ""
    return f"httpool {row.ratio:.2f}x"


def _bar(fraction: float, width: int, unicode: bool) -> str:
    if not unicode:
        return "#" * round(fraction * width)
    eighths = round(fraction * width * 8)
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def bars(rows: Sequence[Row], width: int = 40, unicode: bool = True) -> str:
    """The comparison as horizontal bars of requests/s, one group per scenario,
    each scaled to the fastest client of its scenario."""
    lines = ["", "requests/s, longer is better (httpool Nx: httpool's requests/s is N times the client's)"]
    for scenario, group in _by_scenario(rows):
        lines += ["", f"{scenario.number}  {scenario.title}"]
        measured = [row for row in group if row.result is not None]
        top = max((row.result.requests_per_s for row in measured), default=0.0)  # type: ignore[union-attr]
        name_width = max(len(row.peer.name) for row in group)
        for row in measured:
            value = row.result.requests_per_s  # type: ignore[union-attr]
            bar = _bar(value / top if top > 0 else 0.0, width, unicode)
            note = "  (interrupted)" if row.result.interrupted else ""  # type: ignore[union-attr]
            lines.append(f"  {row.peer.name:<{name_width}}  {bar:<{width}}  {_rate(value):>7}  "
                         f"{_ratio(row)}{note}".rstrip())
        for row in group:
            if row.result is None:
                lines.append(f"  {row.peer.name:<{name_width}}  failed (see problems above)")
    return "\n".join(lines)


def png(rows: Sequence[Row], path: str, title: str, subtitle: str | None = None) -> None:
    """Draw the comparison to `path` (PNG). ImportError when matplotlib is missing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    groups = [(scenario, [row for row in group if row.result is not None])
              for scenario, group in _by_scenario(rows)]
    groups = [(scenario, group) for scenario, group in groups if group] or groups[:1]
    cols = min(2, max(1, len(groups)))
    nrows = -(-len(groups) // cols)
    most = max((len(group) for _, group in groups), default=1)
    fig, axes = plt.subplots(nrows, cols, figsize=(6.2 * cols, 0.9 + (0.42 * most + 0.9) * nrows),
                             dpi=100, squeeze=False)
    flat = list(axes.flat)
    for ax, (scenario, group) in zip(flat, groups, strict=False):
        names = [row.peer.name + (" (interrupted)" if row.result.interrupted else "")  # type: ignore[union-attr]
                 for row in group]
        values = [row.result.requests_per_s for row in group]  # type: ignore[union-attr]
        y = list(range(len(group)))[::-1]
        ax.barh(y, values, color=[_HTTPOOL_COLOR if row.peer.name == "httpool" else _PEER_COLOR
                                  for row in group])
        ax.set_yticks(y, names, fontsize=9)
        ax.set_title(f"{scenario.number}  {scenario.title}", fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v else "0"))
        top = max(values, default=0.0) or 1.0
        ax.set_xlim(0, top * 1.45)
        for yi, row, value in zip(y, group, values, strict=False):
            label = f"{_rate(value)}/s"
            if _ratio(row):
                label += f"  ({_ratio(row)})"
            ax.text(value + top * 0.01, yi, label, va="center", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    for ax in flat[len(groups):]:
        ax.axis("off")
    fig.suptitle(title + ("\n" + subtitle if subtitle else ""), fontsize=11)
    fig.supxlabel("requests per second (more is better)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
