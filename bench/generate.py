"""A seeded generator of realistic patients for the benchmark.

Each patient is built from its own ``random.Random((seed, i))`` stream, so
patient ``i`` of seed ``s`` is the same whatever else is generated, and a
population can be streamed without holding it in memory::

    from generate import patient_dict, patients, iter_patients  # with bench/ on sys.path
    d = patient_dict(17, seed=1)                  # a JSON-shaped dict
    ps = patients(1000, seed=1)                   # validated eligimatch.Patient objects
    for p in iter_patients(100_000, seed=1): ...  # the same, streamed

What the population looks like (CAR-T screening: advanced solid tumours, some
autoimmune disease):

* labs in mixed units and spellings: ANC in 10^9/L, /µL, 10*3/uL or G/L (as
  "anc", "ANC", "neutrophils" or its LOINC code); creatinine and bilirubin in
  mg/dL or µmol/L; weight in kg or lb; most with the laboratory's reference
  range, some with two results, some stale (older than the 28-day window),
  a few dated after the evaluation date or undated;
* about 10 % of values missing (facts, labs, histories marked complete...):
  most charts nearly complete, a third sparse;
* treatment histories: chemotherapy lines (by drug, brand or class only),
  targeted therapy, monoclonal antibodies, corticosteroids with doses and
  routes, some ongoing, some with month-only dates;
* conditions by name or ICD-10-CM code, liver metastases, autoimmune disease,
  cardiovascular events with full or partial onset dates, a few not in the
  catalog; procedures; histories marked complete for most patients;
* anchors (screening, apheresis, enrollment) per patient.

Run ``python bench/generate.py 3`` to print three patients as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from typing import Any, Iterator

AS_OF = dt.date(2026, 3, 1)

# (spelling, unit, factor from the canonical unit); canonical first
_ANC_UNITS = [("10^9/L", 1.0), ("/uL", 1000.0), ("10*3/uL", 1.0), ("G/L", 1.0), ("/µL", 1000.0)]
_PLT_UNITS = [("10^9/L", 1.0), ("/uL", 1000.0), ("K/uL", 1.0)]
_CREAT_UNITS = [("mg/dL", 1.0), ("µmol/L", 88.4), ("umol/L", 88.4)]
_BILI_UNITS = [("mg/dL", 1.0), ("µmol/L", 17.1), ("umol/L", 17.1)]
_ENZ_UNITS = [("U/L", 1.0), ("IU/L", 1.0)]
_HB_UNITS = [("g/L", 1.0), ("g/dL", 0.1)]
_WEIGHT_UNITS = [("kg", 1.0), ("lb", 2.2046226218)]

_NAMES = {
    "anc": ["anc", "ANC", "neutrophils", "LOINC:751-8", "Absolute neutrophil count"],
    "platelets": ["platelets", "PLT", "Platelet count"],
    "lymphocytes": ["lymphocytes", "ALC"],
    "total_bilirubin": ["total_bilirubin", "TBIL", "Total bilirubin"],
    "alt": ["alt", "ALT", "SGPT"],
    "ast": ["ast", "AST", "SGOT"],
    "alp": ["alp", "ALP", "Alkaline phosphatase"],
    "creatinine": ["creatinine", "Creatinine", "LOINC:2160-0"],
    "inr": ["inr", "INR"],
    "aptt": ["aptt", "APTT"],
    "spo2": ["spo2", "SpO2"],
    "weight": ["weight", "Body weight"],
    "hemoglobin": ["hemoglobin", "HGB"],
    "sledai_2k": ["sledai_2k"],
}

_CANCERS = [("Gastric cancer", "ICD10CM:C16.9"), ("Pancreatic cancer", "ICD10CM:C25.0"),
            ("NSCLC", None), ("Breast cancer", None), ("gastric adenocarcinoma", None)]
_AUTOIMMUNE = [("Rheumatoid arthritis", "ICD10CM:M05.79"), ("Psoriasis", None), ("Hashimoto thyroiditis", None),
               ("SLE", "ICD10CM:M32.14")]
_CARDIO = [("Stroke", "ICD10CM:I63.9"), ("Acute myocardial infarction", "ICD10CM:I21.4"), ("Unstable angina", None),
           ("TIA", None), ("Transient ischemic attack", None)]
_OTHER = ["Hypertension", "Type 2 diabetes", "Hypothyroidism", "Atrial fibrillation"]
_UNMAPPED = ["Seasonal allergic rhinitis", "Benign prostatic hyperplasia"]

_CHEMO = ["paclitaxel", "Taxol", "oxaliplatin", "gemcitabine", "capecitabine", "docetaxel", None]  # None: class only
_TARGETED = ["osimertinib", "Tagrisso", "lenvatinib", "sorafenib", "apatinib"]
_MABS = ["pembrolizumab", "Keytruda", "bevacizumab", "nivolumab", "trastuzumab"]
# (drug, typical mg per dose, routes)
_STEROIDS = [("prednisone", (5, 80), ["oral"]), ("dexamethasone", (2, 20), ["oral", "intravenous"]),
             ("methylprednisolone", (8, 125), ["oral", "intravenous"]), ("hydrocortisone", (10, 100), ["oral"]),
             ("budesonide", (0.2, 0.8), ["inhaled"]), ("dexamethasone", (0.1, 0.1), ["ocular", "topical"])]


def _d(x: dt.date) -> str:
    return x.isoformat()


def _month(x: dt.date) -> str:
    return x.isoformat()[:7]


def _lab(rng: random.Random, canonical: str, value: float, units: list[tuple[str, float]], screening: dt.date,
         rr: tuple[float, float] | None = None, digits: int = 2) -> dict:
    unit, f = units[0] if rng.random() < 0.5 else rng.choice(units)
    r = rng.random()
    if r < 0.01:
        date = None
    elif r < 0.03:
        date = AS_OF + dt.timedelta(days=rng.randint(1, 5))
    elif r < 0.1:
        date = screening - dt.timedelta(days=rng.randint(20, 60))  # some older than the 28-day window
    else:
        date = screening - dt.timedelta(days=rng.randint(0, 21))
    obs: dict[str, Any] = {"analyte": rng.choice(_NAMES[canonical]), "value": round(value * f, digits), "unit": unit}
    if date is not None:
        obs["date"] = _d(date)
    if rr is not None and rng.random() < 0.92:
        lo, hi = rr
        obs["reference_range"] = {"low": round(lo * f, digits), "high": round(hi * f, digits)}
        if rng.random() < 0.2:
            obs["reference_range"]["unit"] = unit
    if rng.random() < 0.3:
        obs["source"] = {"type": "Observation", "id": f"obs-{rng.randrange(10**6)}"}
    return obs


def _labs(rng: random.Random, screening: dt.date, p_missing: float) -> list[dict]:
    lg = rng.lognormvariate
    specs = [
        ("anc", lambda: lg(1.2, 0.5), _ANC_UNITS, None, 2),
        ("platelets", lambda: lg(5.2, 0.45), _PLT_UNITS, None, 0),
        ("lymphocytes", lambda: lg(0.2, 0.5), _ANC_UNITS[:3], None, 2),
        ("total_bilirubin", lambda: lg(-0.3, 0.6), _BILI_UNITS, (0.2, 1.2), 2),
        ("alt", lambda: lg(3.3, 0.7), _ENZ_UNITS, (7.0, 40.0), 0),
        ("ast", lambda: lg(3.3, 0.6), _ENZ_UNITS, (10.0, 40.0), 0),
        ("alp", lambda: lg(4.7, 0.5), _ENZ_UNITS, (40.0, 130.0), 0),
        ("creatinine", lambda: lg(-0.05, 0.35), _CREAT_UNITS, (0.6, 1.2), 2),
        ("inr", lambda: lg(0.05, 0.15), [(None, 1.0), ("1", 1.0)], (0.8, 1.2), 2),
        ("aptt", lambda: lg(3.45, 0.2), [("s", 1.0)], (25.0, 35.0), 1),
        ("spo2", lambda: min(100.0, rng.gauss(97.2, 1.6)), [("%", 1.0)], None, 0),
        ("weight", lambda: lg(4.15, 0.22), _WEIGHT_UNITS, None, 1),
        ("hemoglobin", lambda: lg(4.75, 0.15), _HB_UNITS, (120.0, 160.0), 1),
    ]
    out = []
    for name, draw, units, rr, digits in specs:
        if rng.random() < p_missing:
            continue
        for _ in range(2 if rng.random() < 0.3 else 1):
            obs = _lab(rng, name, draw(), units, screening, rr, digits)
            if obs["unit"] is None:
                del obs["unit"]
            out.append(obs)
    return out


def _maybe_partial(rng: random.Random, day: dt.date, p: float) -> str:
    return _month(day) if rng.random() < p else _d(day)


def _conditions(rng: random.Random, as_of: dt.date) -> list[dict]:
    out: list[dict] = []

    def rec(name: str, code: str | None, onset: str | None = None, **kw: Any) -> dict:
        r: dict[str, Any] = {}
        if code is not None and rng.random() < 0.5:
            r["code"] = code
        else:
            r["name"] = name
        if onset is not None:
            r["onset"] = onset
        r.update(kw)
        return r

    if rng.random() < 0.95:
        name, code = rng.choice(_CANCERS)
        out.append(rec(name, code, _maybe_partial(rng, as_of - dt.timedelta(days=rng.randint(90, 1500)), 0.3)))
    if rng.random() < 0.2:
        kw = {"status": "resolved"} if rng.random() < 0.1 else {}
        out.append(rec("Liver metastases", "ICD10CM:C78.7", _d(as_of - dt.timedelta(days=rng.randint(10, 400))), **kw))
    if rng.random() < 0.06:
        name, code = rng.choice(_AUTOIMMUNE)
        kw = {"status": "remission"} if rng.random() < 0.2 else {}
        out.append(rec(name, code, _maybe_partial(rng, as_of - dt.timedelta(days=rng.randint(200, 5000)), 0.5), **kw))
    if rng.random() < 0.08:
        name, code = rng.choice(_CARDIO)
        onset = as_of - dt.timedelta(days=rng.randint(20, 1100))
        kw: dict[str, Any] = {}
        r = rng.random()
        if r < 0.5:
            kw["status"] = "resolved"
        elif r < 0.8:
            kw["end"] = _d(min(as_of, onset + dt.timedelta(days=rng.randint(1, 30))))
        out.append(rec(name, code, _maybe_partial(rng, onset, 0.25), **kw))
    for other in _OTHER:
        if rng.random() < 0.12:
            out.append(rec(other, None, _maybe_partial(rng, as_of - dt.timedelta(days=rng.randint(300, 6000)), 0.5)))
    if rng.random() < 0.02:
        out.append({"name": rng.choice(_UNMAPPED)})
    rng.shuffle(out)
    return out


def _therapy_dates(rng: random.Random, start: dt.date, as_of: dt.date, length: int, p_partial: float) -> dict:
    t: dict[str, Any] = {"start": _maybe_partial(rng, start, p_partial)}
    end = start + dt.timedelta(days=length)
    r = rng.random()
    if end >= as_of or r < 0.08:
        t["ongoing"] = True
    elif r < 0.12:
        pass  # neither end nor ongoing recorded
    else:
        t["end"] = _maybe_partial(rng, end, p_partial) if start.month != end.month else _d(end)
    if "end" in t and len(t["start"]) != len(t["end"]):
        t["start"], t["end"] = _d(start), _d(end)
    return t


def _therapies(rng: random.Random, as_of: dt.date, apheresis: dt.date) -> list[dict]:
    out = []
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
        start = apheresis - dt.timedelta(days=rng.randint(30, 900))
        start = min(start, as_of)
        old = (as_of - start).days > 180
        kind = rng.random()
        if kind < 0.5:
            drug = rng.choice(_CHEMO)
            t: dict[str, Any] = {"drug": drug} if drug else {"classes": ["chemotherapy"]}
            t.update(_therapy_dates(rng, start, as_of, rng.randint(1, 120), 0.3 if old else 0.0))
        elif kind < 0.75:
            t = {"drug": rng.choice(_TARGETED), "route": "oral"}
            t.update(_therapy_dates(rng, start, as_of, rng.randint(20, 300), 0.3 if old else 0.0))
        else:
            t = {"drug": rng.choice(_MABS), "route": "intravenous"}
            t.update(_therapy_dates(rng, start, as_of, rng.randint(1, 200), 0.3 if old else 0.0))
        out.append(t)
    if rng.random() < 0.3:
        drug, (lo, hi), routes = rng.choice(_STEROIDS)
        start = apheresis - dt.timedelta(days=rng.randint(1, 60))
        start = min(start, as_of)
        t = {"drug": drug}
        if rng.random() < 0.95:
            t["route"] = rng.choice(routes)
        if rng.random() < 0.95:
            amount = round(rng.uniform(lo, hi), 1)
            if rng.random() < 0.5:
                t["dose"] = {"value": amount, "unit": "mg/day"}
            else:
                t["dose"] = {"value": amount, "unit": "mg", "per_day": rng.choice([1, 2, 3])}
        t.update(_therapy_dates(rng, start, as_of, rng.randint(1, 40), 0.0))
        out.append(t)
    if rng.random() < 0.03:
        out.append({"investigational": True, "start": _d(as_of - dt.timedelta(days=rng.randint(10, 200)))})
    rng.shuffle(out)
    return out


def _procedures(rng: random.Random, apheresis: dt.date) -> list[dict]:
    out = []
    for name, p in (("Major surgery", 0.15), ("Minor surgery", 0.1), ("Radiotherapy", 0.05)):
        if rng.random() < p:
            r: dict[str, Any] = {"name": name}
            x = rng.random()
            if x < 0.9:
                r["date"] = _d(apheresis - dt.timedelta(days=rng.randint(0, 90)))
            elif x < 0.95:
                r["date"] = _month(apheresis - dt.timedelta(days=rng.randint(0, 90)))
            out.append(r)
    return out


def patient_dict(i: int, seed: int = 0, as_of: dt.date = AS_OF) -> dict:
    """Patient number ``i`` of population ``seed``, as a JSON-shaped dict."""
    rng = random.Random(f"{seed}:{i}")
    screening = as_of - dt.timedelta(days=rng.randint(0, 10))
    apheresis = screening + dt.timedelta(days=rng.randint(3, 21))
    enrollment = apheresis + dt.timedelta(days=rng.randint(7, 28))
    p: dict[str, Any] = {"id": f"S{seed}-{i:07d}"}
    # most charts are nearly complete, some are sparse: about 10 % of values missing overall
    p_missing = 0.25 if rng.random() < 0.3 else 0.035
    if rng.random() < 0.97:
        age_days = int(rng.uniform(20, 75) * 365.25)
        p["birth_date"] = _d(as_of - dt.timedelta(days=age_days))
    if rng.random() < 0.99:
        p["sex"] = rng.choice(["male", "female"])
    facts: dict[str, Any] = {}
    r = rng.random()
    if r < 0.98 - p_missing:
        facts["consent_signed"] = True
    elif r < 1 - p_missing:
        facts["consent_signed"] = False
    if rng.random() > p_missing:
        facts["ecog"] = rng.choices([0, 1, 2, 3], weights=[40, 40, 12, 5])[0]
    r = rng.random() / (1 - p_missing)
    if r < 0.45:
        facts["life_expectancy"] = {"value": rng.randint(2, 24), "unit": "months"}
    elif r < 0.75:
        facts["life_expectancy"] = {"value": rng.randint(8, 60), "unit": "weeks"}
    elif r < 1.0:
        facts["life_expectancy"] = rng.randint(1, 18)  # bare number: no unit, so invalid (never assumed months)
    fertile = p.get("sex") == "female" and p.get("birth_date", "1900") > _d(as_of.replace(year=as_of.year - 50))
    for name in ("pregnant", "breastfeeding"):
        if rng.random() > p_missing:
            facts[name] = fertile and rng.random() < 0.02
    if rng.random() < 0.5:
        facts["childbearing_potential"] = fertile
    p["facts"] = facts
    p["observations"] = _labs(rng, screening, p_missing)
    p["conditions"] = _conditions(rng, as_of)
    p["therapies"] = _therapies(rng, as_of, apheresis)
    p["procedures"] = _procedures(rng, apheresis)
    p["complete"] = {k: rng.random() > p_missing for k in ("conditions", "therapies", "procedures")}
    anchors = {"screening": _d(screening), "enrollment": _d(enrollment)}
    if rng.random() < 0.95:
        anchors["apheresis"] = _d(apheresis)
    p["anchors"] = anchors
    return p


def iter_dicts(n: int, seed: int = 0, start: int = 0) -> Iterator[dict]:
    for i in range(start, start + n):
        yield patient_dict(i, seed)


def iter_patients(n: int, seed: int = 0, start: int = 0) -> Iterator[Any]:
    """Validated :class:`eligimatch.Patient` objects, one at a time."""
    from eligimatch import Patient

    for d in iter_dicts(n, seed, start):
        yield Patient.model_validate(d)


def patients(n: int, seed: int = 0) -> list[Any]:
    return list(iter_patients(n, seed))


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    json.dump([patient_dict(i) for i in range(n)], sys.stdout, indent=1, ensure_ascii=False)
    print()
