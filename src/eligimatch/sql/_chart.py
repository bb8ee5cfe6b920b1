"""The attrition waterfall as a chart: a self-contained HTML page (inline SVG, no dependency) or a PNG
(matplotlib, the ``chart`` extra).

One horizontal bar per step, left to right: patients still passing (every criterion so far met),
unknown (none failed, one or more unknown), excluded so far.  The numbers are written on the bars and
in the table below the chart.
"""

from __future__ import annotations

import html as _html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eligimatch.errors import PopulationError

__all__ = ["COLORS", "attrition_html", "attrition_png"]

#: passing, unknown, excluded (colour-blind safe: blue, orange, grey)
COLORS = ("#1f77b4", "#ff9f1c", "#b8b8b8")
_LEGEND = ("passing", "unknown", "excluded")


def _bars(att: Any) -> list[tuple[str, str | None, int, int, int]]:
    rows: list[tuple[str, str | None, int, int, int]] = [("(all patients)", None, att.total, 0, 0)]
    rows += [(s.criterion, s.text, s.passing, s.unknown, s.excluded) for s in att.steps]
    return rows


def _svg(att: Any) -> str:
    rows = _bars(att)
    label_w, bar_w, row_h, top = 130, 560, 22, 30
    width, height = label_w + bar_w + 90, top + row_h * len(rows) + 10
    total = max(att.total, 1)
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
              f'aria-label="attrition of {_html.escape(att.trial)}" font-family="sans-serif" font-size="12">')]
    x: float = label_w
    for color, name in zip(COLORS, _LEGEND):
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{color}"/>'
                     f'<text x="{x + 16}" y="16">{name}</text>')
        x += 100
    for i, (label, text, passing, unknown, excluded) in enumerate(rows):
        y = top + i * row_h
        title = _html.escape(f"{label}: {text}" if text else label)
        parts.append(f'<g><title>{title}: {passing:,} passing, {unknown:,} unknown, {excluded:,} excluded</title>')
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{_html.escape(label)}</text>')
        x = float(label_w)
        for value, color in zip((passing, unknown, excluded), COLORS):
            w = bar_w * value / total
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{color}"/>')
            x += w
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 14}">{passing:,}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _table(att: Any) -> str:
    head = ("step", "kind", "passing", "unknown", "excluded", "removed here", "pending review",
            "alone: met", "alone: not met", "alone: unknown")
    out = ["<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    out.append(f"<tr><td>(all patients)</td><td></td><td>{att.total:,}</td><td>0</td><td>0</td>"
               + "<td></td>" * 5 + "</tr>")
    for s in att.steps:
        cells = (s.criterion, s.kind, f"{s.passing:,}", f"{s.unknown:,}", f"{s.excluded:,}", f"{s.removed:,}",
                 f"{s.pending_review:,}", f"{s.met:,}", f"{s.not_met:,}", f"{s.unknown_alone:,}")
        title = f' title="{_html.escape(s.text)}"' if s.text else ""
        out.append(f"<tr{title}>" + "".join(f"<td>{_html.escape(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def attrition_html(attritions: Sequence[Any], *, title: str = "Attrition", extra: str = "") -> str:
    """A self-contained HTML page: per trial, the waterfall (SVG), the table, the counts by verdict;
    ``extra``: more HTML put at the end (what-if results)."""
    body = []
    for att in attritions:
        counts = ", ".join(f"{v.replace('_', ' ')} {n:,}" for v, n in att.counts.items())
        body.append(f"<section><h2>{_html.escape(att.trial)}"
                    + (f" — {_html.escape(att.title)}" if att.title else "") + "</h2>"
                    f"<p>{att.total:,} patients on {att.as_of}. Verdicts: {counts}.</p>"
                    f"{_svg(att)}{_table(att)}</section>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child,td:nth-child(2){text-align:left}")
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_html.escape(title)}</title>"
            f"<style>{style}</style></head><body><h1>{_html.escape(title)}</h1>{''.join(body)}{extra}</body></html>\n")


def attrition_png(att: Any, path: str | Path) -> None:
    """The waterfall of one attrition as a PNG (needs matplotlib: ``pip install 'eligimatch[chart]'``)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise PopulationError("a PNG chart needs matplotlib: pip install 'eligimatch[chart]' "
                              "(or write the HTML page, which needs nothing)") from None
    rows = _bars(att)
    labels = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(rows) + 1.4))
    try:
        left = [0] * len(rows)
        for idx, (color, name) in enumerate(zip(COLORS, _LEGEND)):
            values = [(r[2], r[3], r[4])[idx] for r in rows]
            ax.barh(labels, values, left=left, color=color, label=name)
            left = [a + b for a, b in zip(left, values)]
        for y, r in enumerate(rows):
            ax.text(att.total * 1.01, y, f"{r[2]:,}", va="center", fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, max(att.total, 1) * 1.12)
        ax.set_xlabel("patients")
        ax.set_title(f"{att.trial}: attrition ({att.total:,} patients on {att.as_of})", fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(str(path), format="png", dpi=110)
    finally:
        plt.close(fig)
