"""Therapy criteria and patients drawn wide for the agreement tests of therapies (tests/sql and the
PostgreSQL and Spark tests in tests/population): a trial with every timing and test, criteria from the
criteria fuzzer, and records of drugs the catalog does not know, class-only and investigational records,
conditional classes with and without an indication, partial, missing and later dates."""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import eligimatch
from eligimatch.errors import PatientDataError
from eligimatch.sql import compile_sql, run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fuzzing as F

AS_OF = dt.date(2026, 3, 1)

THERAPY_TRIAL = '''
trial "T"
anchors screening, apheresis, enrollment, diagnosis
exclusion:
  - A1: therapy corticosteroid
  - A2: therapy (methotrexate, rituximab) within 6 months before apheresis
  - A3: therapy cytotoxic_chemotherapy within 14 days before apheresis
  - A4: therapy small_molecule_targeted_therapy within max(14 days, 5 half-lives) before apheresis
  - A5: therapy biologic within max(2 months, 3 half-lives) before diagnosis
  - A6: therapy immunosuppressant ongoing
  - A7: therapy immunosuppressant ongoing not for condition acute_lymphoblastic_leukemia
  - A8: therapy cytotoxic_chemotherapy for condition malignancy
  - A9: therapy corticosteroid ongoing where route not in (inhaled, topical, ocular)
  - A10: therapy (car_t and cd19_targeted)
  - A11: therapy (gene_therapy, cell_therapy) where investigational except "CD19-targeted therapy"
  - A12: therapy investigational_agent within 30 days before screening
  - A13: therapy monoclonal_antibody within 1 year before enrollment
  - A14: therapy prednisone within 3 weeks before screening except corticosteroid
  - A15: therapy immunosuppressant within 2 weeks before screening where route = oral
  - S1: therapy antimalarial started at least 12 weeks before screening
  - S2: therapy immunosuppressant started at least 3 months before enrollment
  - S3: therapy (corticosteroid, methotrexate) started at least 30 days before apheresis where route = oral
inclusion:
  - W1: washout from biologic of at least 5 half-lives before screening
  - W2: washout from rituximab of at least 6 months before diagnosis
  - W3: washout from (methotrexate, cyclophosphamide) of at least max(1 month, 2 half-lives) before apheresis
  - W4: washout from immunosuppressant of at least 4 weeks before screening
'''

DOSE_TRIAL = '''
trial "D"
anchors screening, apheresis, enrollment, diagnosis
inclusion:
  - D1: daily dose of corticosteroid as prednisone >= 7.5 mg/day
  - D2: daily dose of corticosteroid as prednisone <= 30 mg/day within 0 days before screening where route not in (inhaled, topical, ocular)
  - D3: daily dose of methotrexate > 15 mg/day within 3 months before screening
  - D4: total dose of corticosteroid as prednisone within 30 days before screening > 140 mg
  - D5: total dose of (prednisone, dexamethasone) within 2 weeks before apheresis <= 70 mg
  - D6: daily dose of hydroxychloroquine = 400 mg/day within 1 month before screening
  - D7: daily dose of corticosteroid != 10 mg/day
  - D8: daily dose of prednisone < 5 mg/day within 1 year before diagnosis
  - D9: total dose of methotrexate within 6 months before enrollment >= 1 g
  - SD1: stable dose of corticosteroid for 7 days before screening
  - SD2: stable dose of (antimalarial, immunosuppressant) for 8 weeks before screening
  - SD3: stable dose of corticosteroid where route not in (inhaled, topical, ocular) for 7 days before screening
  - SD4: stable dose of (methotrexate, prednisone) for 3 months before enrollment
'''

#: drugs and classes near the criteria above, as records name them: ids, names, brand names, codes
_NAMES = ["methotrexate", "Methotrexate", "rituximab", "Rituxan", "prednisone", "dexamethasone",
          "cyclophosphamide", "tacrolimus", "imatinib", "belimumab", "tisagenlecleucel", "hydroxychloroquine",
          "mycophenolate mofetil", "XYZ-123", "unmapped-drug-x"]
_CLASSES = ["corticosteroid", "immunosuppressant", "biologic", "cytotoxic_chemotherapy", "monoclonal_antibody",
            "car_t", "cell_therapy", "gene_therapy", "small_molecule_targeted_therapy", "antimalarial",
            "investigational_agent", "CD19-targeted therapy", "not a class"]
_INDICATIONS = [None, None, "acute lymphoblastic leukemia", "systemic lupus erythematosus", "malignancy",
                "rheumatoid arthritis", "leukemia", "not a condition we know"]


def therapy_record(r: random.Random, gen: F.PatientGen) -> dict:
    rec = gen.therapy()  # the fuzzers' own records: catalog drugs and classes, unmapped products, doses
    if r.random() < 0.5:  # and records near the criteria above
        rec = {k: v for k, v in rec.items() if k not in ("drug", "classes", "investigational")}
        k = r.random()
        if k < 0.55:
            rec["drug"] = r.choice(_NAMES)
        if k >= 0.4 or r.random() < 0.1:
            rec["classes"] = r.sample(_CLASSES, k=r.choice([1, 1, 2]))
        if r.random() < 0.15 or not (rec.get("drug") or rec.get("classes")):
            rec["investigational"] = True
    if r.random() < 0.35:
        rec["indication"] = r.choice(_INDICATIONS)
    if r.random() < 0.1:  # dated after the evaluation date
        rec["start"] = (AS_OF + dt.timedelta(days=r.randint(1, 90))).isoformat()
        rec.pop("end", None)
        rec.pop("dose_since", None)
    return rec


def population(r: random.Random, n: int, *, extreme: float = 0.02) -> list:
    """``n`` patients; ``extreme``: the share of extreme values (doses of 1e308 a day...)."""
    gen = F.PatientGen(r, extreme=extreme)
    out: list = []
    while len(out) < n:
        d: dict = {"id": f"p{len(out)}", "complete": {"therapies": r.random() < 0.5}}
        d["therapies"] = [therapy_record(r, gen) for _ in range(r.choice([0, 1, 1, 2, 3, 5]))]
        for rec in list(d["therapies"]):  # a course of several records: a dose change, a renewal
            if rec.get("drug") and isinstance(rec.get("end"), str) and r.random() < 0.4:
                end = dt.date.fromisoformat(rec["end"]) if len(rec["end"]) == 10 else None
                if end is None or end.year > 9990:
                    continue
                nxt = {"drug": rec["drug"], "start": (end + dt.timedelta(days=r.choice([0, 1, 1, 2, 5]))).isoformat()}
                if r.random() < 0.2:
                    nxt["start"] = nxt["start"][:7]
                if r.random() < 0.5:
                    nxt["ongoing"] = True
                else:
                    nxt["end"] = (end + dt.timedelta(days=r.randint(5, 200))).isoformat()
                for k in ("route", "classes", "investigational"):
                    if k in rec:
                        nxt[k] = rec[k]
                if "dose" in rec and r.random() < 0.8:  # the next dose: the same, or changed
                    nxt["dose"] = dict(rec["dose"], value=r.choice([rec["dose"]["value"], 2.5, 10, 40]))
                d["therapies"].append(nxt)
        if d["therapies"] and r.random() < 0.1:  # an exact copy (a duplicate feed)
            d["therapies"].append(dict(r.choice(d["therapies"])))
        several = [t for t in d["therapies"] if not t.get("drug") and len(t.get("classes", ())) > 1]
        if several and r.random() < 0.5:  # the same classes in another order: another product to the row engine
            twin = dict(r.choice(several))
            twin["classes"] = list(reversed(twin["classes"])) if r.random() < 0.7 else list(twin["classes"])
            if "dose" in twin and r.random() < 0.5:
                twin["dose"] = dict(twin["dose"], value=r.choice([2.5, 10, 40]))
            d["therapies"].append(twin)
        if r.random() < 0.6:
            d["anchors"] = {a: gen.exact_date(spread=60) for a in r.sample(["apheresis", "diagnosis",
                                                                              "enrollment"], k=r.randint(1, 3))}
            if r.random() < 0.15:
                d["anchors"][r.choice(list(d["anchors"]))] = r.choice(["2026-02-28", "2025-12-31", "2025-08-31"])
        try:
            out.append(eligimatch.load_patient(d))
        except PatientDataError:
            continue
    return out


_OUTCOME = {True: "true", False: "false", None: "unknown"}


def differences(con, trial, patients, as_of, anchors=None, *, assume_absent=False) -> list[str]:
    """Every (patient, criterion) whose SQL outcome is not the row engine's (expressible criteria)."""
    sql_trial = compile_sql(trial, strict=False, assume_absent=assume_absent)
    rows = {r["patient_id"]: r for r in run(con, sql_trial, as_of, anchors)}
    ids = [c.id for c in sql_trial.criteria if c.expressible]
    out = []
    for p in patients:
        result = eligimatch.match(p, trial, as_of=as_of, anchors=anchors, assume_absent=assume_absent)
        outcomes = {c.id: c.outcome.value for c in result.criteria}
        for cid in ids:
            if outcomes[cid] != _OUTCOME[rows[p.id][cid]]:
                out.append(f"{p.id} {cid}: row engine {outcomes[cid]}, SQL {_OUTCOME[rows[p.id][cid]]}")
        if sql_trial.complete and result.verdict.value != rows[p.id]["verdict"]:
            out.append(f"{p.id} verdict: row engine {result.verdict.value}, SQL {rows[p.id]['verdict']}")
    return out


def generated_therapy_trial(r: random.Random, n: int = 8) -> tuple[str, object]:
    """A trial of ``n`` therapy criteria from the criteria fuzzer (every timing, half-lives, where, except);
    a generated criterion the language refuses (an attribute a therapy record has no vocabulary for...)
    is drawn again."""
    gen = F.CriteriaGen(r, wild=0.0)
    head = f'trial "G"\nanchors {", ".join(F.ANCHORS)}\nexclusion:\n'
    lines: list[str] = []
    while len(lines) < n:
        text = gen.predicate()
        if not text.startswith("therapy "):
            continue
        line = f"  - G{len(lines)}: {text}"
        try:
            eligimatch.compile_trial(head + line)
        except eligimatch.CriteriaError:
            continue
        lines.append(line)
    src = head + "\n".join(lines)
    return src, eligimatch.compile_trial(src)
