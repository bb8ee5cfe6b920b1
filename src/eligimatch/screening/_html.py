"""One patient's screening as a single self-contained HTML file (``eligimatch match ... --html report.html``).

The same content as the text report: the ranked trials (tier, score, reasons),
the question plan, then for each trial every criterion with its outcome, the
evidence (the value used, converted, dated, from which record, against which
threshold) and, for an unknown, the fact that would settle it.  Inline CSS, no
script, no external resource: the file can be mailed or archived as it is.
Every text from the data is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eligimatch.engine._result import CriterionResult, MatchResult, Verdict
from eligimatch.screening._ranking import TIER_TEXT, Ranking

__all__ = ["criterion_status", "render_report", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;color:#1d2433;
line-height:1.4;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;vertical-align:top;
padding:.3rem .5rem;border-bottom:1px solid #e3e6ee}th{background:#f3f5f9}
.tier{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;font-size:.85rem;white-space:nowrap}
.eligible{background:#d6f5dd}.eligible_pending_review{background:#e5f3c8}.possible{background:#fff1c2}
.unlikely{background:#fde0c8}.not_eligible{background:#f6d3d3}
.st-met{color:#17692c}.st-notmet{color:#a31515;font-weight:600}.st-unknown{color:#8a6100}
.st-review{color:#3b4cc0}.st-unless{color:#b34700;font-weight:600}
ul{margin:.2rem 0;padding-left:1.2rem}.small{font-size:.85rem;color:#556}
"""


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def criterion_status(c: CriterionResult, result: MatchResult) -> tuple[str, str]:
    """(css class, words) for one criterion's line, exclusions worded as such."""
    if c.id in result.excluded_unless:
        return "st-unless", "excluded unless the investigator judges the exception applies"
    if c.met is True:
        return "st-met", "met" if c.kind == "inclusion" else "not excluded"
    if c.met is False:
        return "st-notmet", "not met" if c.kind == "inclusion" else "excluded"
    if c.causes and all(getattr(x, "value", x) == "review" for x in c.causes):
        decided = [e for e in c.evidence if e.code.startswith("decision")]
        return "st-review", "for the investigator" if not decided else "investigator decision"
    return "st-unknown", "unknown"


def _evidence(c: CriterionResult) -> str:
    items = []
    for ev in c.evidence:
        extra = []
        if ev.date and str(ev.date) not in ev.note:
            extra.append(f"dated {ev.date}")
        if ev.source:
            extra.append(f"from {ev.source}")
        items.append(f"<li>{_e(ev.note)}" + (f" <span class=small>[{_e('; '.join(extra))}]</span>" if extra else "")
                     + "</li>")
    for m in c.missing:
        items.append(f"<li class=st-unknown>to find: {_e(m.detail)}</li>")
    return "<ul>" + "".join(dict.fromkeys(items)) + "</ul>" if items else ""


def _trial_section(r: MatchResult, rk: Ranking | None) -> str:
    head = f"<h2 id='trial-{_e(r.trial_id)}'>{_e(r.trial_id)}" + (f" — {_e(r.title)}" if r.title else "") + "</h2>"
    verdict = {Verdict.MATCH: "MATCH", Verdict.NO_MATCH: "NO MATCH", Verdict.UNKNOWN: "UNKNOWN"}[r.verdict]
    parts = [head, f"<p>verdict <b>{verdict}</b>"]
    if rk is not None:
        parts.append(f" · <span class='tier {rk.tier.value}'>{_e(TIER_TEXT[rk.tier])}</span> score {rk.score:.2f}")
    parts.append("</p>")
    if r.anchors:
        parts.append("<p class=small>anchors: " + _e("; ".join(
            f"{k} {v}" + (" (defaulted to the evaluation date)" if k in r.anchors_defaulted else "")
            for k, v in r.anchors.items())) + "</p>")
    if r.excluded_unless:
        parts.append("<p class=st-unless>Excluded unless the investigator judges the exception applies: "
                     + _e(", ".join(r.excluded_unless)) + "</p>")
    parts.append("<table><tr><th>criterion</th><th>status</th><th>protocol text</th><th>evidence</th></tr>")
    for c in r.criteria:
        cls, words = criterion_status(c, r)
        cid = f"{c.cohort}/{c.id}" if c.cohort else c.id
        parts.append(f"<tr><td>{_e(c.kind[:3])} {_e(cid)}</td><td class={cls}>{_e(words)}</td>"
                     f"<td>{_e(c.text)}</td><td>{_evidence(c)}</td></tr>")
    parts.append("</table>")
    if r.warnings:
        parts.append("<p class=small>warnings:</p><ul>" + "".join(f"<li>{_e(w)}</li>" for w in r.warnings) + "</ul>")
    return "".join(parts)


def render_report(summary: Any, input_order: Sequence[MatchResult] | None = None) -> str:
    """The HTML text for a :class:`~eligimatch.screening._results.ScreenResult` (trial sections in ``input_order``)."""
    ranks = {rk.trial_id: rk for rk in summary.ranking}
    who = summary.patient_id or "(no id)"
    out = ["<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
           f"<title>eligimatch — patient {_e(who)} on {_e(summary.as_of)}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>Screening of patient {_e(who)} on {_e(summary.as_of)}</h1>",
           "<h2>Trials, most likely first</h2><table><tr><th>#</th><th>tier</th><th>score</th><th>trial</th>"
           "<th>why</th></tr>"]
    for i, r in enumerate(summary.results, 1):
        rk = ranks.get(r.trial_id)
        tier = (f"<span class='tier {rk.tier.value}'>{_e(TIER_TEXT[rk.tier])}</span>" if rk else _e(r.verdict.value))
        score = f"{rk.score:.2f}" if rk else ""
        why = "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in rk.reasons) + "</ul>" if rk else ""
        out.append(f"<tr><td>{i}</td><td>{tier}</td><td>{score}</td><td><a href='#trial-{_e(r.trial_id)}'>"
                   f"{_e(r.trial_id)}</a><div class=small>{_e(r.title)}</div></td><td>{why}</td></tr>")
    out.append("</table>")
    if summary.plan:
        out.append("<h2>Next questions</h2><ol>")
        for q in summary.plan:
            tag = "disease-defining · " if q.disease_defining else ""
            out.append(f"<li>{_e(q.text)} <span class=small>[{tag}{_e(q.cost)}] settles "
                       f"{_e('; '.join(q.criteria))}</span></li>")
        out.append("</ol>")
    for r in (input_order if input_order is not None else summary.results):
        out.append(_trial_section(r, ranks.get(r.trial_id)))
    if summary.warnings:
        out.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in summary.warnings) + "</ul>")
    out.append("<p class=small>Written by eligimatch. Unknown is not no: an unknown criterion names the fact "
               "that would settle it.</p></body></html>\n")
    return "".join(out)


def write_report(path: Path, summary: Any, input_order: Sequence[MatchResult] | None = None) -> None:
    """Write :func:`render_report` to ``path`` (UTF-8)."""
    Path(path).write_text(render_report(summary, input_order), encoding="utf-8")
