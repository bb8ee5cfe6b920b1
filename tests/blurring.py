"""Generators for the soundness properties (tests/test_soundness.py): blurring, respelling, probing.

Issue 18 found thirteen ways to get a silent wrong verdict that the property
generators of ``tests/fuzzing.py`` could not reach: they never took a
condition's status or end date away, never spelt a value the way a chart does,
never recorded a disease more broadly than a criterion names it.  This module
writes those inputs.  Like ``fuzzing.py``, everything draws from a
``random.Random``-like object (hypothesis's recorded randoms in the tests).

* :func:`blur` makes a patient document *less precise* without making it
  say anything new: a condition's status or end date removed, a date's day
  (or month) removed, a record replaced by a broader one (a parent concept, a
  shorter or "unspecified" ICD-10-CM code, a drug by its class, a class by its
  parent), a drug's mapping removed (an unknown product name, with or without
  its classes), a unit removed, a flag (ongoing, investigational) removed, a
  dose's administrations per day removed, a fact's date removed.
* :func:`respell` writes a value the way a chart might: case variants and
  synonyms of enum values ("Positive", "reactive"), yes/no values of every
  kind ("Y", 1, "unknown") for yes/no facts and ``where`` attributes,
  booleans and undeclared strings where a coded value is meant.  It says what
  the new spelling means, or that it means nothing declared.
* :func:`probe_trial` writes a trial whose criteria read what a document
  holds: its facts, results, conditions (and their ancestors, descendants and
  siblings), drugs (and their classes), procedures, age against fractional
  thresholds, windows in months near month ends.  Random trials rarely touch
  the one value a generator changed; these do.
* :func:`malformed` makes a document that must be refused naming the field: a
  number where a date is meant, a duplicated JSON key (at the text level), a
  number written with underscores.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
from typing import Any

from fuzzing import AS_OF, CATS, CLASSES, CONDITIONS, DRUGS, MONTH_ENDS, PROCEDURES, UNITS_OF, YES_NO_ATTRIBUTES

from eligimatch.knowledge import add_months

# Spellings with an obvious meaning: an engine may read them (then as this) or not (then it must not decide).
YES_SPELLINGS: list[Any] = ["yes", "Yes", "YES", "Y", "y", "true", "True", "TRUE", 1, True]
NO_SPELLINGS: list[Any] = ["no", "No", "NO", "N", "n", "false", "False", "FALSE", 0, False]
# Values with no declared meaning for a yes/no value.
NOT_YES_NO: list[Any] = ["unknown", "Unknown", "UNK", "maybe", "?", "n/a", "not recorded", "", "pending", 2, -1,
                         0.5, "2", "yes?", "possibly", "not assessed"]

# Synonyms of enum values as laboratories and charts write them (meaning: the declared value).
ENUM_SYNONYMS: dict[str, list[str]] = {
    "positive": ["Positive", "POSITIVE", " positive ", "reactive", "Reactive", "REACTIVE", "pos", "detected"],
    "negative": ["Negative", "NEGATIVE", "non-reactive", "nonreactive", "Non reactive", "neg", "not detected"],
    "detectable": ["Detectable", "DETECTABLE", "detected", "Detected"],
    "undetectable": ["Undetectable", "UNDETECTABLE", "not detected", "Not detected", "undetected"],
}
# Values outside every enum vocabulary of the catalog.
NOT_ENUM: list[Any] = [True, False, 1, 0, "unknown", "equivocal", "indeterminate", "borderline", "not done",
                       "pending", "", "?", "weak", "invalid", 2.5]

# Product names no catalog entry answers to ("study drug" is a synonym of investigational_agent: not here).
UNMAPPED_DRUGS = ["XYZ-123", "BT-7781", "ABC 0042 injection", "Compound QX-9"]
assert not any(CATS.drugs.resolve(n) for n in UNMAPPED_DRUGS), "an 'unmapped' drug name is in the catalog"


def _date_text(value: Any) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value) else None


def _plausible(o: dict) -> bool:
    """The result's unit fits its analyte and its value is within the declared physiological range.  A unit
    that reveals an error (a wrong dimension, an impossible value) is an error marker: removing it would hide
    the error, not blur the result."""
    a = CATS.analytes.resolve(o["analyte"]) if isinstance(o.get("analyte"), str) else None
    if a is None:
        return True
    # recorded_factor (issue 18) is the engine's stricter reading of a recorded unit: INR in % is refused
    factor = getattr(a, "recorded_factor", None) or (lambda unit: a.factor_from(unit, a.unit))
    try:
        value = float(o["value"]) * float(factor(o["unit"]))
    except Exception:  # noqa: BLE001 - an unreadable or incompatible unit
        return False
    if a.unit == "%" and not (-100 if a.signed else 0) <= value <= 100:  # 18.9 as a fraction is 1890 %
        return False
    if value < 0 and not a.signed:
        return False
    bounds = getattr(a, "plausible", None)
    return bounds is None or bounds[0] <= value <= bounds[1]


def _needs_a_unit(o: dict) -> bool:
    """The result's analyte is not a plain number: without its unit it is never read, whatever else it has
    (issue 18 D7, N3).  Removing the unit of such a result blurs it even when the unit or the value reveals an
    error (potassium 89.4 mmol/L, implausible, with a reference range recorded without a unit: N3)."""
    a = CATS.analytes.resolve(o["analyte"]) if isinstance(o.get("analyte"), str) else None
    return a is not None and not getattr(a, "unit_free", False)


def _not_after_evaluation(value: Any) -> bool:
    """A date on or before the evaluation date.  A date after it marks the record as an error (not used);
    removing that date, or coarsening it to a year that includes the past, would hide the error, not blur
    the record."""
    return isinstance(value, str) and value[:10] <= AS_OF.isoformat()


def _surely_not_after_evaluation(value: Any) -> bool:
    """A date whose every possible day is on or before the evaluation date.  A partial date that may fall
    after it ("2026" on 2026-03-01) may mark an error as much as a later date does (the engine leaves what
    it decides UNKNOWN); removing it would hide that, not blur the record.  (Found by the long run: a
    condition with onset "2026" against `history of X within 6 years before enrollment`, enrollment
    2026-03-05, was UNKNOWN; without its onset, TRUE.)"""
    if not _not_after_evaluation(value):
        return False
    if len(value) == 4:
        return dt.date(int(value), 12, 31) <= AS_OF
    if len(value) == 7:
        y, m = int(value[:4]), int(value[5:7])
        return dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1) <= AS_OF
    return True


def _coarser(value: str) -> str:
    """The date with its day removed (its month if it has no day)."""
    return value[:7] if len(value) == 10 else value[:4]


# ---------------------------------------------------------------------------- broader codes and concepts

def broader_codes(code: str) -> list[str]:
    """Codes that say less than ``code``: ICD-10-CM ``C91.00`` -> ``C91.0``, ``C91``, ``C91.9`` (unspecified)."""
    system, _, value = code.partition(":")
    if system.upper() != "ICD10CM" or not value:
        return []
    out = []
    head, _, tail = value.partition(".")
    for k in range(len(tail) - 1, -1, -1):
        out.append(f"{system}:{head}{'.' + tail[:k] if k else ''}")
    if tail and tail != "9":
        out.append(f"{system}:{head}.9")
    return out


def _children(items) -> dict[str, list[str]]:
    kids: dict[str, list[str]] = {}
    for c in items:
        for p in c.parents:
            kids.setdefault(p, []).append(c.id)
    return kids


CONDITION_CHILDREN = _children(CONDITIONS)
PROCEDURE_CHILDREN = _children(PROCEDURES)
CLASS_PARENTS = {c.id: tuple(c.parents) for c in CLASSES}
DRUGS_OF_CLASS: dict[str, list[str]] = {}
for _d in DRUGS:
    for _c in _d.classes:
        DRUGS_OF_CLASS.setdefault(_c, []).append(_d.id)


def related_concepts(catalog, children: dict[str, list[str]], cid: str) -> list[str]:
    """The concept, its ancestors, its children, and its parents' children (siblings)."""
    out = [cid]
    concept = catalog.get(cid)
    if concept is None:
        return out
    out += sorted(catalog.ancestors(cid))
    out += children.get(cid, [])
    for p in concept.parents:
        out += children.get(p, [])
    return list(dict.fromkeys(out))


def related_drugs(entry_id: str) -> list[str]:
    """A drug or class, its classes and their ancestors, and other drugs of those classes."""
    out = [entry_id]
    entry = CATS.drugs.get(entry_id)
    if entry is None:
        return out
    known = {c.id for c in CLASSES}
    classes = set(CATS.drugs.classes_of(entry_id)) if hasattr(entry, "targets") else {entry_id}
    classes &= known
    for c in list(classes):
        classes |= CATS.drugs.class_ancestors(c) & known
    out += sorted(classes)
    for c in sorted(classes):
        out += DRUGS_OF_CLASS.get(c, [])[:3]
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------------------- blurring

def blur(doc: dict, r, *, max_ops: int = 3) -> tuple[dict, list[str], list[tuple[str, Any]]]:
    """``doc`` made less precise in one to three places (never more precise, never different).

    Each operation keeps what the record says but says less of it, so for every
    criterion a TRUE or FALSE outcome on the blurred document must be the
    outcome on the original one.  Returns the new document, what was done, and
    the places touched (for :func:`focus_predicates`).
    """
    doc = copy.deepcopy(doc)
    done: list[str] = []
    touched: list[tuple[str, Any]] = []
    for _ in range(min(max_ops, r.choice([1, 1, 1, 2, 3]))):
        options = _blur_options(doc)
        if not options:
            break
        # every kind of blurring equally often (not every option: a document has many facts and few
        # conditions), and through a plain generator seeded from r: hypothesis's draws favour the first
        # item of a list, which would make the first kinds of the list most of the cases
        pick = random.Random(r.getrandbits(32))
        kind = pick.choice(sorted({w for w, _ in options}))
        what, arg = pick.choice([o for o in options if o[0] == kind])
        done.append(_apply_blur(doc, what, arg, r))
        kind = what.split(".")[0]
        touched.append(({"condition": "conditions", "therapy": "therapies", "procedure": "procedures",
                         "observation": "observations", "fact": "facts", "birth_date": "birth_date"}[kind], arg))
    return doc, done, touched


def focus_predicates(doc: dict, touched: list[tuple[str, Any]], r, n: int = 8) -> list[str]:
    """Predicates reading the places ``touched`` in ``doc`` (and the concepts around them)."""
    preds: list[str] = []
    for key, arg in touched:
        if key == "birth_date":
            sub: dict[str, Any] = {"birth_date": doc.get("birth_date")}
        elif key == "facts":
            sub = {"facts": {arg: doc["facts"][arg]}} if arg in doc.get("facts", {}) else {}
        else:
            sub = {key: [doc[key][arg]]} if arg < len(doc.get(key, [])) else {}
        for _ in range(max(1, n // max(1, len(touched)))):
            preds += probe_predicates(sub, r, n=1)
    return list(dict.fromkeys(preds))


def _blur_options(doc: dict) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = []
    if _date_text(doc.get("birth_date")) and len(doc["birth_date"]) > 4:
        options.append(("birth_date.day", None))
    for f, v in doc.get("facts", {}).items():
        if isinstance(v, dict):
            # (a date after the evaluation date makes the fact invalid: removing it hides an error)
            if _surely_not_after_evaluation(v.get("date")):
                options.append(("fact.date", f))
            if v.get("unit") is not None:
                options.append(("fact.unit", f))
    for i, o in enumerate(doc.get("observations", [])):
        if o.get("unit") is not None and (_plausible(o) or _needs_a_unit(o)):
            options.append(("observation.unit", i))
        if o.get("time") is not None:  # without its time of day, a result may tie with others of its date (D8)
            options.append(("observation.time", i))
    for i, c in enumerate(doc.get("conditions", [])):
        for key in ("status", "end"):
            if key in c:
                options.append((f"condition.{key}", i))
        if _surely_not_after_evaluation(c.get("onset")):
            options.append(("condition.onset", i))
        for key in ("onset", "end"):
            if _date_text(c.get(key)) and len(c[key]) > 4 and _not_after_evaluation(c[key]):
                options.append((f"condition.{key}.day", i))
        if c.get("name") and CATS.conditions.resolve(c["name"]) is not None:
            concept = CATS.conditions.resolve(c["name"])
            if concept.parents:
                options.append(("condition.broader", i))
            options.append(("condition.unmapped", i))
        if c.get("code") and broader_codes(c["code"]):
            options.append(("condition.code.broader", i))
    for i, t in enumerate(doc.get("therapies", [])):
        # (not `investigational`: false is its default, so removing true would say "not investigational")
        for key in ("end", "ongoing", "route"):
            if key in t:
                options.append((f"therapy.{key}", i))
        if _surely_not_after_evaluation(t.get("start")):
            options.append(("therapy.start", i))
        for key in ("start", "end"):
            if _date_text(t.get(key)) and len(t[key]) > 4 and _not_after_evaluation(t[key]):
                options.append((f"therapy.{key}.day", i))
        if t.get("drug"):
            options.append(("therapy.unmapped", i))
            entry = CATS.drugs.resolve(t["drug"])
            if entry is not None and getattr(entry, "classes", ()):
                options.append(("therapy.to_class", i))
        if t.get("classes"):
            options.append(("therapy.classes", i))
            if any(CLASS_PARENTS.get(c) for c in t["classes"]):
                options.append(("therapy.class.broader", i))
        if isinstance(t.get("dose"), dict) and "per_day" in t["dose"]:
            options.append(("therapy.dose.per_day", i))
    for i, p in enumerate(doc.get("procedures", [])):
        if _date_text(p.get("date")) and len(p["date"]) > 4 and _not_after_evaluation(p["date"]):
            options.append(("procedure.date.day", i))
        concept = CATS.procedures.resolve(p["name"]) if p.get("name") else None
        if concept is not None and concept.parents:
            options.append(("procedure.broader", i))
    return options


def _apply_blur(doc: dict, what: str, arg: Any, r) -> str:
    kind, _, rest = what.partition(".")
    if what == "birth_date.day":
        doc["birth_date"] = _coarser(doc["birth_date"])
        return f"{what} -> {doc['birth_date']}"
    if what == "fact.date":
        del doc["facts"][arg]["date"]
        return f"{what} {arg}"
    if what == "fact.unit":
        del doc["facts"][arg]["unit"]
        return f"{what} {arg}"
    if what == "observation.time":
        del doc["observations"][arg]["time"]
        return f"{what} {arg}"
    if what == "observation.unit":
        del doc["observations"][arg]["unit"]
        return f"{what} {arg}"
    hist = {"condition": "conditions", "therapy": "therapies", "procedure": "procedures"}[kind]
    rec = doc[hist][arg]
    if rest.endswith(".day"):
        key = rest.split(".")[0]
        rec[key] = _coarser(rec[key])
        return f"{what} {arg} -> {rec[key]}"
    if rest in ("status", "end", "onset", "start", "ongoing", "route"):
        del rec[rest]
        return f"{what} {arg}"
    if what == "condition.broader":
        concept = CATS.conditions.resolve(rec["name"])
        parent = CATS.conditions.get(r.choice(concept.parents))
        rec["name"] = r.choice([parent.id, parent.name, *parent.synonyms])
        return f"{what} {arg}: {concept.id} -> {rec['name']}"
    if what == "condition.unmapped":
        old = rec.pop("name")
        rec.setdefault("name", r.choice(["unmapped disorder", "illness NOS", "see letter"]))
        if "code" in rec and r.random() < 0.5:
            del rec["code"]
        return f"{what} {arg}: {old} -> {rec['name']}"
    if what == "condition.code.broader":
        old = rec["code"]
        rec["code"] = r.choice(broader_codes(old))
        return f"{what} {arg}: {old} -> {rec['code']}"
    if what == "procedure.broader":
        concept = CATS.procedures.resolve(rec["name"])
        rec["name"] = r.choice(concept.parents)
        return f"{what} {arg}: {concept.id} -> {rec['name']}"
    if what == "therapy.unmapped":
        old = rec["drug"]
        rec["drug"] = r.choice(UNMAPPED_DRUGS)  # its classes and investigational flag stay as they were
        return f"{what} {arg}: {old} -> {rec['drug']} (classes {rec.get('classes', [])})"
    if what == "therapy.to_class":
        entry = CATS.drugs.resolve(rec["drug"])
        old = rec.pop("drug")
        rec["classes"] = [r.choice(entry.classes)]
        return f"{what} {arg}: {old} -> {rec['classes']}"
    if what == "therapy.classes":
        old = rec.pop("classes")
        if not rec.get("drug") and not rec.get("investigational"):
            rec["drug"] = r.choice(UNMAPPED_DRUGS)
        return f"{what} {arg}: {old} removed (drug {rec.get('drug')})"
    if what == "therapy.class.broader":
        i = r.choice([k for k, c in enumerate(rec["classes"]) if CLASS_PARENTS.get(c)])
        old = rec["classes"][i]
        rec["classes"][i] = r.choice(CLASS_PARENTS[old])
        return f"{what} {arg}: {old} -> {rec['classes'][i]}"
    if what == "therapy.dose.per_day":
        del rec["dose"]["per_day"]
        return f"{what} {arg}"
    raise AssertionError(what)


# ---------------------------------------------------------------------------- respelling

def respell(doc: dict, r) -> tuple[dict, dict, str, bool, list[str]]:
    """One value of ``doc`` written another way.

    Returns ``(messy, reference, what, declared)``: ``messy`` holds the new
    spelling; if ``declared``, the spelling has an obvious declared meaning and
    ``reference`` holds that declared value instead (a criterion may read the
    spelling or not, but if it decides, it decides as on ``reference``);
    otherwise ``reference`` is ``doc`` without the value (the spelling must
    decide nothing that the value's absence would not).  The last item lists
    predicates that read the respelt value.
    """
    doc = copy.deepcopy(doc)
    doc.setdefault("facts", {})
    spots: list[tuple[str, Any]] = [("new fact", None)] * 2
    for f in doc["facts"]:
        fd = CATS.facts.resolve(f)
        if fd is not None and fd.type in ("bool", "enum", "number"):
            spots.append(("fact", f))
    for hist in ("conditions", "procedures"):
        for i, rec in enumerate(doc.get(hist, [])):
            spots.append((hist, i))
    for i, o in enumerate(doc.get("observations", [])):
        a = CATS.analytes.resolve(o["analyte"]) if isinstance(o.get("analyte"), str) else None
        if a is not None and getattr(a, "plausible", None) and o.get("unit"):
            spots.append(("observation", i))
    where, arg = r.choice(spots)
    if where == "observation":
        return _implausible(doc, arg, r)
    if where == "new fact":
        fd = r.choice([f for f in CATS.facts if f.type in ("bool", "enum")])
        arg = fd.id
        doc["facts"][arg] = r.choice([True, False]) if fd.type == "bool" else r.choice(list(fd.values))
        where = "fact"
    messy, ref = copy.deepcopy(doc), copy.deepcopy(doc)
    if where == "fact":
        fd = CATS.facts.resolve(arg)
        old = doc["facts"][arg]
        holder, key = (messy["facts"][arg], "value") if isinstance(old, dict) else (messy["facts"], arg)
        value, declared, meaning = _messy_value(fd.type, fd.values, r, getattr(fd, "value_synonyms", ()))
        holder[key] = value
        if declared:
            rh = ref["facts"][arg] if isinstance(old, dict) else ref["facts"]
            rh[key] = meaning
        else:
            del ref["facts"][arg]
        focus = list(dict.fromkeys(p for _ in range(4) for p in probe_predicates({"facts": {arg: old}}, r, n=1)))
        return messy, ref, f"facts.{arg}: {value!r} (meaning {meaning!r})", declared, focus
    # a `where` attribute of a condition or procedure record
    name = r.choice(YES_NO_ATTRIBUTES + ["stage", "grade"])
    rec_m, rec_r = messy[where][arg], ref[where][arg]
    catalog = CATS.conditions if where == "conditions" else CATS.procedures
    concept = catalog.resolve(rec_m.get("name") or rec_m.get("code") or "")
    kw = "condition" if where == "conditions" else "procedure"
    cid = concept.id if concept is not None else None
    rec_m.setdefault("attributes", {})
    rec_r.setdefault("attributes", {})
    if name in ("stage", "grade"):
        base = r.choice(["metastatic", "locally_advanced", "II", "III", "IV"] if name == "stage" else ["2", "3"])
        value = r.choice([base.upper(), base.capitalize(), f" {base} "]) if base.isalpha() or "_" in base else base
        rec_m["attributes"][name] = value
        rec_r["attributes"][name] = base
        test = f"{name} in ({base})" if name == "stage" else f"{name} >= {base}"
        focus = [f"{kw} {cid} where {test}", f"{kw} {cid} where {name} = {base}"] if cid else []
        return messy, ref, f"{where}.{arg}.attributes.{name}: {value!r} (meaning {base!r})", True, focus
    value, declared, meaning = _messy_value("bool", (), r)
    rec_m["attributes"][name] = value
    if declared:
        rec_r["attributes"][name] = meaning
    else:
        rec_r["attributes"].pop(name, None)
    focus = [f"{kw} {cid} where {name}", f"{kw} {cid} where not {name}"] if cid else []
    if cid and kw == "condition":
        focus.append(f"history of {cid} where {name}")
    return messy, ref, f"{where}.{arg}.attributes.{name}: {value!r} (meaning {meaning!r})", declared, focus


def _implausible(doc: dict, i: int, r) -> tuple[dict, dict, str, bool, list[str]]:
    """Result ``i`` made physiologically impossible (outside the analyte's declared ``plausible`` range): sent
    in a wrong but convertible unit (12.4 g/dL as mg/dL) or scaled by 10^4.  Its reference is the document
    without that result: an impossible value decides nothing its absence would not."""
    messy, ref = copy.deepcopy(doc), copy.deepcopy(doc)
    o = messy["observations"][i]
    a = CATS.analytes.resolve(o["analyte"])
    low, high = a.plausible

    def converted(value: float, unit: str) -> float | None:
        try:
            return value * float(a.factor_from(unit, a.unit))
        except Exception:  # noqa: BLE001 - an unreadable unit: not a candidate
            return None

    candidates = []
    for u in UNITS_OF[a.id]:
        v = converted(float(o["value"]), u)
        if v is not None and not low <= v <= high:
            candidates.append(("unit", u))
    for k in (1e4, 1e-4, -1.0):
        v = converted(float(o["value"]) * k, o["unit"])
        if v is not None and not low <= v <= high:
            candidates.append(("value", float(o["value"]) * k))
    if not candidates:
        return messy, ref, f"observations.{i}: no implausible variant", True, []
    how, new = r.choice(candidates)
    o[how] = new
    del ref["observations"][i]
    t = 1.0 if r.random() < 0.5 else float(o["value"])
    focus = [f"{a.id} >= {low if low > 0 else 0.001:g}{_unit_text(a.unit)}",
             f"{a.id} <= {high:g}{_unit_text(a.unit)}", f"{a.id} <= {t:g}{_unit_text(o['unit'])}",
             f"{a.id} <= 2.5 x ULN"]
    return messy, ref, f"observations.{i}.{how}: {new!r} (implausible for {a.id}, meaning None)", False, focus


def _norm(text: str) -> str:
    return re.sub(r"[\s_-]+", "", text).lower()


def _messy_value(kind: str, values: tuple[str, ...], r,
                 value_synonyms: tuple[tuple[str, str], ...] = ()) -> tuple[Any, bool, Any]:
    """(spelling, has a declared meaning, the declared value it means).  A spelling the catalog declares
    (her2 declares "equivocal") means that value."""
    declared = {_norm(v): v for v in values} | {_norm(s): v for s, v in value_synonyms}
    if kind == "bool":
        k = r.random()
        if k < 0.3:
            return r.choice(YES_SPELLINGS), True, True
        if k < 0.6:
            return r.choice(NO_SPELLINGS), True, False
        return r.choice(NOT_YES_NO), False, None
    if kind == "enum":
        syn = [(s, v) for v in values for s in ENUM_SYNONYMS.get(v, [])]
        if syn and r.random() < 0.6:
            s, v = r.choice(syn)
            return s, True, v
        value = r.choice(NOT_ENUM)
        if isinstance(value, str) and _norm(value) in declared:
            return value, True, declared[_norm(value)]
        return value, False, None
    # a number fact: numbers written as text
    k = r.random()
    if k < 0.5:
        return r.choice(["2_0", "1_0", "1 0", "0x1", "1e0e", "one", "1,5", "I", "", "unknown"]), False, None
    n = r.choice([0, 1, 2, 3])
    return r.choice([str(n), f"{n}.0", f" {n} "]), True, n


# ---------------------------------------------------------------------------- probing criteria

def _ident(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else '"' + name.replace('"', "") + '"'


def probe_predicates(doc: dict, r, n: int = 10) -> list[str]:
    """Up to ``n`` predicates reading what ``doc`` holds (and concepts around it)."""
    preds: list[str] = []
    anchor = r.choice(["screening", "enrollment"])

    def window() -> str:
        unit = r.choice(["days", "weeks", "months", "months", "years"])
        amount = r.choice([1, 2, 3, 6, 12]) if unit in ("months", "years") else r.choice([7, 14, 28, 30, 90])
        return f"within {amount} {unit} before {anchor}"

    for f, v in doc.get("facts", {}).items():
        fd = CATS.facts.resolve(f)
        if fd is None:
            continue
        if fd.type == "bool":
            pred = r.choice([fd.id, f"not {fd.id}"])
        elif fd.type == "enum":
            val = _ident(r.choice(list(fd.values)))
            pred = r.choice([f"{fd.id} = {val}", f"{fd.id} != {val}", f"{fd.id} in ({val})"])
        elif fd.type == "number":
            pred = f"{fd.id} {r.choice(['<=', '>=', '<', '>', '='])} {r.choice([0, 1, 2, 3, 60, 70, 80])}"
        elif fd.type == "duration":
            pred = f"{fd.id} {r.choice(['>', '>=', '<'])} {r.choice([3, 6, 12])} {r.choice(['months', 'weeks'])}"
        else:
            continue
        if fd.type != "duration" and (isinstance(v, dict) or r.random() < 0.2) and r.random() < 0.5:
            # a recency window on the fact (issue 18, D11): a stale or undated fact must not satisfy it
            pred = f"{pred} within {r.choice([7, 28, 90, 365])} days before {anchor}"
            if pred.startswith("not "):
                pred = f"not ({pred[4:]})"
        preds.append(pred)
    for o in doc.get("observations", []):
        a = CATS.analytes.resolve(o.get("analyte", "")) if isinstance(o.get("analyte"), str) else None
        if a is None or a.kind == "computed":
            continue
        unit = o.get("unit") if o.get("unit") in UNITS_OF[a.id] else a.unit
        try:
            value = float(o["value"])
        except (TypeError, ValueError, KeyError):
            continue
        t = abs(r.choice([value, value * 0.5, value * 2, value + 1])) if abs(value) < 1e12 else 1
        u = _unit_text(unit)
        k = r.random()
        if k < 0.6:
            preds.append(f"{a.id} {r.choice(['>=', '<=', '<', '>'])} {t:g}{u}")
        elif k < 0.8:
            preds.append(f"{a.id} {r.choice(['>=', '<='])} {t:g}{u} {window()}")
        else:
            preds.append(f"{a.id} <= {r.choice(['1', '1.5', '2.5', '3'])} x ULN")
    for c in doc.get("conditions", []):
        concept = CATS.conditions.resolve(c.get("name") or c.get("code") or "")
        if concept is None:
            continue
        cid = r.choice(related_concepts(CATS.conditions, CONDITION_CHILDREN, concept.id))
        k = r.random()
        if k < 0.3:
            preds.append(f"condition {cid}")
        elif k < 0.45:
            preds.append(f"history of {cid}")
        elif k < 0.65:
            preds.append(f"history of {cid} {window()}")
        elif k < 0.85:
            attr = r.choice([*c.get("attributes", {}).keys(), *YES_NO_ATTRIBUTES[:4]])
            preds.append(f"condition {cid} where {r.choice(['', 'not '])}{_ident(attr)}")
        else:
            preds.append(f"condition {cid} where stage in (metastatic, locally_advanced)")
    for t in doc.get("therapies", []):
        entry = None
        if t.get("drug"):
            entry = CATS.drugs.resolve(t["drug"])
        elif t.get("classes"):
            entry = CATS.drugs.resolve(t["classes"][0])
        pool = related_drugs(entry.id) if entry is not None else [d.id for d in r.sample(DRUGS, 2)]
        sel = r.choice(pool)
        k = r.random()
        if k < 0.2:
            preds.append(f"therapy {sel}")
        elif k < 0.5:
            preds.append(f"therapy {sel} {window()}")
        elif k < 0.6:
            preds.append(f"therapy {sel} ongoing")
        elif k < 0.7:
            preds.append(f"therapy {sel} started at least {r.choice([4, 12])} weeks before {anchor}")
        elif k < 0.85:
            preds.append(f"daily dose of {sel}{r.choice(['', ' as prednisone'])} {r.choice(['>=', '<', '<='])} "
                         f"{r.choice([5, 7.5, 10, 20, 70])} mg/day {window()}")
        else:
            preds.append(f"stable dose of {sel} for {r.choice([7, 28])} days before {anchor}")
    for p in doc.get("procedures", []):
        concept = CATS.procedures.resolve(p.get("name") or p.get("code") or "")
        if concept is None:
            continue
        pid = r.choice(related_concepts(CATS.procedures, PROCEDURE_CHILDREN, concept.id))
        preds.append(f"procedure {pid}" + (f" {window()}" if r.random() < 0.7 else ""))
    if "birth_date" in doc:
        t = r.choice(["17.5", "18", "18.5", "17.25", "65.5", "0.5", "70", "1.75"])
        preds.append(f"age {r.choice(['>=', '<', '>', '<='])} {t} years")
    if "sex" in doc:
        preds.append(r.choice(["sex = female", "sex = male"]))
    r.shuffle(preds)
    return preds[:n]


def _unit_text(unit: str) -> str:
    if not unit or unit == "1":
        return ""
    if unit in ("kg", "g", "cm", "mmHg", "mg") or (re.search(r"[/^%]", unit) and not re.search(r"\s", unit)):
        return " " + unit
    return f" [{unit}]"


def probe_header(r) -> list[str]:
    """Now and then a trial-wide recency for facts and for labs."""
    out = []
    if r.random() < 0.3:
        out.append(f"facts within {r.choice([28, 90, 365])} days before screening")
    if r.random() < 0.2:
        out.append(f"labs within {r.choice([14, 28, 90])} days before screening")
    return out


def probe_trial_text(preds: list[str], header: list[str] = ()) -> str:
    lines = ['trial "PROBE"', *header, "inclusion:"] + [f"  - P{i}: {p}" for i, p in enumerate(preds, 1)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- documents that must be refused

DATE_KEYS = {"conditions": ("onset", "end"), "therapies": ("start", "end"), "procedures": ("date",),
             "observations": ("date",)}


def malformed(doc: dict, r) -> tuple[str, str, str]:
    """A JSON text that must be refused, the field path the error must name, and what was done."""
    k = r.random()
    if k < 0.4:
        return (*_numeric_date(doc, r), "a number for a date")
    if k < 0.75:
        return (*_duplicate_key(doc, r), "a duplicated key")
    return (*_underscore_number(doc, r), "a number with underscores")


def _numeric_date(doc: dict, r) -> tuple[str, str]:
    doc = copy.deepcopy(doc)
    spots: list[tuple[Any, ...]] = [("birth_date",)]
    for hist, keys in DATE_KEYS.items():
        for i, _ in enumerate(doc.get(hist, [])):
            spots += [(hist, i, key) for key in keys]
    for a in doc.get("anchors", {}):
        spots.append(("anchors", a))
    path = r.choice(spots)
    holder = doc
    for p in path[:-1]:
        holder = holder[p]
    holder[path[-1]] = r.choice([0, 20260101, 1, -1, 1.5, 1767225600, 2026])
    return json.dumps(doc), ".".join(str(p) for p in path)


def _underscore_number(doc: dict, r) -> tuple[str, str]:
    doc = copy.deepcopy(doc)
    spots: list[tuple[Any, ...]] = []
    for i, o in enumerate(doc.get("observations", [])):
        spots.append(("observations", i, "value"))
    for i, t in enumerate(doc.get("therapies", [])):
        if isinstance(t.get("dose"), dict):
            spots.append(("therapies", i, "dose", "value"))
    if not spots:
        doc.setdefault("observations", []).append({"analyte": "anc", "value": 1.0, "unit": "10^9/L",
                                                   "date": "2026-02-01"})
        spots.append(("observations", len(doc["observations"]) - 1, "value"))
    path = r.choice(spots)
    holder = doc
    for p in path[:-1]:
        holder = holder[p]
    holder[path[-1]] = r.choice(["2_0", "1_500", "0_5", "1__0"])
    return json.dumps(doc), ".".join(str(p) for p in path)


def _duplicate_key(doc: dict, r) -> tuple[str, str]:
    """The document's JSON text with one key of one object written twice (the second with another value)."""
    objects: list[tuple[Any, ...]] = []

    def visit(node: Any, path: tuple) -> None:
        if isinstance(node, dict):
            if node:
                objects.append(path)
            for k, v in node.items():
                visit(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                visit(v, path + (i,))

    visit(doc, ())
    if not objects:
        return '{"sex": "female", "sex": "male"}', "sex"
    target = r.choice(objects)
    holder: Any = doc
    for p in target:
        holder = holder[p]
    key = r.choice(sorted(holder))
    other = _other_value(holder[key], r)

    def dump(node: Any, path: tuple) -> str:
        if isinstance(node, dict):
            items = [f"{json.dumps(k)}: {dump(v, path + (k,))}" for k, v in node.items()]
            if path == target:
                dup = f"{json.dumps(key)}: {json.dumps(other)}"
                items.insert(r.randint(0, len(items)), dup)
            return "{" + ", ".join(items) + "}"
        if isinstance(node, list):
            return "[" + ", ".join(dump(v, path + (i,)) for i, v in enumerate(node)) + "]"
        return json.dumps(node)

    return dump(doc, ()), ".".join(str(p) for p in target + (key,))


def _other_value(v: Any, r) -> Any:
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v + r.choice([1, 3])
    if isinstance(v, str):
        return v if r.random() < 0.2 else r.choice(["female", "male", "2025-01-01", "x"]) if v != "x" else "y"
    return copy.deepcopy(v)


# ---------------------------------------------------------------------------- windows and ages

def month_end_case(r) -> tuple[dt.date, int, dt.date]:
    """(anchor near a month end, months, a record date near the window's calendar start)."""
    anchor = r.choice(MONTH_ENDS) - dt.timedelta(days=r.choice([0, 0, 0, 1, 2, 3]))
    months = r.choice([1, 2, 3, 6, 6, 12, 18])
    start = add_months(anchor, -months)
    day = start + dt.timedelta(days=r.randint(-4, 4))
    return anchor, months, day


def birthday_case(r) -> tuple[dt.date, dt.date, str]:
    """(birth date, evaluation date, a fractional threshold in years) near the threshold's birthday."""
    as_of = AS_OF + dt.timedelta(days=r.randint(-400, 400))
    t = r.choice(["17.5", "18.5", "17.25", "0.5", "1.75", "64.75", "2.5", "18", "65", "12.5", "0.25"])
    months = round(float(t) * 12)
    birth = add_months(as_of, -months) + dt.timedelta(days=r.choice([-40, -31, -15, -2, -1, 0, 1, 2, 15, 31, 40]))
    return birth, as_of, t
