"""The HTML report: one self-contained file with runs, patterns, pass^k and exemplars.

Everything is inline (CSS, SVG charts drawn here); no JavaScript, no external assets. Every
piece of text from the warehouse goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from taskforge.errors import TaskforgeError
from taskforge.warehouse.store import Warehouse

NO_DATA = "no data yet"
TOOL_OUTPUT_CHARS = 600
MESSAGE_CHARS = 4000
EXEMPLARS_PER_PATTERN = 3
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
 max-width:1100px;padding:1.5rem;color:#222;line-height:1.45}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
.meta{color:#666;font-size:.9rem}.empty{color:#888;font-style:italic}
nav a{margin-right:1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
svg{display:block;margin:.6rem 0;font-size:11px;max-width:100%;height:auto}
.flag{background:#fde2e1;color:#a61b1b;border-radius:3px;padding:0 .3rem;font-size:.8rem}
.exemplar{border:1px solid #ddd;border-radius:6px;padding:.6rem .8rem;margin:.7rem 0}
blockquote{margin:.4rem 0;padding:.3rem .7rem;border-left:4px solid #4e79a7;background:#f6f8fb}
details summary{cursor:pointer;color:#4e79a7;margin:.3rem 0}
.dialogue{display:flex;flex-direction:column;gap:.4rem;margin-top:.4rem}
.msg{max-width:80%;padding:.4rem .7rem;border-radius:10px;white-space:pre-wrap;
 word-break:break-word;font-size:.9rem}
.msg .role{display:block;font-size:.72rem;color:#666;text-transform:uppercase}
.msg.user{align-self:flex-start;background:#eef1f5}
.msg.assistant{align-self:flex-end;background:#e3f0e6}
.msg.tool,.msg.system{align-self:center;background:#fafafa;border:1px dashed #ccc}
.msg.decisive{outline:3px solid #e15759}
.call{margin:.3rem 0;padding:.3rem .5rem;background:#fff;border:1px solid #cfd8cf;
 border-radius:6px;white-space:normal}
.call code{font-size:.8rem;word-break:break-all}
.call pre,.msg pre{margin:.25rem 0 0;white-space:pre-wrap;font-size:.78rem;color:#333}
.error{border-color:#e15759!important;background:#fde2e1!important}
"""


class ReportError(TaskforgeError):
    """A report that cannot be rendered as asked (e.g. an unknown taxonomy)."""


class Html(str):
    """Markup that is already safe: table cells of this type are not escaped again."""


@dataclass(frozen=True)
class Taxonomy:
    """The taxonomy a report describes."""

    taxonomy_id: str
    version: int | None
    round: int | None
    created_at: Any


def render_report(wh: Warehouse, taxonomy_id: str | None = None) -> str:
    """Render the warehouse as one self-contained HTML document.

    Args:
        wh: An open warehouse (read-only is enough).
        taxonomy_id: The taxonomy to describe; the latest one when None.

    Returns:
        The HTML document, starting with ``<!DOCTYPE html>``.

    Raises:
        ReportError: ``taxonomy_id`` names no taxonomy in the warehouse.
    """
    tax = _taxonomy(wh, taxonomy_id)
    sections = [
        _section("rounds", "Loop rounds", _rounds_body(wh)),
        _section("runs", "Runs", _runs_body(wh)),
        _section("training", "Training", _training_body(wh)),
        _section("sizes", "Pattern sizes per round", _sizes_body(wh, tax)),
        _section("passk", "pass^k per pattern", _passk_body(wh, tax)),
        _section("taxonomy", "Taxonomy", _taxonomy_body(wh, tax)),
        _section("exemplars", "Exemplar trajectories", _exemplars_body(wh, tax)),
    ]
    return _document(wh, tax, sections)


def count_patterns(wh: Warehouse, taxonomy_id: str | None = None) -> int:
    """Number of patterns in the reported taxonomy (0 when there is none)."""
    tax = _taxonomy(wh, taxonomy_id)
    if tax is None:
        return 0
    sql = "SELECT count(*) FROM patterns WHERE taxonomy_id = ?"
    return int(wh.scalar(sql, [tax.taxonomy_id]))


def _taxonomy(wh: Warehouse, taxonomy_id: str | None) -> Taxonomy | None:
    """The asked-for taxonomy, else the latest; None when there is none."""
    if taxonomy_id is None:
        rows = wh.query("SELECT * FROM latest_taxonomy").to_dicts()
    else:
        rows = wh.query("SELECT * FROM taxonomies WHERE taxonomy_id = ?", [taxonomy_id]).to_dicts()
        if not rows:
            raise ReportError(f"no taxonomy {taxonomy_id!r} in the warehouse")
    if not rows:
        return None
    row = rows[0]
    return Taxonomy(row["taxonomy_id"], row["version"], row["round"], row["created_at"])


# ---------------------------------------------------------------- document and HTML helpers


def _document(wh: Warehouse, tax: Taxonomy | None, sections: list[str]) -> str:
    """Wrap the sections in the page: head, title, generated-at, navigation."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    described = (
        f"taxonomy {_e(tax.taxonomy_id)} (version {_e(tax.version)}, round {_e(tax.round)})"
        if tax
        else "no taxonomy yet"
    )
    nav = " ".join(
        f'<a href="#{a}">{t}</a>'
        for a, t in [
            ("rounds", "Rounds"),
            ("runs", "Runs"),
            ("sizes", "Pattern sizes"),
            ("passk", "pass^k"),
            ("taxonomy", "Taxonomy"),
            ("exemplars", "Exemplars"),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>taskforge report: {_e(wh.path.name)}</title>\n<style>{CSS}</style>\n"
        "</head>\n<body>\n<h1>taskforge report</h1>\n"
        f'<p class="meta">warehouse {_e(wh.path)} &middot; generated {now} &middot; '
        f"{described}</p>\n<nav>{nav}</nav>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def _e(value: Any) -> str:
    """Escape a value for HTML text or attributes (None becomes the empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{_e(title)}</h2>\n{body}\n</section>'


def _empty(message: str = NO_DATA) -> str:
    return f'<p class="empty">{_e(message)}</p>'


def _num(value: Any, digits: int = 3) -> str:
    """A number for a table cell; '–' for missing values."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}%"


def _round_label(value: Any) -> str:
    return "no round" if value is None else f"round {value}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; cells are escaped unless they are :class:`Html`; numbers align right."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell, Html):
                cells.append(f"<td>{cell}</td>")
            elif isinstance(cell, (int, float)) or _looks_numeric(cell):
                cells.append(f'<td class="num">{_e(cell)}</td>')
            else:
                cells.append(f"<td>{_e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _looks_numeric(cell: Any) -> bool:
    text = str(cell).rstrip("%")
    return text == "–" or text.replace(".", "", 1).lstrip("-").isdigit()


# ---------------------------------------------------------------- SVG charts


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, percent: bool) -> str:
    """A horizontal bar chart as inline SVG.

    Args:
        labels: One label per bar.
        values: One non-negative value per bar.
        title: Accessible title of the chart.
        percent: Show values as percentages (values are fractions).

    Returns:
        An ``<svg>`` element.
    """
    label_w, bar_w, row_h = 230, 460, 22
    top = max(values, default=0.0) or 1.0
    height = row_h * len(labels) + 10
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 5 + i * row_h
        width = bar_w * value / top
        shown = _pct(value) if percent else _num(value)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{_e(_clip(label, 34))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 6}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{_e(label)}: {_e(shown)}</title></rect>'
            f'<text x="{label_w + width + 4:.1f}" y="{y + 14}">{_e(shown)}</text>'
        )
    return _svg(label_w + bar_w + 70, height, title, "".join(parts))


def column_chart(
    categories: Sequence[str], series: dict[str, list[float]], title: str, stacked: bool
) -> str:
    """A vertical bar chart (grouped or stacked) as inline SVG, with a legend.

    Args:
        categories: The x-axis groups (e.g. rounds, runs).
        series: Name -> one value per category.
        title: Accessible title of the chart.
        stacked: Stack the series in one bar per category; else bars side by side.

    Returns:
        An ``<svg>`` element.
    """
    names = list(series)
    totals = [sum(series[n][c] for n in names) for c in range(len(categories))]
    peaks = [max((series[n][c] for n in names), default=0.0) for c in range(len(categories))]
    top = max(totals if stacked else peaks, default=0.0) or 1.0
    plot_h, left, group_w = 220, 50, max(60, 24 * (1 if stacked else len(names)) + 30)
    width = left + group_w * len(categories) + 20
    parts = [_axis(left, plot_h, width, top)]
    for c, category in enumerate(categories):
        x0 = left + c * group_w + 15
        values = [series[n][c] for n in names]
        parts.append(_columns(x0, plot_h, top, names, values, stacked, category))
        parts.append(
            f'<text x="{x0 + (group_w - 30) / 2:.1f}" y="{plot_h + 28}" '
            f'text-anchor="middle">{_e(_clip(category, 18))}</text>'
        )
    legend = _legend(names, plot_h + 45)
    height = plot_h + 55 + 18 * len(names)
    return _svg(max(width, 420), height, title, "".join(parts) + legend)


def _columns(
    x0: float, plot_h: int, top: float, names: list[str], values: list[float], stacked: bool,
    category: str,
) -> str:  # fmt: skip
    """The bars of one category."""
    parts, base = [], 0.0
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        h = (plot_h - 10) * value / top
        x = x0 if stacked else x0 + 24 * i
        y = plot_h + 10 - h - (base if stacked else 0.0)
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{30 if stacked else 22}" height="{h:.1f}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{_e(category)} · {_e(name)}: '
            f"{_e(_tick(value))}</title></rect>"
        )
        base += h
    return "".join(parts)


def _axis(left: int, plot_h: int, width: int, top: float) -> str:
    """The y axis with three gridlines labelled by value."""
    parts = [
        f'<line x1="{left}" y1="{plot_h + 10}" x2="{width}" y2="{plot_h + 10}" stroke="#999"/>'
    ]
    for frac in (0.5, 1.0):
        y = plot_h + 10 - (plot_h - 10) * frac
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_e(_tick(top * frac))}</text>'
        )
    parts.append(f'<text x="{left - 4}" y="{plot_h + 14}" text-anchor="end">0</text>')
    return "".join(parts)


def _legend(names: list[str], y0: int) -> str:
    return "".join(
        f'<rect x="50" y="{y0 + 18 * i}" width="12" height="12" '
        f'fill="{PALETTE[i % len(PALETTE)]}"/>'
        f'<text x="68" y="{y0 + 18 * i + 10}">{_e(name)}</text>'
        for i, name in enumerate(names)
    )


def _svg(width: float, height: float, title: str, body: str) -> str:
    return (
        f'<svg width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>{body}</svg>'
    )


def _tick(value: float) -> str:
    """A chart value: three significant digits, no trailing zeros."""
    return f"{value:.3g}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------- sections


def _rounds_body(wh: Warehouse) -> str:
    """Per loop round: pass^k of the policy, candidates, acceptance, tasks added, training."""
    rows = wh.query("SELECT * FROM loop_rounds ORDER BY loop_id, round").to_dicts()
    if not rows:
        return _empty("No `taskforge loop` rounds in this warehouse yet.")
    table = _table(
        ["loop", "round", "pass^1", "pass^2", "pass^3", "pass^4", "candidates", "acceptance",
         "tasks added", "pool size", "training"],
        [
            [r["loop_id"], r["round"], *(_num(r[f"pass_{k}"]) for k in range(1, 5)),
             _num(r["candidates"]), _pct(r["acceptance_rate"]), _num(r["tasks_added"]),
             _num(r["pool_size"]), r["train"]]
            for r in rows
        ],
    )  # fmt: skip
    labels = [f"round {r['round']}" for r in rows]
    series = {f"pass^{k}": [r[f"pass_{k}"] or 0.0 for r in rows] for k in (1, 2, 4)}
    return column_chart(labels, series, "pass^k per loop round", stacked=False) + table


def _runs_body(wh: Warehouse) -> str:
    rows = wh.query(
        """SELECT r.run_id, r.source, r.agent_model, r.user_model, r.round, p.n_tasks,
                  p.n_trajectories, p.pass_1, p.pass_2, p.pass_3, p.pass_4
           FROM runs r LEFT JOIN pass_k_run p USING (run_id)
           ORDER BY r.round NULLS FIRST, r.created_at, r.run_id"""
    ).to_dicts()
    if not rows:
        return _empty()
    table = _table(
        ["run", "source", "agent model", "user model", "round", "tasks", "trajectories",
         "pass^1", "pass^2", "pass^3", "pass^4"],
        [
            [r["run_id"], r["source"], r["agent_model"], r["user_model"], _num(r["round"]),
             _num(r["n_tasks"]), _num(r["n_trajectories"]),
             *(_num(r[f"pass_{k}"]) for k in range(1, 5))]
            for r in rows
        ],
    )  # fmt: skip
    series = {f"pass^{k}": [r[f"pass_{k}"] or 0.0 for r in rows] for k in range(1, 5)}
    labels = [_clip(r["run_id"], 18) for r in rows]
    return table + column_chart(labels, series, "pass^k per run", stacked=False)


def _training_body(wh: Warehouse) -> str:
    """Per trainer run: task success and mean reward of its completions, optimizer step by step.

    A trainer's rollouts carry their step in ``info.step`` and the RewardSpec score in
    ``info.score`` (the ``trl-cpu`` trainer writes both).
    """
    rows = wh.query(
        """SELECT run_id, CAST(extra->'info'->>'step' AS INTEGER) AS step, count(*) AS n,
                  avg(CAST(extra->'info'->>'score' AS DOUBLE)) AS mean_reward,
                  avg(CASE WHEN reward >= 1 THEN 1.0 ELSE 0.0 END) AS success
           FROM trajectories WHERE extra->'info'->>'step' IS NOT NULL
           GROUP BY run_id, step ORDER BY run_id, step"""
    ).to_dicts()
    if not rows:
        return _empty("No trainer rollouts in this warehouse (a loop with a trainer adds them).")
    table = _table(
        ["run", "step", "completions", "mean reward", "task success"],
        [[r["run_id"], r["step"], r["n"], _num(r["mean_reward"]), _pct(r["success"])]
         for r in rows],
    )  # fmt: skip
    labels = [f"{_clip(r['run_id'], 10)} s{r['step']}" for r in rows]
    series = {"task success": [r["success"] or 0.0 for r in rows]}
    return column_chart(labels, series, "task success per optimizer step", stacked=False) + table


def _sizes_body(wh: Warehouse, tax: Taxonomy | None) -> str:
    if tax is None:
        return _empty()
    rows = wh.query(
        # the view's denominator misses trajectories without a round (NULL never joins)
        """WITH per_round AS (SELECT round, count(*) AS n FROM trajectory_outcomes GROUP BY round)
           SELECT f.pattern, f.lineage_id, f.round, f.n_failures,
                  coalesce(f.n_trajectories, r.n) AS n_trajectories,
                  f.n_failures / coalesce(f.n_trajectories, r.n) AS failure_rate
           FROM failure_rate_by_pattern f
           LEFT JOIN per_round r ON r.round IS NOT DISTINCT FROM f.round
           WHERE f.taxonomy_id = ? ORDER BY f.round NULLS FIRST, f.n_failures DESC, f.pattern""",
        [tax.taxonomy_id],
    ).to_dicts()
    if not rows:
        return _empty()
    rounds = list(dict.fromkeys(_round_label(r["round"]) for r in rows))
    series: dict[str, list[float]] = {}
    for r in rows:
        values = series.setdefault(r["pattern"], [0.0] * len(rounds))
        values[rounds.index(_round_label(r["round"]))] += r["n_failures"]
    chart = column_chart(rounds, series, "failed trajectories per pattern and round", True)
    table = _table(
        ["pattern", "lineage", "round", "failures", "trajectories in round", "failure rate"],
        [
            [r["pattern"], r["lineage_id"], _round_label(r["round"]), r["n_failures"],
             _num(r["n_trajectories"]), _pct(r["failure_rate"])]
            for r in rows
        ],
    )  # fmt: skip
    return chart + table


def _passk_body(wh: Warehouse, tax: Taxonomy | None) -> str:
    return (
        "<h3>Targeted tasks, by the pattern they were made for</h3>\n"
        + _task_pattern_passk(wh)
        + "\n<h3>Share of failures per mined pattern</h3>\n"
        + _failure_shares(wh, tax)
    )


def _task_pattern_passk(wh: Warehouse) -> str:
    rows = wh.query(
        """SELECT k.pattern, r.round, count(*) AS n_tasks, sum(p.n_trials) AS n_trajectories,
                  CASE WHEN min(p.n_trials) >= 1 THEN avg(p.pass_1) END AS pass_1,
                  CASE WHEN min(p.n_trials) >= 2 THEN avg(p.pass_2) END AS pass_2,
                  CASE WHEN min(p.n_trials) >= 3 THEN avg(p.pass_3) END AS pass_3,
                  CASE WHEN min(p.n_trials) >= 4 THEN avg(p.pass_4) END AS pass_4
           FROM pass_k_task p JOIN tasks k USING (task_uid) LEFT JOIN runs r USING (run_id)
           WHERE k.pattern IS NOT NULL GROUP BY ALL ORDER BY k.pattern, r.round NULLS FIRST"""
    ).to_dicts()
    if not rows:
        return _empty("no targeted tasks yet")
    table = _table(
        ["task pattern", "round", "tasks", "trajectories", "pass^1", "pass^2", "pass^3", "pass^4"],
        [
            [r["pattern"], _round_label(r["round"]), r["n_tasks"], _num(r["n_trajectories"]),
             *(_num(r[f"pass_{k}"]) for k in range(1, 5))]
            for r in rows
        ],
    )  # fmt: skip
    labels = [f"{r['pattern']} ({_round_label(r['round'])})" for r in rows]
    chart = bar_chart(labels, [r["pass_1"] or 0.0 for r in rows], "pass^1 per task pattern", False)
    return table + chart


def _failure_shares(wh: Warehouse, tax: Taxonomy | None) -> str:
    if tax is None:
        return _empty()
    rows = wh.query(
        """SELECT p.name, p.quarantined, count(a.judgment_id) AS n_failures
           FROM patterns p LEFT JOIN assignments a
             ON a.pattern_id = p.pattern_id AND a.taxonomy_id = p.taxonomy_id
           WHERE p.taxonomy_id = ? GROUP BY ALL ORDER BY n_failures DESC, p.name""",
        [tax.taxonomy_id],
    ).to_dicts()
    total = sum(r["n_failures"] for r in rows)
    failed = int(wh.scalar("SELECT count(*) FROM trajectory_outcomes WHERE NOT success"))
    if not rows or total == 0:
        return _empty()
    table = _table(
        ["mined pattern", "quarantined", "failures", "share of assigned", "share of all failed"],
        [
            [r["name"], "yes" if r["quarantined"] else "no", r["n_failures"],
             _pct(r["n_failures"] / total), _pct(r["n_failures"] / failed if failed else None)]
            for r in rows
        ],
    )  # fmt: skip
    shares = [r["n_failures"] / total for r in rows]
    return table + bar_chart([r["name"] for r in rows], shares, "share of failures", True)


def _taxonomy_body(wh: Warehouse, tax: Taxonomy | None) -> str:
    if tax is None:
        return _empty()
    rows = wh.query(
        """SELECT name, description, size, signature, quarantined, lineage_id
           FROM patterns WHERE taxonomy_id = ? ORDER BY size DESC NULLS LAST, name""",
        [tax.taxonomy_id],
    ).to_dicts()
    if not rows:
        return _empty()
    flag = Html('<span class="flag">quarantined</span>')
    table = _table(
        ["pattern", "description", "size", "keywords", "domains", "quarantined", "lineage",
         "version"],
        [
            [r["name"], r["description"], _num(r["size"]), ", ".join(keywords(r["signature"])),
             domains_text(r["signature"]), flag if r["quarantined"] else "no", r["lineage_id"],
             _num(tax.version)]
            for r in rows
        ],
    )  # fmt: skip
    return _span_paragraph(wh, tax) + table


def domains_text(signature: Any) -> str:
    """A pattern's members per domain (``retail 100 (71%), airline 40 (29%)``); '–' if none.

    Args:
        signature: The ``patterns.signature`` value (JSON text or already decoded).
    """
    if isinstance(signature, str):
        try:
            signature = json.loads(signature)
        except ValueError:
            return "–"
    shares = signature.get("domains") if isinstance(signature, dict) else None
    if not isinstance(shares, dict) or not shares:
        return "–"
    return ", ".join(f"{d} {v['count']} ({_pct(v['share'])})" for d, v in shares.items())


def _span_paragraph(wh: Warehouse, tax: Taxonomy) -> str:
    """The taxonomy's span score over its domains (nothing for a taxonomy mined before it)."""
    raw = wh.scalar(
        "SELECT config->'domain_span' FROM taxonomies WHERE taxonomy_id = ?", [tax.taxonomy_id]
    )
    span = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(span, dict) or not span.get("domains"):
        return ""
    domains = ", ".join(f"{d} {span['n_failures'].get(d, 0)}" for d in span["domains"])
    if span.get("score") is None:
        return f'<p class="meta">failures per domain: {_e(domains)} (one domain: no span)</p>\n'
    return (
        f'<p class="meta">span score {_e(span["score"])}: {_e(span["n_spanning_failures"])} of '
        f"{_e(span['n_failures']['all'])} agent failures ({_e(domains)}) lie in "
        f"{_e(span['n_spanning_patterns'])} of {_e(span['n_patterns'])} patterns where each "
        f"domain holds at least {_pct(span['min_share'])}</p>\n"
    )


def keywords(signature: Any) -> list[str]:
    """Keywords of a pattern signature (a JSON object with ``keywords``/``terms``, or a list).

    Args:
        signature: The ``patterns.signature`` value (JSON text or already decoded).

    Returns:
        The keywords, in order; ``[]`` when there are none.
    """
    if isinstance(signature, str):
        try:
            signature = json.loads(signature)
        except ValueError:
            return [signature]
    if isinstance(signature, dict):
        signature = next(
            (signature[k] for k in ("keywords", "terms", "top_terms") if k in signature), []
        )
    if not isinstance(signature, list):
        return []
    return [str(k[0] if isinstance(k, (list, tuple)) and k else k) for k in signature]


# ---------------------------------------------------------------- exemplars


def _exemplars_body(wh: Warehouse, tax: Taxonomy | None) -> str:
    if tax is None:
        return _empty()
    rows = wh.query(
        """SELECT e.*, j.decisive_step, t.reward, p.size
           FROM pattern_exemplars e JOIN judgments j USING (judgment_id)
           JOIN patterns p USING (pattern_id) LEFT JOIN trajectories t ON t.traj_uid = e.traj_uid
           WHERE e.taxonomy_id = ? AND e.rank <= ?
           ORDER BY p.size DESC NULLS LAST, e.pattern, e.rank""",
        [tax.taxonomy_id, EXEMPLARS_PER_PATTERN],
    ).to_dicts()
    if not rows:
        return _empty()
    parts: list[str] = []
    for pattern in dict.fromkeys(r["pattern"] for r in rows):
        parts.append(f"<h3>{_e(pattern)}</h3>")
        parts.extend(_exemplar(wh, r) for r in rows if r["pattern"] == pattern)
    return "\n".join(parts)


def _exemplar(wh: Warehouse, row: dict[str, Any]) -> str:
    """One judged trajectory: what the judge said, then the dialogue folded away."""
    meta = (
        f"task {_e(row['task_id'])} &middot; run {_e(row['run_id'])} &middot; "
        f"{_e(_round_label(row['round']))} &middot; category {_e(row['category'])} &middot; "
        f"blame {_e(row['blame'])} &middot; reward {_e(_num(row['reward']))} &middot; "
        f"distance {_e(_num(row['distance']))}"
        + (' &middot; <span class="flag">outlier</span>' if row["is_outlier"] else "")
    )
    dialogue, n_messages = _dialogue(wh, row["traj_uid"], row["decisive_step"])
    return (
        f'<div class="exemplar"><div class="meta">#{_e(row["rank"])} &middot; {meta}</div>'
        f"<blockquote>{_e(row['explanation'])}</blockquote>"
        f"<details><summary>dialogue ({n_messages} messages, trajectory "
        f"{_e(row['traj_uid'])})</summary>{dialogue}</details></div>"
    )


def _dialogue(wh: Warehouse, traj_uid: str, decisive: int | None) -> tuple[str, int]:
    """The messages of a trajectory as bubbles; tool results shown under their calls."""
    messages = wh.query(
        """SELECT idx, role, content, extra->>'id' AS call_id,
                  coalesce(try_cast(extra->>'error' AS BOOLEAN), false) AS is_error
           FROM messages WHERE traj_uid = ? ORDER BY idx""",
        [traj_uid],
    ).to_dicts()
    calls = wh.query(
        """SELECT msg_idx, call_id, name, arguments, result, is_error
           FROM tool_calls WHERE traj_uid = ? ORDER BY msg_idx, call_idx""",
        [traj_uid],
    ).to_dicts()
    shown = {c["call_id"] for c in calls if c["call_id"] and c["result"] is not None}
    bubbles = [
        _bubble(m, [c for c in calls if c["msg_idx"] == m["idx"]], m["idx"] == decisive)
        for m in messages
        if not (m["role"] == "tool" and m["call_id"] in shown)
    ]
    if not bubbles:
        return _empty("no messages stored"), 0
    return f'<div class="dialogue">{"".join(bubbles)}</div>', len(messages)


def _bubble(message: dict[str, Any], calls: list[dict[str, Any]], decisive: bool) -> str:
    """One message: role, text, and the tool calls it made."""
    role = message["role"] if message["role"] in ("user", "assistant", "tool") else "system"
    classes = ["msg", role] + (["decisive"] if decisive else [])
    if message["is_error"]:
        classes.append("error")
    label = f"{message['role']} · #{message['idx']}" + (" · decisive step" if decisive else "")
    text = message["content"] or ""
    limit = TOOL_OUTPUT_CHARS if role == "tool" else MESSAGE_CHARS
    body = (
        f"<pre>{_e(_truncate(text, limit))}</pre>" if role == "tool" else _e(_truncate(text, limit))
    )
    return (
        f'<div class="{" ".join(classes)}"><span class="role">{_e(label)}</span>{body}'
        + "".join(_call(c) for c in calls)
        + "</div>"
    )


def _call(call: dict[str, Any]) -> str:
    """A tool call with its arguments and (truncated) output; errors highlighted."""
    css = "call error" if call["is_error"] else "call"
    args = call["arguments"]
    try:
        args = json.dumps(json.loads(args), ensure_ascii=False) if args else "{}"
    except (TypeError, ValueError):
        args = str(args)
    output = ""
    if call["result"] is not None:
        prefix = "error: " if call["is_error"] else "→ "
        output = f"<pre>{_e(prefix + _truncate(call['result'], TOOL_OUTPUT_CHARS))}</pre>"
    return f'<div class="{css}"><code>{_e(call["name"])}({_e(args)})</code>{output}</div>'


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text) - limit} more characters)"
