"""The ``--html`` report of ``rules stats`` and ``rules diff``: one
self-contained page (inline CSS and SVG, no script, nothing fetched), with
the summary figures, a bar per rule, the transitions of a diff and every
verdict expandable to the lines around it. Every text from a log is
escaped: logs print markup (``<script>`` among it) that must stay text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from logsorter.workbench.run import LogResult

#: Pixels per bar of the chart, and the longest bar.
BAR_HEIGHT = 16
BAR_WIDTH = 480
LABEL_WIDTH = 300

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font: 12px system-ui, sans-serif; }
rect.bar { fill: #3b6ea8; } rect.matches { fill: #c9d8ea; }
details { margin: 2px 0; } summary { cursor: pointer; }
pre { background: #f6f6f6; padding: 6px; overflow-x: auto; margin: 4px 0 8px 1.5em; }
pre .hit { background: #ffe58a; display: block; }
.fixed { color: #17702e; } .broken { color: #b3261e; }
"""


def _page(title: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>" + "".join(body) + "</body></html>\n"
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], css: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='n'>{escape(_text(c))}</td>"
            if isinstance(c, int | float)
            else f"<td>{escape(_text(c))}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table class='{css}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _chart(rules: Sequence[dict[str, Any]]) -> str:
    """One bar per rule, priority order: its verdicts, over how many logs it
    matches at all (lighter)."""
    top = max([r["matches"] for r in rules] + [r["verdicts"] for r in rules] + [1])
    height = BAR_HEIGHT * len(rules)
    width = LABEL_WIDTH + BAR_WIDTH + 80
    parts = [
        f"<svg id='rules-chart' xmlns='http://www.w3.org/2000/svg' width='{width}' "
        f"height='{height}' role='img' aria-label='verdicts per rule'>"
    ]
    for row, rule in enumerate(rules):
        y = row * BAR_HEIGHT
        name = escape(rule["name"])
        matches = BAR_WIDTH * rule["matches"] / top
        verdicts = BAR_WIDTH * rule["verdicts"] / top
        parts.append(
            f"<g data-rule='{name}'>"
            f"<text x='{LABEL_WIDTH - 6}' y='{y + 12}' text-anchor='end'>{name}</text>"
            f"<rect class='matches' x='{LABEL_WIDTH}' y='{y + 2}' width='{matches:.1f}' "
            f"height='{BAR_HEIGHT - 4}'/>"
            f"<rect class='bar' x='{LABEL_WIDTH}' y='{y + 2}' width='{verdicts:.1f}' "
            f"height='{BAR_HEIGHT - 4}'><title>{name}: {rule['verdicts']} verdicts, "
            f"{rule['matches']} matches</title></rect>"
            f"<text x='{LABEL_WIDTH + max(matches, verdicts) + 4:.1f}' y='{y + 12}'>"
            f"{rule['verdicts']} / {rule['matches']}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _window(lines: Sequence[Sequence[Any]], hit: int | None) -> str:
    shown = "".join(
        f"<span class='hit'>{int(n):>6}  {escape(str(text))}</span>"
        if n == hit
        else f"{int(n):>6}  {escape(str(text))}\n"
        for n, text in lines
    )
    return f"<pre class='context'>{shown}</pre>"


def _verdict_summary(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return "no verdict"
    return f"{verdict['rule']}, line {verdict['line_num']}: {verdict['line']}"


def stats_page(stats: dict[str, Any], results: Sequence[LogResult], title: str) -> str:
    summary = stats["summary"]
    figures = [
        ("logs", summary["logs"]),
        ("text", f"{summary['bytes'] / 1e6:.1f} MB"),
        ("time", f"{summary['seconds']} s ({summary['mb_per_s']} MB/s)"),
        ("accuracy (1 - wrapper and catch-all share)", _percent(summary["accuracy"])),
        *((f"{kind} verdicts", _count(summary[kind])) for kind in ("specific", "fallback")),
        ("located", _count(summary["located"])),
        ("no verdict", _count(summary["none"])),
        ("unreadable", _count(summary["error"])),
    ]
    labeled = summary["labeled"]
    if labeled:
        figures.append(
            (
                "on a labeled line",
                f"{labeled['right']} of {labeled['logs']} ({_percent(labeled['accuracy'])})",
            )
        )
    rules = stats["rules"]
    rows = (
        (
            r["name"],
            r["role"],
            r["verdicts"],
            r["matches"],
            _percent(r["share"]),
            r["on_success"],
            None if r["seconds"] is None else round(r["seconds"] * 1000, 2),
        )
        for r in rules
    )
    verdicts = [
        "<details class='verdict'><summary>"
        + escape(f"{r.name}: {r.verdict.rule}, line {r.verdict.line_num}: {r.verdict.line}")
        + "</summary>"
        + _window(r.window, r.verdict.line_num)
        + "</details>"
        for r in results
        if r.verdict is not None
    ]
    return _page(
        title,
        [
            "<h2>Summary</h2>",
            _table(("figure", "value"), figures, "summary"),
            "<h2>Verdicts and matches per rule</h2>",
            _chart(rules),
            _table(
                ("rule", "role", "verdicts", "matches", "share", "on success", "regex ms"),
                rows,
                "rules",
            ),
            f"<h2>Verdicts ({len(verdicts)})</h2><section id='verdicts'>",
            *verdicts,
            "</section>",
        ],
    )


def _count(figure: dict[str, Any]) -> str:
    return f"{figure['logs']} ({_percent(figure['share'])})"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def diff_page(diff: dict[str, Any], stats: dict[str, Any], title: str) -> str:
    figures = [
        ("logs", diff["logs_surveyed"]),
        ("verdicts changed", diff["changed"]),
        ("labeled logs fixed", diff["fixed"]),
        ("labeled logs broken", diff["broken"]),
        ("base ruleset", diff["base_digest"]),
        ("new ruleset", diff["ruleset_digest"]),
    ]
    transitions = (
        (t["from"] or "no verdict", t["to"] or "no verdict", t["count"])
        for t in diff["transitions"]
    )
    changes = [
        "<details class='verdict'><summary>"
        + (f"<span class='{log['label']}'>[{escape(log['label'])}]</span> " if log["label"] else "")
        + escape(f"{log['log']}: {_verdict_summary(log['from'])} -> {_verdict_summary(log['to'])}")
        + "</summary>"
        + "<div>before</div>"
        + _window(log["from_window"], log["from"] and log["from"]["line_num"])
        + "<div>after</div>"
        + _window(log["to_window"], log["to"] and log["to"]["line_num"])
        + "</details>"
        for log in diff["logs"]
    ]
    return _page(
        title,
        [
            "<h2>Summary</h2>",
            _table(("figure", "value"), figures, "summary"),
            "<h2>Transitions</h2>",
            _table(("from", "to", "logs"), transitions, "transitions"),
            "<h2>Verdicts and matches per rule, new ruleset</h2>",
            _chart(stats["rules"]),
            f"<h2>Changed verdicts ({len(changes)})</h2><section id='verdicts'>",
            *changes,
            "</section>",
        ],
    )
