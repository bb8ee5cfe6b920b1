"""Condition (and procedure) records drawn wide around the concepts criteria name, and condition criteria
over every timing, ``where`` and ``except``: the generators of the SQL agreement tests
(tests/sql/test_agreement_conditions.py on DuckDB, tests/population/test_conditions_backends.py on
PostgreSQL and Spark).

Records: the concept itself, below it, above it (ICD-10-CM C79.9 against brain metastases, "leukemia"
against B-ALL), beside it, not in the catalog; full, partial, missing and later onset and end dates; every
status or none; attributes of every kind a chart writes (yes/no spellings, stage and TNM spellings, grades
as numbers and numerals, words).
"""

from __future__ import annotations

import datetime as dt
import random

import fuzzing as F

import eligimatch
from eligimatch.errors import PatientDataError

AS_OF = dt.date(2026, 3, 1)
ANCHORS = "anchors screening, enrollment, diagnosis, leukapheresis"
CATS = eligimatch.Catalogs.default()

#: The concepts criteria name: with hierarchies above and below, overlaps, and ICD-10-CM codes.
NAMED = ["brain_metastases", "malignancy", "b_cell_acute_lymphoblastic_leukemia", "acute_lymphoblastic_leukemia",
         "infection", "hepatitis_b", "autoimmune_disease", "lupus_nephritis", "stroke", "solid_tumor",
         "liver_metastases", "anticancer_therapy_toxicity", "carcinoma_in_situ_skin", "urinary_tract_infection",
         "congestive_heart_failure", "peptic_ulcer", "acute_gvhd", "immunodeficiency"]
NAMED = [c for c in NAMED if CATS.conditions.get(c) is not None]


def _neighbourhood() -> tuple[list[str], list[str]]:
    """Names and codes of records around the named concepts: below, above, overlapping."""
    cat = CATS.conditions
    ids: set[str] = set()
    for c in NAMED:
        ids |= {c} | set(cat.descendants(c)) | set(cat.ancestors(c))
    codes: list[str] = []
    for i in sorted(ids):
        for code in cat.get(i).codes:
            if code.startswith("ICD10CM:") and "-" not in code:
                codes += [code, code.split(".")[0], code.split(".")[0] + ".9"]
    return sorted(ids), sorted(set(codes))


IDS, CODES = _neighbourhood()
EXTRA_CODES = ["ICD10CM:C79.9", "ICD10CM:C79.31", "ICD10CM:C91.0", "ICD10CM:C91.00", "ICD10CM:C95.90"]
EXTRA_NAMES = ["leukemia", "lymphoma", "malignancy", "cancer", "infection", "not a condition we know",
               "metastatic disease"]

#: Attribute values as charts write them, by attribute (and a few written anywhere).
VALUES: dict[str, list] = {
    "symptomatic": [True, False, "yes", "No", " TRUE ", "false", "Y", "N", 1, 0, "unknown", "", "maybe", 2.0],
    "active": [True, False, "yes", "no", "Unknown", 1],
    "relapsed": [True, False, "Yes", "NO", "?", 0],
    "severe": [True, False, "true", "not recorded"],
    "uncontrolled": [True, False, "yes", "N"],
    "stage": ["IIB", "Stage IIB", "2B", "stage iv", "IV", "metastatic", "locally advanced", "locally_advanced",
              "III", "3", 3, "IIIa", "advanced", "stage X", True, "", "Stage 4"],
    "t": ["T2", "cT2", "pT2a", "T4b", "ypT1c", "TX", "T9", 2],
    "laterality": ["left", "Left side", "both sides", "bilateral", "middle"],
    "histology": ["IDC", "invasive ductal carcinoma", "adenocarcinoma", "ILC", "sarcoma"],
    "grade": [1, 2, 3, 4, 2.5, "II", "iii", "2", " 3 ", "grade 2", "high", True, 1e-13, 2.0000000001],
    "nyha_class": [1, 2, "II", "III", 4, "IV", "class 3"],
    "manifestation": ["colitis", "peripheral neuropathy", "peripheral-neuropathy", "Peripheral_Neuropathy",
                      "alopecia", "hypothyroidism", 2],
    "confirmation": ["histological", "Histological", "cytological", "imaging", "clinical"],
    "isn_rps_class": ["III", "IV", "IV+V", "iii", "3", 3, "V"],
    "extent": ["extensive", "limited", "Extensive"],
}

#: `where` tests over those attributes: yes/no, coded (one scale, across scales, negated), ordered, text.
TESTS = ["symptomatic", "not symptomatic", "active", "relapsed", "not severe", "uncontrolled",
         "stage in (IIB, III)", "stage = IV", "stage in (locally_advanced, metastatic)", "stage in (IV, metastatic)",
         "stage != IIB", "stage not in (III, IIIA)", "t = T2", "t in (T2, T2a)", "laterality = left",
         "histology in (infiltrating_ductal_carcinoma)", "grade >= 2", "grade > 2", "grade = 3", "grade < 2",
         "grade != 2", "grade in (2, 3)", "grade not in (1)", "grade = II", "grade <= 2.5", "nyha_class >= 2",
         "manifestation in (peripheral_neuropathy, colitis)", "manifestation not in (alopecia)",
         "manifestation = colitis", "confirmation in (histological, cytological)", "isn_rps_class in (III, \"IV+V\")",
         "isn_rps_class = 3", "extent = extensive", "manifestation != 2", "grade = high"]


#: Allergens as charts write them: drug ids, names, brands, abbreviations, classes, a drug in a class only for
#: some indications (methotrexate), targets, RxNorm codes, unknown names, blanks and non-text values.
ALLERGENS = ["cyclophosphamide", "Cytoxan", "CTX", "fludarabine", "Fludara", "acetaminophen", "Tylenol", "paracetamol",
             "penicillin", "beta-lactam antibiotic", "corticosteroid", "methotrexate", "tocilizumab", "cetuximab",
             "Erbitux", "DMSO", "albumin human", "dextran 40", "RxNorm:3002", "anti-CD19", "monoclonal_antibody",
             "excipient", "cytotoxic_chemotherapy", "antibiotic", "shellfish", "unknown drug", "", " ", 3, True]
ALLERGY_TO = ["(cyclophosphamide, fludarabine)", "(acetaminophen, diphenhydramine)", "corticosteroid",
              "(dimethyl_sulfoxide, human_serum_albumin, dextran_40)", "cytotoxic_chemotherapy", "immunosuppressant",
              "(tocilizumab, cetuximab)", "monoclonal_antibody", "excipient", "(penicillin, antibiotic)"]


def allergy_criterion(r: random.Random) -> str:
    head = r.choice(["history of", "condition"])
    concept = r.choice(["allergy", "drug_allergy", "(allergy, anaphylaxis)"])
    where = r.choice(["", "", " where severe"])
    return f"{head} {concept} to {r.choice(ALLERGY_TO)}{where}"


def _where(r: random.Random) -> str:
    k = r.random()
    if k < 0.35:
        return ""
    if k < 0.7:
        return " where " + r.choice(TESTS)
    if k < 0.85:
        return " where (" + " and ".join(r.sample(TESTS, 2)) + ")"
    return f" where ({r.choice(TESTS)} or ({r.choice(TESTS)} and {r.choice(TESTS)}))"


def _concepts(r: random.Random) -> str:
    names = r.sample(NAMED, r.choice([1, 1, 1, 2]))
    return names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"


def _window(r: random.Random) -> str:
    n, unit = r.choice([(14, "days"), (8, "weeks"), (6, "months"), (1, "months"), (12, "months"), (5, "years"),
                        (0, "days")])
    return f"within {n} {unit} before {r.choice(['screening', 'enrollment', 'diagnosis', 'leukapheresis'])}"


def condition_criterion(r: random.Random) -> str:
    """A condition criterion over every timing, with and without `where` and `except`."""
    head = r.choice(["condition", "history of"])
    k = r.random()
    when = "" if k < 0.35 else f" {_window(r)}" if k < 0.7 or head == "condition" and k < 0.75 else \
        f" diagnosed {_window(r)}"
    if head == "condition" and when.startswith(" within"):
        when = f" diagnosed {when.strip()}"  # `condition X within` is not in the language: present now
    exc = f" except {_concepts(r)}" if r.random() < 0.25 else ""
    return f"{head} {_concepts(r)}{_where(r)}{exc}{when}"


def _allergy(r: random.Random, gen: F.PatientGen) -> dict:
    rec: dict = {"name": r.choice(["allergy", "drug allergy", "drug_allergy", "anaphylaxis", "hypersensitivity"])}
    if r.random() < 0.85:
        rec["attributes"] = {"allergen": r.choice(ALLERGENS)}
        if r.random() < 0.3:
            rec["attributes"]["severe"] = r.choice([True, False, "yes", "unknown"])
    if r.random() < 0.7:
        rec["onset"] = gen.date(spread=2500)
    if r.random() < 0.5:
        rec["status"] = r.choice(["active", "resolved"])
    return rec


def procedure_criterion(r: random.Random) -> str:
    proc = r.choice(["major_surgery", "biopsy", "indwelling_catheter_or_drain", "apheresis"])
    win = f" {_window(r)}" if r.random() < 0.5 else ""
    tests = ["in_place", "not in_place", "complete", "grade >= 2", "laterality = left"]
    where = f" where {r.choice(tests)}" if r.random() < 0.8 else ""
    return f"procedure {proc}{where}{win}"


def trial_text(r: random.Random, n: int = 12) -> str:
    lines = [f"  - C{i}: {condition_criterion(r)}" for i in range(n)]
    lines += [f"  - A{i}: {allergy_criterion(r)}" for i in range(2)]
    lines += [f"  - Q{i}: {procedure_criterion(r)}" for i in range(3)]
    return f'trial "T"\n{ANCHORS}\nexclusion:\n' + "\n".join(lines) + "\n"


def _attributes(r: random.Random) -> dict:
    names = r.sample(sorted(VALUES), r.randint(1, 4))
    return {n: r.choice(VALUES[n]) for n in names}


def _condition(r: random.Random, gen: F.PatientGen) -> dict:
    k = r.random()
    if k < 0.55:
        rec: dict = {"name": r.choice(IDS)}
    elif k < 0.8 and CODES:
        rec = {"code": r.choice(CODES + EXTRA_CODES)}
    else:
        rec = {"name": r.choice(EXTRA_NAMES)}
    k = r.random()
    if k < 0.7:
        rec["onset"] = gen.date(spread=2500)
    elif k < 0.8:  # after the evaluation date
        rec["onset"] = (AS_OF + dt.timedelta(days=r.randint(1, 400))).isoformat()[:r.choice([10, 7, 4])]
    if r.random() < 0.35:
        base = dt.date.fromisoformat(rec["onset"][:4] + "-12-31") if "onset" in rec else AS_OF - dt.timedelta(600)
        if base.year < 9990:  # (an extreme onset: no end after it)
            end = base + dt.timedelta(days=r.randint(0, 900))
            rec["end"] = end.isoformat()[:r.choice([10, 10, 7, 4])]
    if r.random() < 0.6:
        rec["status"] = r.choice(["active", "resolved", "inactive", "remission"])
    if r.random() < 0.5:
        rec["attributes"] = _attributes(r)
    return rec


def _procedure(r: random.Random, gen: F.PatientGen) -> dict:
    cats = CATS.procedures
    near: set[str] = set()
    for cid in ("major_surgery", "biopsy", "indwelling_catheter_or_drain", "apheresis"):
        near |= {cid} | set(cats.descendants(cid)) | set(cats.ancestors(cid))
    rec: dict = {"name": r.choice(sorted(near) + ["not a procedure we know"])}
    if r.random() < 0.85:
        rec["date"] = gen.date()
    if r.random() < 0.6:
        rec["attributes"] = {n: r.choice([True, False, "yes", "unknown", 2, "II", "left", 1])
                             for n in r.sample(["in_place", "complete", "grade", "laterality"], r.randint(1, 2))}
    return rec


def population(r: random.Random, n: int) -> list:
    gen = F.PatientGen(r)
    out: list = []
    while len(out) < n:
        d: dict = {"id": f"p{len(out)}", "complete": {"conditions": r.random() < 0.5,
                                                       "procedures": r.random() < 0.5}}
        d["conditions"] = [_condition(r, gen) for _ in range(r.choice([0, 1, 1, 2, 3, 5]))]
        d["conditions"] += [_allergy(r, gen) for _ in range(r.choice([0, 0, 1, 2]))]
        if r.random() < 0.5:
            d["procedures"] = [_procedure(r, gen) for _ in range(r.randint(0, 2))]
        if r.random() < 0.5:
            d["anchors"] = {a: gen.exact_date(spread=200) for a in r.sample(["diagnosis", "leukapheresis",
                                                                             "enrollment"], r.randint(1, 2))}
        try:
            out.append(eligimatch.load_patient(d))
        except PatientDataError:
            continue
    return out
