"""The mapping report of any source (FHIR, OMOP CDM): what became of every record, and why.

A source importer writes one :class:`ReportLine` per record it read (or per part of one): mapped into the profile,
skipped, not mapped, rejected, quarantined, or a note on something mapped.  :class:`MappingReport` holds them with
the number of records read and renders them for people.  The field names come from FHIR (``resource_type``,
``resource_id``); an OMOP import fills them with the table and the row id (``measurement``, ``"1234"``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OUTCOMES", "MappingReport", "ReportLine"]

OUTCOMES = ("mapped", "skipped", "unmapped", "rejected", "quarantined", "note")


@dataclass(frozen=True)
class ReportLine:
    """What became of one record (a FHIR resource, an OMOP row) or one part of it.

    ``outcome`` is one of:

    * ``mapped`` -- put into the profile; ``target`` says where.
    * ``skipped`` -- understood but deliberately left out (a preliminary result,
      a refuted diagnosis, an entered-in-error medication, a duplicate...).
    * ``unmapped`` -- eligimatch has nothing it maps to (a resource type it does
      not use, a code the catalogs do not know); ``codes`` lists the codes.
    * ``rejected`` -- content that cannot be used safely (a unit that does not
      apply to the analyte, a value given as "< 0.5", an invalid record).
    * ``quarantined`` -- a resource that is not valid FHIR R4 (or is in the shape
      of an older FHIR version), set aside whole; ``reason`` gives the path and why.
    * ``note`` -- a caveat on something mapped (sex unknown, a partial date...).
    """

    outcome: str
    resource_type: str
    resource_id: str | None
    where: str
    reason: str
    index: int | None = None
    codes: tuple[str, ...] = ()
    target: str | None = None

    @property
    def label(self) -> str:
        """``Observation/abc`` (or just the type when the record has no id)."""
        return f"{self.resource_type}/{self.resource_id}" if self.resource_id else self.resource_type

    def render(self) -> str:
        text = f"{self.where}: {self.label}: {self.reason}"
        if self.codes:
            text += f" [{', '.join(self.codes)}]"
        if self.target:
            text += f" -> {self.target}"
        return text


@dataclass(frozen=True)
class MappingReport:
    """Every record of the input and what became of it; see :class:`ReportLine`.

    ``source`` names the input kind in the text (``FHIR``, ``OMOP``) and ``record`` what one record is called
    (``resource``, ``row``)."""

    lines: tuple[ReportLine, ...] = ()
    resources: int = 0
    source: str = "FHIR"
    record: str = "resource"

    def by_outcome(self, outcome: str) -> tuple[ReportLine, ...]:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}")
        return tuple(line for line in self.lines if line.outcome == outcome)

    @property
    def mapped(self) -> tuple[ReportLine, ...]:
        return self.by_outcome("mapped")

    @property
    def not_mapped(self) -> tuple[ReportLine, ...]:
        """Everything left out of the profile: skipped, unmapped, rejected and quarantined lines."""
        return tuple(line for line in self.lines if line.outcome in ("skipped", "unmapped", "rejected", "quarantined"))

    @property
    def quarantined(self) -> tuple[ReportLine, ...]:
        """Resources set aside because they are not valid FHIR R4 (path and reason in each line)."""
        return self.by_outcome("quarantined")

    @property
    def notes(self) -> tuple[ReportLine, ...]:
        return self.by_outcome("note")

    @property
    def unmapped_types(self) -> tuple[str, ...]:
        """Record types (resource types, tables) none of whose records were mapped (sorted)."""
        mapped = {line.resource_type for line in self.lines if line.outcome == "mapped"}
        return tuple(sorted({line.resource_type for line in self.lines} - mapped))

    def for_resource(self, resource_type: str, resource_id: str | None) -> tuple[ReportLine, ...]:
        return tuple(l for l in self.lines if l.resource_type == resource_type and l.resource_id == resource_id)

    def counts(self) -> dict[str, int]:
        out = {o: 0 for o in OUTCOMES}
        for line in self.lines:
            out[line.outcome] += 1
        return out

    def text(self, *, verbose: bool = False) -> str:
        """A readable report.  Records of a type that is not mapped at all are
        grouped on one line per reason unless ``verbose``."""
        c = self.counts()
        out = [(f"{self.source} import: {self.resources} {self.record}(s); {c['mapped']} record(s) mapped, "
                f"{c['skipped']} skipped, {c['unmapped']} not mapped, {c['rejected']} rejected, "
                f"{c['quarantined']} quarantined, {c['note']} note(s).")]
        valid = "FHIR R4" if self.source == "FHIR" else self.source
        titles = {"mapped": "Mapped", "skipped": "Skipped", "unmapped": "Not mapped", "rejected": "Rejected",
                  "quarantined": f"Quarantined (not valid {valid})", "note": "Notes"}
        whole_types = set(self.unmapped_types)
        for outcome in ("quarantined", "rejected", "skipped", "unmapped", "note", "mapped"):
            lines = self.by_outcome(outcome)
            if not lines:
                continue
            out.append(f"{titles[outcome]}:")
            grouped: dict[tuple[str, str], list[ReportLine]] = {}
            for line in lines:
                if not verbose and outcome == "unmapped" and line.resource_type in whole_types and not line.codes:
                    grouped.setdefault((line.resource_type, line.reason), []).append(line)
                else:
                    out.append("  " + line.render())
            for (rtype, reason), group in grouped.items():
                places = ", ".join(l.where for l in group[:5]) + (", ..." if len(group) > 5 else "")
                out.append(f"  {rtype}: {len(group)} {self.record}(s) not mapped: {reason} ({places})")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text()
