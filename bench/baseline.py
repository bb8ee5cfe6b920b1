"""The hand-written baseline: NCT05621486's computable criteria as one plain Python function.

This is what a competent engineer would write for one trial without a rule
engine: the criteria of ``bench/nct05621486.elig`` coded directly, with

* Kleene three-valued logic (FALSE=0 < UNKNOWN=1 < TRUE=2; AND is min, OR is
  max), so missing data gives UNKNOWN and never a silent "no";
* the same decisions as eligimatch (latest result on or before the evaluation
  date, results of one date that disagree UNKNOWN (conflicting), results
  older than 28 days before screening are stale, partial dates tried at both
  ends, washouts of max(14 days, 5 half-lives), prednisone equivalents summed
  over each day, histories that count as absent only when marked complete);
* unit conversion with factors resolved ahead of time (tables below);
* names and codes resolved through hand-made tables of the spellings the
  feed uses (``bench/generate.py``), with the categories this trial cares
  about pre-computed;
* per criterion: the outcome, reasons (a code and a readable line with the
  value as recorded, converted, dated, and the threshold) and the missing
  facts; then the verdict and the deciding criteria.

It reads the same validated :class:`eligimatch.Patient` objects that
eligimatch reads.  ``bench/run.py`` checks that both agree on every patient.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, NamedTuple

FALSE, UNKNOWN, TRUE = 0, 1, 2
OUTCOME = ("false", "unknown", "true")
DAY = dt.timedelta(days=1)
REL_TOL, ABS_TOL = 1e-9, 1e-12

# ---- tables, resolved ahead of time --------------------------------------------------------------

ANALYTES = {
    "anc": "anc", "neutrophils": "anc", "loinc:751-8": "anc", "absolute neutrophil count": "anc",
    "platelets": "platelets", "plt": "platelets", "platelet count": "platelets",
    "lymphocytes": "lymphocytes", "alc": "lymphocytes",
    "total_bilirubin": "total_bilirubin", "tbil": "total_bilirubin", "total bilirubin": "total_bilirubin",
    "alt": "alt", "sgpt": "alt", "ast": "ast", "sgot": "ast", "alp": "alp", "alkaline phosphatase": "alp",
    "creatinine": "creatinine", "loinc:2160-0": "creatinine",
    "inr": "inr", "aptt": "aptt", "spo2": "spo2", "weight": "weight", "body weight": "weight",
    "hemoglobin": "hemoglobin", "hgb": "hemoglobin", "sledai_2k": "sledai_2k",
}

CREAT_UMOL = 113.12 / 10_000  # µmol/L -> mg/dL by the molar mass, 113.12 g/mol
BILI_UMOL = 584.66 / 10_000
_COUNT = {"10^9/L": 1.0, "10*9/L": 1.0, "G/L": 1.0, "10*3/uL": 1.0, "K/uL": 1.0, "/uL": 0.001, "/µL": 0.001}
# factor from a recorded unit to the unit the trial's thresholds use (None: the analyte's own unit)
TO_THRESHOLD_UNIT = {
    "anc": {None: 1.0, **_COUNT},
    "platelets": {None: 1.0, **_COUNT},
    "creatinine": {None: 1.0, "mg/dL": 1.0, "µmol/L": CREAT_UMOL, "umol/L": CREAT_UMOL},
    "weight": {None: 1.0, "kg": 1.0, "lb": 0.45359237, "g": 0.001},
    "spo2": {None: 1.0, "%": 1.0},
}
# units that are one and the same for a reference range and its result
SAME_UNIT = {"U/L": "U/L", "IU/L": "U/L", "µmol/L": "µmol/L", "umol/L": "µmol/L", "1": None}
MONTHS_PER = {"month": 1.0, "months": 1.0, "week": 7 / 30.4375, "weeks": 7 / 30.4375,
              "day": 1 / 30.4375, "days": 1 / 30.4375, "year": 12.0, "years": 12.0}

LIVER_METS, AUTOIMMUNE, CARDIO = 1, 2, 4
# condition names and codes the feed uses -> (concept id, categories)
CONDITIONS = {
    "gastric cancer": ("gastric_cancer", 0), "icd10cm:c16.9": ("gastric_cancer", 0),
    "gastric adenocarcinoma": ("gastric_cancer", 0),
    "pancreatic cancer": ("pancreatic_cancer", 0), "icd10cm:c25.0": ("pancreatic_cancer", 0),
    "nsclc": ("non_small_cell_lung_cancer", 0), "breast cancer": ("breast_cancer", 0),
    "liver metastases": ("liver_metastases", LIVER_METS), "icd10cm:c78.7": ("liver_metastases", LIVER_METS),
    "rheumatoid arthritis": ("rheumatoid_arthritis", AUTOIMMUNE),
    "icd10cm:m05.79": ("rheumatoid_arthritis", AUTOIMMUNE),
    "psoriasis": ("psoriasis", AUTOIMMUNE), "hashimoto thyroiditis": ("autoimmune_thyroiditis", AUTOIMMUNE),
    "sle": ("systemic_lupus_erythematosus", AUTOIMMUNE), "icd10cm:m32.14": ("lupus_nephritis", AUTOIMMUNE),
    "stroke": ("stroke", CARDIO), "icd10cm:i63.9": ("stroke", CARDIO),
    "acute myocardial infarction": ("acute_myocardial_infarction", CARDIO),
    "icd10cm:i21.4": ("acute_myocardial_infarction", CARDIO),
    "unstable angina": ("unstable_angina", CARDIO),
    "tia": ("transient_ischemic_attack", CARDIO), "transient ischemic attack": ("transient_ischemic_attack", CARDIO),
    "hypertension": ("hypertension", 0), "type 2 diabetes": ("type_2_diabetes", 0),
    "hypothyroidism": ("hypothyroidism", 0), "atrial fibrillation": ("atrial_fibrillation", 0),
}
MAJOR_SURGERY = 1
PROCEDURES = {"major surgery": ("major_surgery", MAJOR_SURGERY), "minor surgery": ("minor_surgery", 0),
              "radiotherapy": ("radiotherapy", 0)}

CHEMO, TARGETED, MAB, STEROID = 1, 2, 4, 8
# drug names the feed uses -> (drug id, classes, half-life in days, mg equivalent to 5 mg prednisone)
DRUGS = {
    "paclitaxel": ("paclitaxel", CHEMO, None, None), "taxol": ("paclitaxel", CHEMO, None, None),
    "oxaliplatin": ("oxaliplatin", CHEMO, None, None), "gemcitabine": ("gemcitabine", CHEMO, None, None),
    "capecitabine": ("capecitabine", CHEMO, None, None), "docetaxel": ("docetaxel", CHEMO, None, None),
    "osimertinib": ("osimertinib", TARGETED, 2.0, None), "tagrisso": ("osimertinib", TARGETED, 2.0, None),
    "lenvatinib": ("lenvatinib", TARGETED, 1.167, None), "sorafenib": ("sorafenib", TARGETED, 2.0, None),
    "apatinib": ("apatinib", TARGETED, None, None),
    "pembrolizumab": ("pembrolizumab", MAB, 22.0, None), "keytruda": ("pembrolizumab", MAB, 22.0, None),
    "bevacizumab": ("bevacizumab", MAB, 20.0, None), "nivolumab": ("nivolumab", MAB, 25.0, None),
    "trastuzumab": ("trastuzumab", MAB, 38, None),
    "prednisone": ("prednisone", STEROID, None, 5.0), "dexamethasone": ("dexamethasone", STEROID, None, 0.75),
    "methylprednisolone": ("methylprednisolone", STEROID, None, 4.0),
    "hydrocortisone": ("hydrocortisone", STEROID, None, 20.0), "budesonide": ("budesonide", STEROID, None, None),
}
DRUG_CLASSES = {"chemotherapy": CHEMO, "cytotoxic_chemotherapy": CHEMO, "corticosteroid": STEROID,
                "monoclonal_antibody": MAB, "small_molecule_targeted_therapy": TARGETED}
LOCAL_ROUTES = frozenset({"topical", "ocular", "intra_articular", "intranasal", "inhaled"})

INCLUSION = ("I1", "I2", "I3", "I4", "I7a", "I7b", "I7c", "I7d", "I7e", "I8")
EXCLUSION = ("E1a", "E1b", "E1c", "E5", "E8", "E11", "E14", "E15")


class Crit(NamedTuple):
    id: str
    outcome: int              # FALSE, UNKNOWN or TRUE
    reasons: tuple            # ((code, note), ...)
    missing: tuple            # (fact, ...) that would settle an UNKNOWN
    causes: tuple             # ("missing", "stale", ...) when UNKNOWN


class Result(NamedTuple):
    verdict: str              # "match", "no_match" or "unknown"
    deciding: tuple
    criteria: tuple           # (Crit, ...)


# ---- small helpers --------------------------------------------------------------------------------

def _isclose(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _ge(a: float, b: float) -> bool:
    return a > b or _isclose(a, b)


def _le(a: float, b: float) -> bool:
    return a < b or _isclose(a, b)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


def _add_months(d: dt.date, n: int) -> dt.date:
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    last = (dt.date(y + (m == 12), m % 12 + 1, 1) - DAY).day
    return dt.date(y, m, min(d.day, last))


def _date_le(lo: dt.date, hi: dt.date, b: dt.date) -> int:
    """Three-valued ``x <= b`` for a date x known to lie in [lo, hi]."""
    return TRUE if hi <= b else FALSE if lo > b else UNKNOWN


def _date_ge(lo: dt.date, hi: dt.date, b: dt.date) -> int:
    return TRUE if lo >= b else FALSE if hi < b else UNKNOWN


def _fact(p: Any, name: str) -> tuple[Any, str | None] | None:
    v = p.facts.get(name)
    if v is None:
        return None
    if hasattr(v, "value"):
        return v.value, v.unit
    return v, None


def _unknown(cause: str, fact: str, reasons: tuple = ()) -> tuple:
    return (UNKNOWN, reasons, (fact,), (cause,))


def _combine(parts: list[tuple], truth: int) -> tuple:
    """AND/OR of ``parts`` with outcome ``truth``: a decided outcome leaves out the UNKNOWN parts' reasons."""
    if truth != UNKNOWN:
        reasons = tuple(r for part in parts if part[0] != UNKNOWN for r in part[1])
    else:
        reasons = tuple(r for part in parts for r in part[1])
    if truth != UNKNOWN:
        return (truth, reasons, (), ())
    miss = tuple(m for part in parts if part[0] == UNKNOWN for m in part[2])
    causes = tuple(dict.fromkeys(c for part in parts if part[0] == UNKNOWN for c in part[3]))
    return (UNKNOWN, reasons, miss, causes)


# ---- the patient, indexed once -------------------------------------------------------------------

class _Index:
    __slots__ = ("p", "as_of", "screening", "apheresis", "enrollment", "lab_start", "labs", "conditions",
                 "unmapped_conditions", "procedures", "unmapped_procedures", "therapies", "age")

    def __init__(self, p: Any, as_of: dt.date):
        self.p = p
        self.as_of = as_of
        a = p.anchors
        self.screening = a.get("screening", as_of)
        self.apheresis = a.get("apheresis", as_of)
        self.enrollment = a.get("enrollment", as_of)
        self.lab_start = self.screening - dt.timedelta(days=28)
        labs: dict[str, list] = {}
        for o in p.observations:
            aid = ANALYTES.get(o.analyte.lower())
            if aid is not None:
                labs.setdefault(aid, []).append(o)
        for lst in labs.values():
            if len(lst) > 1:
                lst.sort(key=lambda o: (o.date is not None, o.date or dt.date.min), reverse=True)
        self.labs = labs
        self.conditions = []
        self.unmapped_conditions = 0
        for c in p.conditions:
            hit = (CONDITIONS.get(c.code.lower()) if c.code else None) or \
                  (CONDITIONS.get(c.name.lower()) if c.name else None)
            if hit is None:
                self.unmapped_conditions += 1
            else:
                self.conditions.append((c, hit[0], hit[1]))
        self.procedures = []
        self.unmapped_procedures = 0
        for r in p.procedures:
            hit = (PROCEDURES.get(r.code.lower()) if r.code else None) or \
                  (PROCEDURES.get(r.name.lower()) if r.name else None)
            if hit is None:
                self.unmapped_procedures += 1
            else:
                self.procedures.append((r, hit[0], hit[1]))
        self.therapies = []
        for t in p.therapies:
            info = DRUGS.get(t.drug.lower()) if t.drug else None
            classes = info[1] if info else 0
            for c in t.classes:
                classes |= DRUG_CLASSES.get(c.lower(), 0)
            if info is None and (t.investigational or t.drug):
                # a drug the catalog does not know (an unnamed investigational agent): it may be any class
                self.therapies.append((t, None, -1))
            elif classes:
                self.therapies.append((t, info, classes))
        b = p.birth_date
        if b is None or b > as_of:
            self.age = None
        else:
            self.age = as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))

    def latest(self, aid: str) -> Any:
        """The result to use, or an UNKNOWN part."""
        results = self.labs.get(aid)
        if not results:
            return _unknown("missing", aid)
        for o in results:
            if o.date is None:
                return _unknown("stale", aid)
            if o.date <= self.as_of:
                break
        else:
            return _unknown("missing", aid)
        if o.date < self.lab_start:
            return _unknown("stale", aid, (("stale", f"latest {aid} result is from {o.date}, before "
                                                      f"{self.lab_start}"),))
        same = [r for r in results if r.date == o.date]
        if len(same) == 1:
            return o
        # results of one date: the latest by time of day, and any without one, may each be the latest
        timed = [r for r in same if r.time is not None]
        if timed and len({r.time.utcoffset() is not None for r in timed}) == 1:
            key = (lambda r: dt.datetime.combine(r.date, r.time)) if timed[0].time.utcoffset() is not None \
                else (lambda r: r.time)
            top = max(key(r) for r in timed)
            same = [r for r in timed if key(r) == top] + [r for r in same if r.time is None]
        distinct = list({(r.value, r.unit, r.reference_range): r for r in reversed(same)}.values())[::-1]
        return distinct[0] if len(distinct) == 1 else distinct

    def each_latest(self, aid: str, one: Any) -> tuple:
        """``one(result)`` for the latest result; for several that may each be the latest, their common
        outcome, or UNKNOWN (conflicting) when they disagree."""
        found = self.latest(aid)
        if found.__class__ is tuple:
            return found
        if found.__class__ is not list:
            return one(found)
        return _same_day(aid, [one(o) for o in found])


def _same_day(fact: str, parts: list[tuple]) -> tuple:
    truths = {part[0] for part in parts}
    reasons = tuple(r for part in parts for r in part[1])
    if TRUE in truths and FALSE in truths:
        return (UNKNOWN, reasons + (("conflicting_results", f"{fact}: results of one date disagree"),), (fact,),
                ("conflicting",))
    if UNKNOWN in truths:
        unknowns = [part for part in parts if part[0] == UNKNOWN]
        return (UNKNOWN, reasons, tuple(m for part in unknowns for m in part[2]),
                tuple(dict.fromkeys(c for part in unknowns for c in part[3])))
    return (truths.pop(), reasons + (("same_day_results_agree", f"{fact}: results of one date agree"),), (), ())


# ---- predicates -----------------------------------------------------------------------------------

def _bool_fact(ix: _Index, name: str) -> tuple:
    f = _fact(ix.p, name)
    if f is None:
        return _unknown("missing", name)
    v = f[0]
    if isinstance(v, str) and v.lower() in ("yes", "true", "no", "false"):
        v = v.lower() in ("yes", "true")
    if not isinstance(v, bool):
        return _unknown("invalid", name)
    return (TRUE if v else FALSE, (("fact_recorded", f"{name}: {'yes' if v else 'no'}"),), (), ())


def _lab_threshold(ix: _Index, aid: str, at_least: bool, threshold: float, unit: str) -> tuple:
    return ix.each_latest(aid, lambda o: _threshold_of(o, aid, at_least, threshold, unit))


def _threshold_of(o: Any, aid: str, at_least: bool, threshold: float, unit: str) -> tuple:
    f = TO_THRESHOLD_UNIT[aid].get(o.unit)
    if f is None:
        return _unknown("invalid", aid)
    v = o.value * f
    ok = _ge(v, threshold) if at_least else _le(v, threshold)
    note = (f"{aid} {_num(v)} {unit} ({_num(o.value)} {o.unit or ''} on {o.date}) "
            f"{'meets' if ok else 'does not meet'} {'≥' if at_least else '≤'} {_num(threshold)} {unit}")
    return (TRUE if ok else FALSE, (("threshold_met" if ok else "threshold_not_met", note),), (), ())


def _lab_uln(ix: _Index, aid: str, times: float) -> tuple:
    return ix.each_latest(aid, lambda o: _uln_of(o, aid, times))


def _uln_of(o: Any, aid: str, times: float) -> tuple:
    rr = o.reference_range
    high = rr.high if rr is not None else None
    if high is None:
        return _unknown("missing", aid + ".uln")
    if rr.unit is not None and rr.unit != o.unit and SAME_UNIT.get(rr.unit, rr.unit) != SAME_UNIT.get(o.unit, o.unit):
        return _unknown("invalid", aid)  # the feed never sends a range in another unit
    limit = times * high
    ok = _le(o.value, limit)
    unit = o.unit or ""
    note = (f"{aid} {_num(o.value)} {unit} {'meets' if ok else 'does not meet'} ≤ {_num(times)} x ULN = "
            f"{_num(limit)} {unit} (ULN {_num(high)} {unit}, {o.date})")
    return (TRUE if ok else FALSE, (("threshold_met" if ok else "threshold_not_met", note),), (), ())


def _crcl(ix: _Index) -> tuple:
    parts = []
    p = ix.p
    if p.birth_date is None:
        parts.append(("missing", "birth_date"))
    elif ix.age is None:
        parts.append(("invalid", "birth_date"))
    values = {}
    for aid in ("creatinine", "weight"):
        found = ix.latest(aid)
        if found.__class__ is tuple:
            parts.append((found[3][0], found[2][0]))
            continue
        factors = [(o, TO_THRESHOLD_UNIT[aid].get(o.unit)) for o in (found if found.__class__ is list else [found])]
        if any(f is None for _, f in factors):
            parts.append(("invalid", aid))
        values[aid] = [o.value * (f or 0.0) for o, f in factors]
    if p.sex is None:
        parts.append(("missing", "sex"))
    if parts:
        return (UNKNOWN, (), tuple(m for _, m in parts), tuple(dict.fromkeys(c for c, _ in parts)))
    outs = [_crcl_of(ix.age, kg, scr, p.sex) for scr in values["creatinine"] for kg in values["weight"]]
    return outs[0] if len(outs) == 1 else _same_day("crcl", outs)


def _crcl_of(age: int, kg: float, scr: float, sex: str) -> tuple:
    if not (18 <= age <= 120 and kg > 0 and scr > 0):
        return _unknown("invalid", "crcl")
    crcl = (140.0 - age) * kg / (72.0 * scr) * (0.85 if sex == "female" else 1.0)
    ok = crcl > 50 and not _isclose(crcl, 50.0)
    note = (f"crcl {_num(crcl)} mL/min {'meets' if ok else 'does not meet'} > 50 mL/min (Cockcroft-Gault: age "
            f"{age} y, weight {_num(kg)} kg, creatinine {_num(scr)} mg/dL, {sex})")
    return (TRUE if ok else FALSE, (("threshold_met" if ok else "threshold_not_met", note),), (), ())


def _absent(ix: _Index, complete: bool, what: str, fact: str, other: tuple = ()) -> tuple:
    """No record that counts: ``other`` are the reasons of records that do not (outside the window...)."""
    if complete:
        return (FALSE, other + (("absent_history_complete", f"no {'other ' if other else ''}record of {what}; "
                                                            f"the history is complete"),), (), ())
    return _unknown("missing", fact, other)


def _exists(ix: _Index, found: list, complete: bool, what: str, fact: str, unmapped: int = 0,
            later: int = 0) -> tuple:
    """Some record TRUE: TRUE; else some UNKNOWN: UNKNOWN; else absent.  ``later``: records dated after
    the evaluation date, not used, and while they exist absence is not concluded."""
    trues = tuple(r for t, r in found if t == TRUE)
    if trues:
        return (TRUE, trues, (), ())
    unknowns = tuple(r for t, r in found if t == UNKNOWN)
    if unknowns:
        return (UNKNOWN, unknowns, (fact,), ("indeterminate",))
    res = _absent(ix, complete, what, fact, tuple(r for t, r in found if t == FALSE))
    if later:
        return (UNKNOWN, res[1], res[2] + (fact,), res[3] + ("invalid",))
    if unmapped and res[0] == FALSE:
        return (UNKNOWN, res[1], (fact,), ("invalid",))
    return res


_CODES = ("record_outside_scope", "record_uncertain", "record_found")
_ENDED = frozenset({"resolved", "inactive", "remission"})


def _condition_now(ix: _Index, category: int, what: str) -> tuple:
    found = []
    as_of = ix.as_of
    later = 0
    for c, cid, cats in ix.conditions:
        if not cats & category:
            continue
        if c.onset is not None and c.onset.earliest > as_of:
            later += 1
            continue
        if c.status in _ENDED:
            t = FALSE
        elif c.end is None:
            t = TRUE if c.status is not None else UNKNOWN  # no status, no end: may have ended
        else:
            t = _date_ge(c.end.earliest, c.end.latest, as_of + DAY)
        found.append((t, (_CODES[t], f"{c.name or c.code} ({cid}; onset {c.onset}, ended {c.end})")))
    return _exists(ix, found, ix.p.complete.conditions, what, "condition " + what, ix.unmapped_conditions, later)


def _recent_cardio(ix: _Index) -> tuple:
    anchor = ix.enrollment
    start = _add_months(anchor, -6)
    found = []
    later = 0
    for c, cid, cats in ix.conditions:
        if not cats & CARDIO:
            continue
        on = c.onset
        if on is not None and on.earliest > ix.as_of:
            later += 1
            continue
        if on is not None:
            began = _date_le(on.earliest, on.latest, anchor)
        else:  # in the chart on the evaluation date: begun by then
            began = TRUE if min(ix.as_of, c.end.latest if c.end is not None else ix.as_of) <= anchor else UNKNOWN
        if c.end is not None:
            still = _date_ge(c.end.earliest, c.end.latest, start)
        elif c.status in _ENDED or c.status is None:
            still = _date_ge(on.earliest, ix.as_of, start) if on is not None else UNKNOWN
        else:
            still = TRUE
        t = min(began, still)
        found.append((t, (_CODES[t], f"{c.name or c.code} ({cid}; onset {on}, ended {c.end or c.status})")))
    what = "acute_myocardial_infarction or unstable_angina or stroke or transient_ischemic_attack"
    return _exists(ix, found, ix.p.complete.conditions, what, "condition " + what, ix.unmapped_conditions, later)


def _major_surgery(ix: _Index) -> tuple:
    anchor = ix.apheresis
    start = anchor - dt.timedelta(days=14)
    found = []
    later = 0
    for r, pid, cats in ix.procedures:
        if not cats & MAJOR_SURGERY:
            continue
        d = r.date
        if d is not None and d.earliest > ix.as_of:
            later += 1
            continue
        if d is None:
            t = UNKNOWN
        else:
            t = min(_date_ge(d.earliest, d.latest, start), _date_le(d.earliest, d.latest, anchor))
        found.append((t, (_CODES[t], f"{r.name or r.code} ({pid}; {d or 'date not recorded'})")))
    return _exists(ix, found, ix.p.complete.procedures, "major_surgery", "procedure major_surgery",
                   ix.unmapped_procedures, later)


def _last_dose(ix: _Index, t: Any, anchor: dt.date) -> tuple | None:
    """The earliest and latest day of the last dose; an ongoing course may go on up to ``anchor``."""
    as_of = ix.as_of
    later = max(as_of, anchor)
    if t.ongoing:
        return as_of, later
    if t.end is not None:
        e = t.end
        return e.earliest, (min(e.latest, as_of) if e.earliest <= as_of else e.latest)
    if t.start is not None:
        return t.start.earliest, max(later, t.start.earliest)
    return None


def _washout(ix: _Index, cls: int, days: int, half_lives: float, what: str) -> tuple:
    """``therapy <cls> within max(<days> days, <half_lives> half-lives) before apheresis``."""
    anchor = ix.apheresis
    found = []
    later = 0
    for t, info, classes in ix.therapies:
        if not classes & cls:
            continue
        if t.start is not None and t.start.earliest > ix.as_of:
            later += 1
            continue
        last = _last_dose(ix, t, anchor)
        passes_on = None
        if last is None:
            truth, note = UNKNOWN, "no dates recorded"
        else:
            began = _date_le(t.start.earliest, t.start.latest, anchor) if t.start is not None else TRUE
            end_lo, end_hi = last[0] + dt.timedelta(days=days), last[1] + dt.timedelta(days=days)
            half_life = info[2] if info is not None else None
            if half_lives and half_life is None:
                truth = began if end_lo >= anchor else UNKNOWN
                note = f"last dose {last[0]}; {days} days; half-life unknown"
            else:
                if half_lives:
                    extra = dt.timedelta(days=math.ceil(half_lives * half_life))
                    end_lo, end_hi = max(end_lo, last[0] + extra), max(end_hi, last[1] + extra)
                truth = min(began, _date_ge(end_lo, end_hi, anchor))
                note = f"last dose {last[0]}; the washout ends {end_hi}"
                if truth == TRUE and not t.ongoing and last[0] == last[1]:
                    passes_on = end_hi + DAY
                    note += f"; washout complete on {passes_on}"
        if classes == -1:  # may or may not be of the class
            truth = min(truth, UNKNOWN)
        found.append((truth, (_CODES[truth], f"{t.drug or ', '.join(t.classes)}: {note}")))
    return _exists(ix, found, ix.p.complete.therapies, what, "therapy " + what, later=later)


def _steroid_dose(ix: _Index) -> tuple:
    """``daily dose of corticosteroid as prednisone >= 70 mg/day within 7 days before apheresis`` (systemic):
    the highest total daily dose, day by day, between a lower bound (records surely taken that day, with a
    known dose) and an upper bound (every record maybe taken; unbounded for a record of unknown dose, one
    of unknown route, or when the therapies history is not complete)."""
    fact = "daily dose of corticosteroid as prednisone"
    anchor = ix.apheresis
    start = anchor - dt.timedelta(days=7)
    days = [start + dt.timedelta(days=k) for k in range(8)]
    complete = ix.p.complete.therapies
    lo = [0.0] * 8
    hi = [0.0 if complete else math.inf] * 8
    reasons = []
    later = 0
    used = []  # (drug, first sure day, last sure day, mg) of the records surely taken, for dose changes
    parts = 0
    opened = False
    for t, info, classes in ix.therapies:
        if not classes & STEROID:
            continue
        if t.start is not None and t.start.earliest > ix.as_of:
            later += 1
            continue
        route = t.route.strip().lower().replace("-", "_").replace(" ", "_") if t.route is not None else None
        if route in LOCAL_ROUTES:
            continue
        last = _last_dose(ix, t, anchor)
        if last is None:
            sure, maybe = None, (dt.date.min, max(ix.as_of, anchor))
        else:
            first = t.start.latest if t.start is not None else ix.as_of if t.ongoing else \
                (last[0] if last[0] == last[1] else None)
            sure = (first, last[0]) if first is not None and first <= last[0] else None
            maybe = (t.start.earliest if t.start is not None else dt.date.min, last[1])
        if route is None or classes == -1:
            sure = None  # may be local (or not a corticosteroid): it counts only for the upper bound
        if maybe[1] < start or maybe[0] > anchor:
            continue
        parts += 1
        d = t.dose
        mg = None
        if d is not None:
            unit = d.unit.replace(" ", "").lower()
            if unit in ("mg/day", "mg/d", "mg/24h"):
                mg = d.value
            elif unit == "mg" and d.per_day is not None:
                mg = d.value * d.per_day
        if mg is not None:
            eq = info[3] if info is not None else None
            mg = mg * 5.0 / eq if eq is not None else None
        if mg is None:
            opened = True
            reasons.append(("dose_unknown", f"{t.drug}: daily prednisone-equivalent dose unknown"))
        else:
            per_day = f" x {d.per_day:g}/day" if d.per_day else ""
            reasons.append(("dose_used", f"{t.drug}: {d.value:g} {d.unit}{per_day} = {_num(mg)} mg/day prednisone "
                                         f"equivalent"))
        if sure != maybe:
            opened = True
        for k, day in enumerate(days):
            if maybe[0] <= day <= maybe[1]:
                hi[k] += mg if mg is not None else math.inf
            if sure is not None and sure[0] <= day <= sure[1] and mg is not None:
                lo[k] += mg
        if sure is not None and t.drug is not None:
            used.append((info[0] if info is not None else t.drug, sure, mg))
    # a record of a drug starting the day another record of the same drug ends: a change of dose that day
    for drug, sure, mg in used:
        for drug2, sure2, mg2 in used:
            if drug2 == drug and sure2[0] == sure[1] and sure[0] < sure[1] and start <= sure[1] <= anchor:
                k = (sure[1] - start).days
                a, b = mg if mg is not None else 0.0, mg2 if mg2 is not None else 0.0
                lo[k] -= max(a, b)
                if mg is not None and mg2 is not None:
                    hi[k] -= min(a, b)
    if not parts and not later:
        return _absent(ix, complete, "corticosteroid", fact)
    if later:
        hi = [math.inf] * 8
    low, high = max(lo), max(hi)
    if _ge(low, 70.0) == _ge(high, 70.0):
        ok = _ge(low, 70.0)
        reasons.append(("threshold_met" if ok else "threshold_not_met",
                        f"highest total daily dose {_num(low)} mg/day {'meets' if ok else 'does not meet'} "
                        f"≥ 70 mg/day"))
        return (TRUE if ok else FALSE, tuple(reasons), (), ())
    reasons.append(("dose_bounds", f"highest total daily dose between {_num(low)} and {_num(high)} mg/day"))
    if later:
        return (UNKNOWN, tuple(reasons), (fact,), ("invalid",))
    causes = (("indeterminate",) if opened else ()) + (() if complete else ("missing",))
    return (UNKNOWN, tuple(reasons), (fact,), causes)


# ---- the trial --------------------------------------------------------------------------------------

def evaluate(p: Any, as_of: dt.date) -> Result:
    """Every criterion of NCT05621486 (computable part) for patient ``p`` on ``as_of``."""
    ix = _Index(p, as_of)
    out = {}

    # I1 consent, I2 age, I3 ECOG, I4 life expectancy
    out["I1"] = _bool_fact(ix, "consent_signed")
    if p.birth_date is None:
        out["I2"] = _unknown("missing", "birth_date")
    elif ix.age is None:
        out["I2"] = _unknown("invalid", "birth_date")
    else:
        ok = 18 <= ix.age <= 70
        out["I2"] = (TRUE if ok else FALSE, (("in_range" if ok else "out_of_range",
                                              f"age {ix.age} years (born {p.birth_date}) {'is' if ok else 'is not'} "
                                              f"between 18 and 70"),), (), ())
    f = _fact(p, "ecog")
    if f is None:
        out["I3"] = _unknown("missing", "ecog")
    elif isinstance(f[0], bool) or not isinstance(f[0], (int, float)):
        out["I3"] = _unknown("invalid", "ecog")
    else:
        ok = _le(f[0], 1.0)
        out["I3"] = (TRUE if ok else FALSE, (("threshold_met" if ok else "threshold_not_met",
                                              f"ECOG {f[0]} {'meets' if ok else 'does not meet'} ≤ 1"),), (), ())
    f = _fact(p, "life_expectancy")
    if f is None:
        out["I4"] = _unknown("missing", "life_expectancy")
    elif isinstance(f[0], bool) or not isinstance(f[0], (int, float)) or MONTHS_PER.get(f[1] or "") is None:
        out["I4"] = _unknown("invalid", "life_expectancy")  # no unit: never assumed to be months (issue 18 D7)
    else:
        months = f[0] * MONTHS_PER[f[1]]
        ok = months > 3 and not _isclose(months, 3.0)
        out["I4"] = (TRUE if ok else FALSE, (("threshold_met" if ok else "threshold_not_met",
                                              f"life expectancy {_num(months)} months ({f[0]} {f[1] or 'months'}) "
                                              f"{'meets' if ok else 'does not meet'} > 3 months"),), (), ())

    # I7a-e labs, I8 oxygen saturation
    parts = [_lab_threshold(ix, "anc", True, 1.5, "10^9/L"), _lab_threshold(ix, "platelets", True, 75.0, "10^9/L")]
    out["I7a"] = _combine(parts, min(x[0] for x in parts))
    out["I7b"] = _lab_uln(ix, "total_bilirubin", 1.5)
    mets = _condition_now(ix, LIVER_METS, "liver_metastases")
    if mets[0] == TRUE:
        parts = [_lab_uln(ix, a, 5.0) for a in ("alt", "ast", "alp")]
        r = _combine(parts, min(x[0] for x in parts))
        out["I7c"] = (r[0], mets[1] + r[1], r[2], r[3])
    elif mets[0] == FALSE:
        parts = [_lab_uln(ix, a, 2.5) for a in ("alt", "ast", "alp")]
        r = _combine(parts, min(x[0] for x in parts))
        out["I7c"] = (r[0], mets[1] + r[1], r[2], r[3])
    else:
        then = [_lab_uln(ix, a, 5.0) for a in ("alt", "ast", "alp")]
        other = [_lab_uln(ix, a, 2.5) for a in ("alt", "ast", "alp")]
        a = _combine(then, min(x[0] for x in then))
        b = _combine(other, min(x[0] for x in other))
        if a[0] == b[0] != UNKNOWN:
            out["I7c"] = (a[0], mets[1] + a[1] + b[1], (), ())
        else:
            out["I7c"] = _combine([mets, a, b], UNKNOWN)
    parts = [_lab_uln(ix, "creatinine", 1.5), _crcl(ix)]
    out["I7d"] = _combine(parts, max(x[0] for x in parts))
    parts = [_lab_uln(ix, "inr", 1.5), _lab_uln(ix, "aptt", 1.5)]
    out["I7e"] = _combine(parts, min(x[0] for x in parts))
    out["I8"] = _lab_threshold(ix, "spo2", True, 95.0, "%")

    # E1a-c washouts, E5 pregnancy, E8 autoimmune disease, E11 surgery, E14 cardiovascular events, E15 steroids
    out["E1a"] = _washout(ix, CHEMO, 14, 0.0, "cytotoxic_chemotherapy")
    out["E1b"] = _washout(ix, TARGETED, 14, 5.0, "small_molecule_targeted_therapy")
    out["E1c"] = _washout(ix, MAB, 21, 0.0, "monoclonal_antibody")
    parts = [_bool_fact(ix, "pregnant"), _bool_fact(ix, "breastfeeding")]
    out["E5"] = _combine(parts, max(x[0] for x in parts))
    out["E8"] = _condition_now(ix, AUTOIMMUNE, "autoimmune_disease")
    out["E11"] = _major_surgery(ix)
    out["E14"] = _recent_cardio(ix)
    out["E15"] = _steroid_dose(ix)

    criteria = tuple(Crit(cid, *out[cid]) for cid in INCLUSION + EXCLUSION)
    failed = tuple(c.id for c in criteria[:len(INCLUSION)] if c.outcome == FALSE) + \
        tuple(c.id for c in criteria[len(INCLUSION):] if c.outcome == TRUE)
    if failed:
        return Result("no_match", failed, criteria)
    open_ = tuple(c.id for c in criteria if c.outcome == UNKNOWN)
    if open_:
        return Result("unknown", open_, criteria)
    return Result("match", (), criteria)
