"""FHIR Observations: lab results and vitals (LOINC -> analyte, UCUM units checked against the analyte, the
result's own reference range), component observations, clinical scores by name, and the observations read as facts
(ECOG, Karnofsky, pregnancy status).  Part of the FHIR mapper (:mod:`eligimatch.sources.fhir._mapper`)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from pydantic import ValidationError

from eligimatch.sources._codes import (
    ECOG_ANSWERS,
    ECOG_LOINC,
    KARNOFSKY_LOINC,
    PREGNANCY_ANSWERS,
    PREGNANCY_LOINC,
    UNKNOWN_ANSWERS,
    number,
)
from eligimatch.sources._collect import FactCandidate
from eligimatch.sources._patient import Observation, ReferenceRange
from eligimatch.sources._resolve import short_error
from eligimatch.sources.fhir._parts import FhirParts
from eligimatch.sources.fhir._validate import _Item
from eligimatch.sources.fhir._values import (
    _OBS_USED,
    _code_labels,
    _codings,
    _exact_date,
    _first_name,
    _names,
    _unit_of,
)

__all__ = ["ObservationMixin"]


class ObservationMixin(FhirParts):
    """The Observation part of the FHIR mapper."""

    def map_observation(self, item: _Item) -> None:
        o = item.model
        status = o.status
        if status not in _OBS_USED:
            self.add("skipped", item, f"status {status!r}: only final, amended and corrected results are used",
                     _code_labels(o.code))
            return
        when, date_note = self.obs_date(o)
        onc = self.oncology_kind(_codings(o.code))
        if onc is not None:
            self.oncology_observation(item, o, onc, when, _code_labels(o.code), _codings, _code_labels)
            if date_note:
                self.add("note", item, date_note)
            return
        loincs = [code for system, code, _ in _codings(o.code) if system == "LOINC"]
        if ECOG_LOINC in loincs or KARNOFSKY_LOINC in loincs or PREGNANCY_LOINC in loincs:
            self.observation_fact(item, o, loincs, when, date_note)
            return
        analytes = self.terms.analytes_of(loincs)
        if len(analytes) > 1:
            self.add("rejected", item, "its LOINC codes name different analytes: "
                     + ", ".join(sorted(a.id for a in analytes)), _code_labels(o.code))
            return
        if not analytes:
            score = self.score_by_name(o.code)
            if score is not None:
                if self.observation_value(item, o, score, when, date_note, None):
                    self.add("note", item, f"{score.id} mapped by its name {_first_name(o.code)!r}: a clinical "
                                           "score, which the analyte catalog knows by name, not by LOINC code")
                return
            components = [c for c in (o.component or ()) if c.code is not None]
            if components:
                self.observation_components(item, o, components, when, date_note)
                return
            if o.hasMember and not self.has_value(o):
                self.add("skipped", item, "a panel: its members are mapped from their own Observation resources",
                         _code_labels(o.code))
                return
            why = "no LOINC code" if not loincs else "LOINC code not in the analyte catalog"
            self.add("unmapped", item, why, _code_labels(o.code))
            return
        analyte = analytes[0]
        self.observation_value(item, o, analyte, when, date_note, None)

    @staticmethod
    def has_value(o: Any) -> bool:
        return any(getattr(o, f, None) is not None for f in (
            "valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger", "valueRange",
            "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod"))

    def score_by_name(self, cc: Any) -> Any:
        """A clinical score named by the code's text or display (see :meth:`Resolver.score_by_name`)."""
        return self.terms.score_by_name(_names(cc))

    def obs_date(self, o: Any) -> tuple[_dt.date | None, str | None]:
        if o.effectiveDateTime is not None:
            return _exact_date(o.effectiveDateTime)
        if o.effectivePeriod is not None:
            if o.effectivePeriod.start is not None:
                return _exact_date(o.effectivePeriod.start)
            if o.effectivePeriod.end is not None:
                d, note = _exact_date(o.effectivePeriod.end)
                return d, note or "effectivePeriod has no start: its end is used"
        if o.effectiveInstant is not None:
            return _exact_date(o.effectiveInstant)
        if o.effectiveTiming is not None:
            return None, "effectiveTiming is not read: taken as undated"
        return None, "no effective date: undated"

    @staticmethod
    def obs_time(o: Any) -> _dt.time | None:
        """The time of day of the effective date :meth:`obs_date` uses, with its UTC offset as written
        (issue 18, D8: of two results of one date, the 18:00 one is the latest).  ``issued`` is not used:
        it is when the result was released, and a slow assay drawn first may be released last."""
        if o.effectiveDateTime is not None:
            value = o.effectiveDateTime
        elif o.effectivePeriod is not None:
            value = o.effectivePeriod.start if o.effectivePeriod.start is not None else o.effectivePeriod.end
        else:
            value = o.effectiveInstant
        return value.timetz() if isinstance(value, _dt.datetime) else None

    def observation_components(self, item: _Item, o: Any, components: list, when: Any, date_note: str | None) -> None:
        mapped = 0
        for k, comp in enumerate(components):
            loincs = [code for system, code, _ in _codings(comp.code) if system == "LOINC"]
            analytes = self.terms.analytes_of(loincs)
            if len(analytes) != 1:
                why = ("its LOINC codes name different analytes" if len(analytes) > 1 else
                       "component LOINC code not in the analyte catalog" if loincs else "component has no LOINC code")
                self.add("unmapped", item, f"component {k}: {why}", _code_labels(comp.code))
                continue
            mapped += self.observation_value(item, comp, analytes[0], when, date_note, k)
        if not mapped and not any(l.outcome != "note" and l.where == item.where for l in self.lines):
            self.add("unmapped", item, "no component could be mapped", _code_labels(o.code))

    def observation_value(self, item: _Item, o: Any, analyte: Any, when: Any, date_note: str | None,
                          component: int | None) -> int:
        part = f"component {component}: " if component is not None else ""
        codes = _code_labels(o.code)
        if getattr(o, "dataAbsentReason", None) is not None and not self.has_value(o):
            self.add("skipped", item, f"{part}no value (dataAbsentReason)", codes)
            return 0
        q = o.valueQuantity
        value: float | None
        unit: str | None = None
        if q is not None:
            if q.comparator:
                self.add("rejected", item, f"{part}value {q.comparator}{q.value} is a bound, not a result: "
                                           "eligimatch needs the measured value", codes)
                return 0
            value = number(q.value)
            if value is None:
                self.add("rejected", item, f"{part}the quantity has no value", codes)
                return 0
            unit, problem = self.analyte_unit(analyte, q)
            if problem:
                self.add("rejected", item, f"{part}{problem}", codes)
                return 0
        elif o.valueInteger is not None:
            value = float(o.valueInteger)
            if not self.terms.dimensionless(analyte):
                self.add("rejected", item, f"{part}an integer without a unit for {analyte.id}, measured in "
                                           f"{analyte.unit}: units are checked, not assumed", codes)
                return 0
        else:
            kind = next((f for f in ("valueCodeableConcept", "valueString", "valueBoolean", "valueRange",
                                     "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod")
                         if getattr(o, f, None) is not None), None)
            self.add("rejected" if kind else "skipped", item,
                     f"{part}{'a ' + kind + ' is not a number with a unit' if kind else 'no value'}", codes)
            return 0
        rr, rr_note = self.reference_range(analyte, o, unit)
        at = self.obs_time(item.model) if when is not None else None
        try:
            obs = Observation(analyte=analyte.id, value=value, unit=unit, date=when, time=at, reference_range=rr,
                              source=self.source(item))
        except ValidationError as exc:
            self.add("rejected", item, f"{part}invalid: {short_error(exc)}", codes)
            return 0
        self.observations.append(obs)
        shown = f"{value:g} {unit or ''}".strip()
        self.add("mapped", item, f"{part}{analyte.name}", codes,
                 target=f"observations: {analyte.id} {shown} ({when or 'undated'}"
                        + (f" {at.isoformat(timespec='minutes')})" if at is not None else ")"))
        if date_note and when is None:
            date_note += " (an undated result does not count for a lab criterion)"
        for note in (date_note, rr_note):
            if note:
                self.add("note", item, f"{part}{note}")
        return 1

    def analyte_unit(self, analyte: Any, q: Any) -> tuple[str | None, str | None]:
        """The unit to record for a quantity, or a problem: UCUM ``code`` first, then ``unit`` text."""
        return self.terms.analyte_unit(analyte, *_unit_of(q))

    def reference_range(self, analyte: Any, o: Any, unit: str | None) -> tuple[ReferenceRange | None, str | None]:
        """The result's own reference range: the one range that applies to everyone with the normal meaning."""
        ranges = list(getattr(o, "referenceRange", None) or ())
        if not ranges:
            return None, None
        plain = [r for r in ranges if not r.appliesTo and r.age is None
                 and (r.type is None or any(c == "normal" for _, c, _ in _codings(r.type)))]
        if len(plain) != 1:
            return None, (f"{len(ranges)} reference ranges for different groups or meanings: none is used"
                          if len(ranges) > 1 else "the reference range applies to a group or meaning not "
                                                  "handled: not used")
        r = plain[0]
        if r.low is None and r.high is None:
            return None, "the reference range has no low or high value (text only): not used"
        bounds = {side: (q.value, *_unit_of(q)) for side in ("low", "high") if (q := getattr(r, side)) is not None}
        return self.terms.reference_range(analyte, bounds, unit)

    def observation_fact(self, item: _Item, o: Any, loincs: list[str], when: Any, date_note: str | None) -> None:
        codes = _code_labels(o.code)
        if ECOG_LOINC in loincs:
            name, label = "ecog", "ECOG performance status"
            value = None
            if o.valueCodeableConcept is not None:
                for system, code, _ in _codings(o.valueCodeableConcept):
                    if system == "LOINC" and code in ECOG_ANSWERS:
                        value = ECOG_ANSWERS[code]
                        break
            elif o.valueInteger is not None:
                value = int(o.valueInteger)
            elif o.valueQuantity is not None and not o.valueQuantity.comparator:
                v = number(o.valueQuantity.value)
                value = int(v) if v is not None and v.is_integer() else None
            if value is None or not 0 <= value <= 5:
                self.add("rejected", item, "ECOG answer not understood (expected LA9622-7..LA9627-6 or an integer "
                                           "0-5)", codes + _code_labels(o.valueCodeableConcept))
                return
        elif KARNOFSKY_LOINC in loincs:
            name, label = "karnofsky", "Karnofsky performance status"
            value = None
            if o.valueInteger is not None:
                value = int(o.valueInteger)
            elif o.valueQuantity is not None and not o.valueQuantity.comparator:
                v = number(o.valueQuantity.value)
                value = int(v) if v is not None and v.is_integer() else None
            if value is None or not 0 <= value <= 100 or value % 10:
                self.add("rejected", item, "Karnofsky score not understood (expected an integer 0-100 in steps of "
                                           "10)", codes)
                return
        else:
            name, label = "pregnant", "pregnancy status"
            answers = _codings(o.valueCodeableConcept) if o.valueCodeableConcept is not None else []
            value = None
            for system, code, _ in answers:
                if (system, code) in PREGNANCY_ANSWERS:
                    value = PREGNANCY_ANSWERS[(system, code)]
                    break
            if value is None:
                unknown = any((s, c) in UNKNOWN_ANSWERS for s, c, _ in answers)
                self.add("skipped" if unknown else "rejected", item,
                         "pregnancy status recorded as unknown" if unknown else
                         "pregnancy status answer not understood (expected pregnant / not pregnant)",
                         codes + _code_labels(o.valueCodeableConcept))
                return
        self.facts.setdefault(name, []).append(FactCandidate(value, when, item, label))
        if date_note:
            self.add("note", item, date_note)
