"""The readable report of a :class:`~eligimatch.engine._result.MatchResult`.

One block per criterion, one line per fact: which value was used (as recorded,
converted, dated, from which record), against which threshold; and for each
unknown, the fact that would settle it.
"""

from __future__ import annotations

from eligimatch.engine._result import CriterionResult, MatchResult, Verdict

__all__ = ["render_report"]

_VERDICT = {Verdict.MATCH: "MATCH", Verdict.NO_MATCH: "NO MATCH", Verdict.UNKNOWN: "UNKNOWN"}


def _mark(c: CriterionResult) -> str:
    """The criterion's state in words: an exclusion says whether the patient is excluded by it
    ("excluded by" / "not excluded"), never "NOT MET" for a patient it excludes."""
    exclusion = c.kind == "exclusion"
    if c.met is True:
        return "not excluded" if exclusion else "met"
    if c.met is False:
        return "EXCLUDED BY" if exclusion else "NOT MET"
    if c.causes and all(x.value == "review" for x in c.causes):
        return "review"
    return "unknown"


_MARK_WIDTH = 15  # "EXCLUDED UNLESS"
_INDENT = " " * (_MARK_WIDTH + 10)


def _criterion_lines(c: CriterionResult, excluded_unless: bool = False) -> list[str]:
    mark = "EXCLUDED UNLESS" if excluded_unless else _mark(c)
    head = f"  [{mark:>{_MARK_WIDTH}}] {c.kind[:3]} {c.id}"
    if c.text:
        text = c.text if len(c.text) <= 100 else c.text[:97] + "..."
        head += f"  {text}"
    out = [head]
    for e in c.evidence:
        line = f"{_INDENT}- {e.note}"
        extras = []
        if e.date and str(e.date) not in e.note:
            extras.append(f"dated {e.date}")
        if e.source:
            extras.append(f"from {e.source}")
        if extras:
            line += f" [{'; '.join(extras)}]"
        if line not in out:  # one record read by two predicates of the criterion is one line
            out.append(line)
    for m in c.missing:
        out.append(f"{_INDENT}? {m.cause.value if hasattr(m.cause, 'value') else m.cause}: {m.detail}")
    return out


def render_report(r: MatchResult) -> str:
    title = f"{r.trial_id or '(trial)'}" + (f" — {r.title}" if r.title else "")
    lines = [title, f"patient {r.patient_id or '(no id)'} on {r.as_of}: {_VERDICT[r.verdict]}"]
    if r.anchors:
        parts = [f"{k} {v}" + (" (defaulted to the evaluation date)" if k in r.anchors_defaulted else "")
                 for k, v in r.anchors.items()]
        lines.append("anchors: " + "; ".join(parts))
    if r.deciding:
        lines.append(("decided by: " if r.verdict == Verdict.NO_MATCH else "open: ") + ", ".join(r.deciding))
    if r.matched_cohorts:
        lines.append("matching cohorts: " + ", ".join(r.matched_cohorts))
    if r.policy != "strict":
        lines.append(f"policy: {r.policy} (absent records count as absent)")
    groups: list[tuple[str | None, list[CriterionResult]]] = []
    for c in r.criteria:
        if not groups or groups[-1][0] != c.cohort:
            groups.append((c.cohort, []))
        groups[-1][1].append(c)
    cohort_verdicts = {co.id: co for co in r.cohorts}
    for cohort, crits in groups:
        lines.append("")
        if cohort is None:
            lines.append("general criteria:")
        else:
            co = cohort_verdicts.get(cohort)
            lines.append(f"cohort {cohort}" + (f" ({co.title})" if co and co.title else "")
                         + (f": {_VERDICT[co.verdict]}" if co else ""))
        for c in crits:
            lines.extend(_criterion_lines(c, c.id in r.excluded_unless))
            if c.id in r.excluded_unless:
                lines.append("            ! excluded unless the investigator judges the exception applies: "
                             "the data part of this exclusion is met")
    if r.missing:
        lines.append("")
        lines.append("to settle the unknowns, find:")
        for m in r.missing:
            lines.append(f"  - {m.detail} ({', '.join(m.criteria)})")
    if r.decided:
        lines.append("")
        lines.append("decided by the investigator (screening record): " + ", ".join(r.decided))
    if r.decisions_invalidated:
        lines.append("")
        lines.append("recorded decisions that no longer apply (the data they saw changed; decide again): "
                     + ", ".join(r.decisions_invalidated))
    if r.excluded_unless:
        lines.append("")
        lines.append("excluded unless the investigator judges the exception applies: " + ", ".join(r.excluded_unless))
    if r.review:
        lines.append("")
        lines.append("for the investigator to review: " + ", ".join(r.review))
    if r.warnings:
        lines.append("")
        lines.append("warnings:")
        lines.extend(f"  - {w}" for w in r.warnings)
    return "\n".join(lines)
