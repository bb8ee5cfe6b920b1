"""A short account of a FHIR import: how many resources were mapped, not mapped, quarantined.

The mapping report (:class:`eligimatch.sources.fhir._bundle.MappingReport`) has one line per
outcome, and a resource may have several (a mapped panel component next to an
unmapped one, notes).  This module counts *resources*: a resource is

* ``quarantined`` when it was set aside as invalid FHIR R4;
* ``mapped`` when at least one record of the profile came from it;
* ``not mapped`` otherwise (skipped by a status rule, an unknown code, a
  rejected unit, a resource type eligimatch does not read).

``eligimatch match bundle.json ...`` prints :func:`summary`; ``--report`` the
whole report.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["resource_outcomes", "summary"]

_ORDER = ("quarantined", "mapped", "not mapped")


def resource_outcomes(report: Any) -> dict[tuple[str, str | None, str], tuple[str, list[Any]]]:
    """``{(type, id, where): (outcome, lines)}`` for every resource of the report, in report order."""
    groups: dict[tuple[str, str | None, str], list[Any]] = {}
    for line in report.lines:
        if line.where == "input":  # input-wide notes
            continue
        groups.setdefault((line.resource_type, line.resource_id, line.where), []).append(line)
    out = {}
    for key, lines in groups.items():
        outcomes = {l.outcome for l in lines}
        if "quarantined" in outcomes:
            outcome = "quarantined"
        elif "mapped" in outcomes:
            outcome = "mapped"
        elif outcomes == {"note"}:
            continue  # a note on a resource reported elsewhere (e.g. a duplicate fullUrl)
        else:
            outcome = "not mapped"
        out[key] = (outcome, lines)
    return out


def _first(lines: Iterable[Any], outcome: str) -> Any:
    if outcome == "not mapped":
        return next((l for l in lines if l.outcome in ("rejected", "unmapped", "skipped")), None)
    return next((l for l in lines if l.outcome == outcome), None)


def summary(report: Any, first: int = 3) -> str:
    """Counts of mapped / not mapped / quarantined resources and the first lines of each."""
    outcomes = resource_outcomes(report)
    by: dict[str, list[Any]] = {o: [] for o in _ORDER}
    for outcome, lines in outcomes.values():
        line = _first(lines, outcome)
        if line is not None:
            by[outcome].append(line)
    notes = [l for l in report.lines if l.outcome == "note"]
    out = [(f"FHIR: {report.resources} resource(s): {len(by['mapped'])} mapped, {len(by['not mapped'])} not mapped, "
            f"{len(by['quarantined'])} quarantined (invalid FHIR R4); {len(notes)} note(s)")]
    for outcome in _ORDER:
        lines = by[outcome]
        if not lines:
            continue
        out.append(f"  {outcome} (first {min(first, len(lines))} of {len(lines)}):")
        out += [f"    {line.render()}" for line in lines[:first]]
    out.append("  (--report shows the whole mapping report)")
    return "\n".join(out)
