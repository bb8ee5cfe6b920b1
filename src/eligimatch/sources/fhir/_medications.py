"""FHIR MedicationStatement, MedicationRequest and MedicationAdministration: status and intent rules, the medication
(inline, contained or referenced) resolved to catalog drugs, dates, the dose per day and the route.  Part of the FHIR
mapper (:mod:`eligimatch.sources.fhir._mapper`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from eligimatch.sources._codes import ROUTES, number
from eligimatch.sources._patient import Dose, Therapy
from eligimatch.sources._resolve import short_error
from eligimatch.sources.fhir._parts import FhirParts
from eligimatch.sources.fhir._validate import _Item
from eligimatch.sources.fhir._values import (
    _ADMIN_USED,
    _MED_IGNORED,
    _MED_NOT_YET,
    _MED_ORDER_INTENTS,
    _TIMING_CODES,
    _code_labels,
    _codings,
    _fhir_date,
    _names,
    _period_days,
    _unit_of,
)

__all__ = ["MedicationMixin"]


class MedicationMixin(FhirParts):
    """The medication part of the FHIR mapper."""

    # ---- MedicationStatement / MedicationRequest / MedicationAdministration
    def map_medication(self, item: _Item) -> None:
        m = item.model
        rtype = item.rtype
        status = m.status
        cc, med_note = self.medication_concept(item, m)
        codes = _code_labels(cc) if cc is not None else ()
        if status in _MED_IGNORED or (rtype == "MedicationAdministration" and status == "not-done"):
            self.add("skipped", item, f"status {status!r}: not a medication the patient took", codes)
            return
        if status in _MED_NOT_YET:
            self.add("skipped", item, f"status {status!r}: not (yet) taken", codes)
            return
        if rtype == "MedicationRequest":
            if m.intent not in _MED_ORDER_INTENTS:
                self.add("skipped", item, f"intent {m.intent!r}: a proposal or plan, not an order", codes)
                return
            if m.doNotPerform:
                self.add("skipped", item, "doNotPerform: an order not to give this medication", codes)
                return
        if rtype == "MedicationAdministration" and status not in _ADMIN_USED:
            self.add("skipped", item, f"status {status!r}: not known to have been given", codes)
            self.doubtful("therapies")
            return
        if cc is None:
            self.add("unmapped", item, med_note or "no medication code", history="therapies")
            return
        entries, how = self.drugs_of(cc)
        if not entries:
            self.add("unmapped", item, "medication not in the drug catalog (by RxNorm code or name)", codes,
                     history="therapies")
            return
        start, end, ongoing, notes = self.med_dates(m, rtype, status)
        dose, route, dose_notes = self.med_dosage(m, rtype)
        notes += dose_notes
        if len(entries) > 1 and dose is not None:
            notes.append("a combination product: the dose is not given per ingredient, so none is recorded")
            dose = None
        for entry in entries:
            is_class = not hasattr(entry, "rxnorm")
            try:
                rec = Therapy(drug=None if is_class else entry.id, classes=(entry.id,) if is_class else (),
                              start=start, end=end, ongoing=ongoing, dose=dose, route=route,
                              indication=self.med_indication(m), source=self.source(item))
            except ValidationError as exc:
                self.add("rejected", item, f"invalid: {short_error(exc)}", codes, history="therapies")
                return
            self.therapies.append(rec)
            span = f"{start or '?'} to {end or ('ongoing' if ongoing else '?')}"
            extra = ""
            if dose is not None:
                extra += f", {dose.value:g} {dose.unit}" + (f" x {dose.per_day:g}/day" if dose.per_day else "")
            if route:
                extra += f", {route}"
            self.add("mapped", item, f"{entry.name}{how}", codes, target=f"therapies: {entry.id} ({span}{extra})")
        for note in notes + ([med_note] if med_note else []):
            self.add("note", item, note)

    def medication_concept(self, item: _Item, m: Any) -> tuple[Any, str | None]:
        if m.medicationCodeableConcept is not None:
            return m.medicationCodeableConcept, None
        ref = m.medicationReference
        reference = getattr(ref, "reference", None)
        if not reference:
            return None, "medicationReference has no reference"
        if reference.startswith("#"):
            for contained in m.contained or ():
                if getattr(contained, "id", None) == reference[1:] and contained.get_resource_type() == "Medication":
                    return contained.code, None
            return None, f"contained medication {reference} not found"
        target = self.resolve(reference)
        if target is None or target.rtype != "Medication" or target.model is None or not target.usable:
            return None, f"medicationReference {reference} is not a usable Medication in the input"
        self.medication_users.setdefault(id(target), []).append(f"{item.rtype}/{item.rid or item.where}")
        return target.model.code, f"medication read from {target.where} (Medication/{target.rid})"

    def drugs_of(self, cc: Any) -> tuple[list, str]:
        """Catalog drugs (or classes) a medication concept names (see :meth:`Resolver.drugs_of`)."""
        return self.terms.drugs_of(_codings(cc), _names(cc))

    def med_dates(self, m: Any, rtype: str, status: str) -> tuple[Any, Any, bool | None, list[str]]:
        notes: list[str] = []
        start = end = None
        if rtype in ("MedicationStatement", "MedicationAdministration"):
            if m.effectiveDateTime is not None:
                start, n = _fhir_date(m.effectiveDateTime)
                if rtype == "MedicationAdministration":
                    end = start  # one administration
            elif m.effectivePeriod is not None:
                start, n = _fhir_date(m.effectivePeriod.start)
                end, n2 = _fhir_date(m.effectivePeriod.end)
                n = n or n2
            else:
                n = "no effective date"
            if n:
                notes.append(n)
        else:
            bounds = None
            for d in m.dosageInstruction or ():
                rep = d.timing.repeat if d.timing is not None else None
                if rep is not None and rep.boundsPeriod is not None:
                    bounds = rep.boundsPeriod
                    break
            if bounds is not None and (bounds.start is not None or bounds.end is not None):
                start, _ = _fhir_date(bounds.start)
                end, _ = _fhir_date(bounds.end)
                if start is None:
                    start, _ = _fhir_date(m.authoredOn)
            else:
                start, n = _fhir_date(m.authoredOn)
                if start is None:
                    notes.append("no authoredOn date: start left unknown")
        ongoing: bool | None
        if end is not None:
            ongoing = None
        elif status in ("active", "on-hold", "in-progress"):
            ongoing = True
        elif status in ("completed", "stopped"):
            ongoing = False
            notes.append(f"status {status!r} with no end date: the last dose date is unknown")
        else:
            ongoing = None
            notes.append(f"status {status!r}: whether it continues is unknown")
        return start, end, ongoing, notes

    def med_dosage(self, m: Any, rtype: str) -> tuple[Dose | None, str | None, list[str]]:
        notes: list[str] = []
        if rtype == "MedicationAdministration":
            d = m.dosage
            if d is None:
                return None, None, notes
            route = self.route_of(d.route, notes)
            dose = None
            if d.dose is not None:
                dose = self.dose_of(d.dose, None, notes)
            return dose, route, notes
        dosages = list((m.dosage if rtype == "MedicationStatement" else m.dosageInstruction) or ())
        if not dosages:
            return None, None, notes
        routes = {self.route_of(d.route, notes) for d in dosages}
        route = routes.pop() if len(routes) == 1 else None
        if len(dosages) > 1:
            notes.append(f"{len(dosages)} dosage instructions (a taper or a schedule): no single dose recorded")
            return None, route, notes
        d = dosages[0]
        if d.asNeededBoolean or d.asNeededCodeableConcept is not None:
            notes.append("taken as needed: the dose actually taken is unknown, none recorded")
            return None, route, notes
        rates = list(d.doseAndRate or ())
        quantities = [r.doseQuantity for r in rates if r.doseQuantity is not None]
        if not quantities:
            if rates:
                notes.append("the dose is a range or rate: none recorded")
            return None, route, notes
        per_day = self.per_day(d.timing, notes)
        if per_day is None:
            return None, route, notes
        return self.dose_of(quantities[0], per_day, notes), route, notes

    def per_day(self, timing: Any, notes: list[str]) -> float | None:
        if timing is None:
            notes.append("no timing: how often the dose is taken is unknown, no dose recorded")
            return None
        rep = timing.repeat
        if rep is not None and rep.frequency is not None and rep.period is not None:
            if rep.frequencyMax is not None or rep.periodMax is not None:
                notes.append("the timing is a range of frequencies: no dose recorded")
                return None
            days = _period_days(rep.periodUnit)
            period = number(rep.period)
            if days is None or not period:
                notes.append(f"timing period unit {rep.periodUnit!r} has no fixed length: no dose recorded")
                return None
            return float(rep.frequency) / (period * days)
        for _, code, _ in _codings(timing.code):
            if code in _TIMING_CODES:
                return _TIMING_CODES[code]
        notes.append("the timing gives no frequency and period: no dose recorded")
        return None

    def dose_of(self, q: Any, per_day: float | None, notes: list[str]) -> Dose | None:
        if q.comparator:
            notes.append("the dose is a bound, not an amount: none recorded")
            return None
        value = number(q.value)
        code, text = _unit_of(q)
        unit = self.terms.dose_unit(code, text)
        if value is None or unit is None:
            shown = f"{q.value} {code or text or '(no unit)'}"
            notes.append(f"the dose {shown} is not an amount in a unit eligimatch can read (tablets, puffs...): "
                         "none recorded")
            return None
        try:
            return Dose(value=value, unit=unit, per_day=per_day)
        except ValidationError as exc:
            notes.append(f"the dose is not valid: {short_error(exc)}")
            return None

    def route_of(self, cc: Any, notes: list[str]) -> str | None:
        if cc is None:
            return None
        for system, code, _ in _codings(cc):
            if system == "SNOMED" and code in ROUTES:
                return ROUTES[code]
        notes.append(f"route {', '.join(_code_labels(cc)) or '(no code)'} not mapped: route left unknown")
        return None
