"""What every source importer does while it maps records: report lines, the records of the profile, facts chosen
by date, and the completeness a source may claim.

A source's mapper subclasses :class:`Collector` and calls :meth:`Collector.add` for every record it reads, with a
*record reference* (anything with ``rtype``, ``rid``, ``where`` and ``index`` attributes: a FHIR resource, an OMOP
row, see :class:`RecordRef`).  Facts are collected as candidates and the latest value of each is chosen at the end
(:meth:`Collector.choose_facts`).  A history (conditions, therapies, procedures) the source claims complete is kept
complete only when every record of it could be mapped (:meth:`Collector.completeness`): one record that could not
be read is enough for an absence to be unprovable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eligimatch.sources._patient import (
    Completeness,
    Condition,
    Fact,
    Observation,
    Procedure,
    Source,
    StudyParticipation,
    Therapy,
)
from eligimatch.sources._report import ReportLine
from eligimatch.sources._resolve import Resolver

__all__ = ["Collector", "FactCandidate", "RecordRef", "Row"]


class RecordRef(Protocol):
    """Where a report line points: the record's type (resource type, table), id, place and position."""

    rtype: str
    rid: str | None
    where: str
    index: int | None


@dataclass(frozen=True)
class Row:
    """A plain record reference (an OMOP row: ``Row("measurement", "1234", "measurement 1234")``)."""

    rtype: str
    rid: str | None
    where: str
    index: int | None = None


@dataclass
class FactCandidate:
    """One value of a fact, with its date and record; the latest one is chosen."""

    value: Any
    date: Any
    item: Any
    label: str


HISTORIES = ("conditions", "therapies", "procedures")


class Collector:
    """Report lines and profile records gathered by a source's mapper (see the module docstring)."""

    #: the record type of a line on the whole input (``Bundle`` for FHIR)
    input_type = "Bundle"

    def __init__(self, catalogs: Any, complete: Completeness, terminology: Any = None):
        self.cat = catalogs
        self.catalogs_facts = catalogs.facts
        self.terms = Resolver(catalogs, terminology)
        self.terminology = self.terms.terminology
        self.complete = complete
        self.lines: list[ReportLine] = []
        self.observations: list[Observation] = []
        self.conditions: list[Condition] = []
        self.therapies: list[Therapy] = []
        self.procedures: list[Procedure] = []
        self.studies: list[StudyParticipation] = []
        self.facts: dict[str, list[FactCandidate]] = {}
        self.doubt: dict[str, int] = {h: 0 for h in HISTORIES}

    # ---- report
    def add(self, outcome: str, item: Any, reason: str, codes: tuple[str, ...] = (), target: str | None = None,
            history: str | None = None) -> None:
        """A report line on ``item``; an unmapped or rejected record of ``history`` makes that history doubtful."""
        self.lines.append(ReportLine(outcome, item.rtype or "(no resourceType)", item.rid, item.where, reason,
                                     item.index, codes, target))
        if history and outcome in ("unmapped", "rejected"):
            self.doubt[history] += 1

    def note(self, reason: str, where: str = "input") -> None:
        """A note on the whole input."""
        self.lines.append(ReportLine("note", self.input_type, None, where, reason))

    def doubtful(self, history: str) -> None:
        """A record of ``history`` could not be used: an absence in that history cannot be proved."""
        self.doubt[history] += 1

    def source(self, item: Any) -> Source:
        """The provenance recorded on a profile record."""
        return Source(type=item.rtype, id=item.rid)

    # ---- facts
    def fact_candidate(self, name: str, value: Any, when: Any, item: Any, label: str,
                       codes: tuple[str, ...] = ()) -> None:
        """A value of a fact; the latest is chosen at the end (:meth:`choose_facts`)."""
        if self.cat.facts.resolve(name) is None:
            self.add("unmapped", item, f"{label} {value}: the fact catalog has no fact {name!r}", codes)
            return
        self.facts.setdefault(name, []).append(FactCandidate(value, when, item, label))

    def choose_facts(self) -> dict[str, Any]:
        """The latest value of each fact; older ones are reported as superseded, and different values on the
        latest date are all rejected (which one is true cannot be told)."""
        out: dict[str, Any] = {}
        for name, cands in self.facts.items():
            dated = [c for c in cands if c.date is not None]
            pool = dated or cands
            latest = max(c.date for c in dated) if dated else None
            top = [c for c in pool if c.date == latest]
            values = {c.value for c in top}
            if len(values) > 1:
                for c in top:
                    self.add("rejected", c.item, f"{c.label}: different values on the same date "
                                                 f"({', '.join(map(str, sorted(values)))}); none is used")
                for c in cands:
                    if c not in top:
                        self.add("skipped", c.item, f"{c.label} {c.value}: an older value, and the latest is "
                                                    "contradictory")
                continue
            chosen = top[0]
            out[name] = Fact(value=chosen.value, date=chosen.date, source=self.source(chosen.item))
            self.add("mapped", chosen.item, chosen.label, target=f"facts.{name} = {chosen.value} "
                                                                 f"({chosen.date or 'undated'})")
            for c in cands:
                if c is chosen:
                    continue
                if c in top:
                    self.add("skipped", c.item, f"{c.label} {c.value}: repeats {chosen.item.where} (same date)")
                else:
                    self.add("skipped", c.item, f"{c.label} {c.value} ({c.date or 'undated'}): superseded by the "
                                                f"latest value, {chosen.item.where}")
        return out

    # ---- completeness
    def completeness(self) -> Completeness:
        """The completeness claimed, less every history one of whose records could not be mapped or confirmed."""
        claimed = self.complete.model_dump()
        kept = {}
        for history, value in claimed.items():
            if value and self.doubt.get(history):
                self.note(f"{history} history not marked complete although asked: {self.doubt[history]} record(s) "
                          "of it could not be mapped or confirmed, so an absence could not be proved")
                kept[history] = False
            else:
                kept[history] = value
        return Completeness(**kept)
