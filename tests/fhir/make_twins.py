"""Write the FHIR R4 twin of each example patient: examples/patients/X.json -> examples/fhir/X.json.

    PYTHONPATH=src python tests/fhir/make_twins.py           # write the twins
    PYTHONPATH=src python tests/fhir/make_twins.py --check   # exit 1 if a twin is missing or stale

Each native record becomes the FHIR resource a hospital system would send, coded
with the codes of eligimatch's catalogs: LOINC for labs, vitals, ECOG, Karnofsky
and pregnancy status; SNOMED CT or ICD-10-CM for conditions; SNOMED CT or CPT for
procedures; RxNorm ingredient codes for drugs; UCUM units; SNOMED CT routes.  A
record whose catalog entry has no code is written with its name as the
CodeableConcept's text, as EHRs do for free-text entries.

What FHIR has no standard place for is *not* written (free facts other than
ECOG, Karnofsky and pregnancy, record attributes, observation methods,
investigational flags, anchors, completeness); tests/test_fhir.py carries it
over from the native profile and lists it.  Resource ids are the record's
position (``obs-3``, ``cond-0``...), which is how that test finds the native
record again.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from eligimatch import Catalogs, load_patient
from eligimatch.knowledge import parse_unit

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "examples" / "patients"
TWINS = ROOT / "examples" / "fhir"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
SYSTEM_URLS = {"SNOMED": SNOMED, "ICD10CM": ICD10CM, "CPT": CPT}

# Native spellings -> UCUM codes.
UCUM_CODES = {
    "10^9/L": "10*9/L", "10^12/L": "10*12/L", "K/uL": "10*3/uL", "µmol/L": "umol/L", "IU/mL": "[IU]/mL",
    "mL/min/1.73 m²": "mL/min/{1.73_m2}", "kg/m²": "kg/m2", "m²": "m2", "mmHg": "mm[Hg]",
}
ROUTES = {"oral": "26643006", "intravenous": "47625008", "inhaled": "447694001", "topical": "6064005",
          "ocular": "54485002", "intranasal": "46713006", "intra_articular": "12130007",
          "subcutaneous": "34206005", "intramuscular": "78421000"}
ECOG_ANSWERS = ["LA9622-7", "LA9623-5", "LA9624-3", "LA9625-0", "LA9626-8", "LA9627-6"]
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
TIME = "T09:15:00+01:00"  # results are written as timestamps with an offset, as lab systems send them


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "eligimatch-twin:" + "/".join(parts)))


def _ucum(unit: str | None) -> str | None:
    if unit is None:
        return None
    code = UCUM_CODES.get(unit, unit)
    parse_unit(code)  # a unit the converter cannot express fails here, not in the test
    return code


def _quantity(value: float, unit: str | None) -> dict:
    q: dict = {"value": value}
    code = _ucum(unit)
    if code is not None and code != "1":
        q.update({"unit": unit, "system": UCUM, "code": code})
    return q


def _concept_code(concept, systems: tuple[str, ...]) -> tuple[str, str] | None:
    """The first exact (not range) code of a catalog concept in one of ``systems``."""
    for system in systems:
        for code in concept.codes:
            s, _, value = code.partition(":")
            if s == system and "-" not in value:
                return SYSTEM_URLS[s], value
    return None


def _coded(text: str, coding: tuple[str, str] | None) -> dict:
    out: dict = {"text": text}
    if coding is not None:
        out["coding"] = [{"system": coding[0], "code": coding[1]}]
    return out


def _fact_value(v):
    return v.value if hasattr(v, "value") else v


def twin(native: dict) -> dict:
    """The FHIR R4 Bundle of one native patient document (a dict)."""
    cats = Catalogs.default()
    p = load_patient(native)
    pid = _uuid(p.id or "patient")
    subject = {"reference": f"urn:uuid:{pid}"}
    resources: list[dict] = []
    patient: dict = {"resourceType": "Patient", "id": p.id or "patient",
                     "gender": p.sex or "unknown"}
    if p.birth_date:
        patient["birthDate"] = p.birth_date.isoformat()
    resources.append(patient)

    for name, fact in sorted(p.facts.items()):
        value = _fact_value(fact)
        date = getattr(fact, "date", None)
        if name not in ("ecog", "karnofsky", "pregnant"):
            continue
        obs: dict = {"resourceType": "Observation", "id": f"fact-{name}", "status": "final", "subject": subject}
        if name == "ecog":
            obs["code"] = {"coding": [{"system": LOINC, "code": "89247-1"}], "text": "ECOG performance status"}
            obs["valueCodeableConcept"] = {"coding": [{"system": LOINC, "code": ECOG_ANSWERS[int(value)]}]}
        elif name == "karnofsky":
            obs["code"] = {"coding": [{"system": LOINC, "code": "89243-0"}], "text": "Karnofsky performance status"}
            obs["valueInteger"] = int(value)
        else:
            obs["code"] = {"coding": [{"system": LOINC, "code": "82810-3"}], "text": "Pregnancy status"}
            answer = "LA15173-0" if value is True or str(value).lower() in ("yes", "true") else "LA26683-5"
            obs["valueCodeableConcept"] = {"coding": [{"system": LOINC, "code": answer}]}
        if date is not None:
            obs["effectiveDateTime"] = date.text + (TIME if date.exact else "")
        resources.append(obs)

    for i, o in enumerate(p.observations):
        analyte = cats.analytes.resolve(o.analyte)
        if analyte is None:
            raise SystemExit(f"{p.id}: observation {i}: analyte {o.analyte!r} is not in the catalog")
        if not analyte.loinc and analyte.kind != "score":
            continue  # no standard code: carried over by the test
        code = {"text": analyte.name if o.analyte == analyte.id else o.analyte}
        if analyte.loinc:
            code["coding"] = [{"system": LOINC, "code": analyte.loinc[0]}]
        unit = o.unit if o.unit is not None else analyte.unit
        obs = {"resourceType": "Observation", "id": f"obs-{i}", "status": "final", "subject": subject, "code": code,
               "valueQuantity": _quantity(o.value, unit)}
        if o.date is not None:
            obs["effectiveDateTime"] = o.date.isoformat() + TIME
        rr = o.reference_range
        if rr is not None:
            range_unit = rr.unit or unit
            obs["referenceRange"] = [{k: _quantity(v, range_unit) for k, v in (("low", rr.low), ("high", rr.high))
                                      if v is not None}]
        if o.method:
            obs["method"] = {"text": o.method}
        resources.append(obs)

    for i, c in enumerate(p.conditions):
        concept = (cats.conditions.resolve(c.code) if c.code else None) or (
            cats.conditions.resolve(c.name) if c.name else None)
        coding = None
        if c.code:
            system, _, value = c.code.partition(":")
            coding = (SYSTEM_URLS[system], value)
        elif concept is not None:
            coding = _concept_code(concept, ("SNOMED", "ICD10CM"))
        cond = {"resourceType": "Condition", "id": f"cond-{i}", "subject": subject,
                "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
                "code": _coded(c.name or (concept.name if concept else c.code), coding)}
        if c.status:
            cond["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": c.status}]}
        if c.onset:
            cond["onsetDateTime"] = c.onset.text
        if c.end:
            cond["abatementDateTime"] = c.end.text
        resources.append(cond)

    for i, t in enumerate(p.therapies):
        entry = cats.drugs.resolve(t.drug) if t.drug else None
        rxnorm = getattr(entry, "rxnorm", ()) if entry is not None else ()
        classes = [cats.drugs.resolve(c) for c in t.classes]
        text = t.drug or next((c.name for c in classes if c is not None), None) or "investigational agent"
        med = {"resourceType": "MedicationStatement", "id": f"med-{i}", "subject": subject,
               "medicationCodeableConcept": _coded(text, (RXNORM, rxnorm[0]) if rxnorm else None)}
        if t.indication:
            med["reasonCode"] = [{"text": t.indication}]
        if t.ongoing:
            med["status"] = "active"
        elif t.end is not None or t.ongoing is False:
            med["status"] = "completed"
        else:
            med["status"] = "unknown"
        period = {k: d.text for k, d in (("start", t.start), ("end", t.end)) if d is not None}
        if period:
            med["effectivePeriod"] = period
        dosage: dict = {}
        if t.route:
            dosage["route"] = {"coding": [{"system": SNOMED, "code": ROUTES[t.route]}], "text": t.route}
        if t.dose is not None:
            unit, per_day = t.dose.unit, t.dose.per_day
            if unit.replace(" ", "") in ("mg/day", "mg/d"):
                unit, per_day = "mg", 1.0
            if per_day is None:
                raise SystemExit(f"{p.id}: therapy {i}: dose {t.dose} has no frequency")
            if float(per_day).is_integer():
                repeat = {"frequency": int(per_day), "period": 1, "periodUnit": "d"}
            else:
                repeat = {"frequency": 1, "period": round(1 / per_day, 6), "periodUnit": "d"}
            dosage["timing"] = {"repeat": repeat}
            dosage["doseAndRate"] = [{"doseQuantity": _quantity(t.dose.value, unit)}]
        if dosage:
            med["dosage"] = [dosage]
        resources.append(med)

    for i, pr in enumerate(p.procedures):
        concept = (cats.procedures.resolve(pr.code) if pr.code else None) or (
            cats.procedures.resolve(pr.name) if pr.name else None)
        coding = None
        if pr.code:
            system, _, value = pr.code.partition(":")
            coding = (SYSTEM_URLS[system], value)
        elif concept is not None:
            coding = _concept_code(concept, ("SNOMED", "CPT"))
        proc = {"resourceType": "Procedure", "id": f"proc-{i}", "status": "completed", "subject": subject,
                "code": _coded(pr.name or (concept.name if concept else pr.code), coding)}
        if pr.date:
            proc["performedDateTime"] = pr.date.text
        resources.append(proc)

    entries = []
    for r in resources:
        url = f"urn:uuid:{pid}" if r["resourceType"] == "Patient" else f"urn:uuid:{_uuid(p.id or 'patient', r['id'])}"
        entries.append({"fullUrl": url, "resource": r})
    return {"resourceType": "Bundle", "id": f"twin-{p.id}".replace("_", "-")[:64], "type": "collection",
            "entry": entries}


def render(bundle: dict) -> str:
    return json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    if not check:
        TWINS.mkdir(exist_ok=True)
    for path in sorted(NATIVE.glob("*.json")):
        text = render(twin(json.loads(path.read_text(encoding="utf-8"))))
        target = TWINS / path.name
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
    if check and stale:
        print("stale or missing FHIR twins: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
