"""Soundness on messy input (issue 18): less information never creates a decision; an undeclared value never decides.

Each test states its property in its docstring.  Inputs come from
``tests/fuzzing.py`` (patients, trials) and ``tests/blurring.py`` (blurring,
respelling, probing trials, documents that must be refused).  Every
comparison is made criterion by criterion, over the example trials and a
*probe* trial whose criteria read what the patient holds (its facts,
results, conditions and the concepts around them, drugs and their classes),
so the one value a generator changed is read.  The CI profile is small and
derandomized; the long run is ``HYPOTHESIS_PROFILE=long pytest
tests/test_soundness.py`` (docs/reliability.md has the last one).
"""

from __future__ import annotations

import datetime as dt
import json
import random

import blurring as B
import fuzzing as F
import pytest
from hypothesis import event, given, note, settings

import eligimatch
from eligimatch import CriteriaError, MatchResult, Outcome, PatientDataError, Verdict, compile_trial, load_patient
from eligimatch import match as match_
from eligimatch.knowledge import add_months

AS_OF = F.AS_OF


def _compiled_seeds() -> list[eligimatch.CompiledTrial]:
    out = []
    for name, text in F.seed_texts():
        try:
            out.append(compile_trial(text, filename=name))
        except CriteriaError:  # an example being written right now; tests/test_examples.py reports it
            pass
    return out


SEED_TRIALS = _compiled_seeds()


def match(patient, trial, **kw) -> MatchResult:
    kw.setdefault("as_of", AS_OF)
    return match_(patient, trial, **kw)


def load(doc: dict):
    """The patient, or None when validation refuses the document (then there is nothing to compare)."""
    try:
        return load_patient(json.dumps(doc))
    except PatientDataError:
        return None


_COMPILES: dict[str, bool] = {}  # a probe predicate's text -> whether it compiles alone (bounded, see below)


def _compiles_alone(pred: str) -> bool:
    hit = _COMPILES.get(pred)
    if hit is None:
        try:
            compile_trial(B.probe_trial_text([pred]))
            hit = True
        except CriteriaError:
            hit = False
        if len(_COMPILES) >= 50_000:
            _COMPILES.clear()
        _COMPILES[pred] = hit
    return hit


def probe_trial(doc: dict, r, focus: list[str] = ()) -> eligimatch.CompiledTrial | None:
    """A trial of criteria reading what ``doc`` holds, the ``focus`` predicates first; criteria the language
    refuses are left out."""
    preds = list(dict.fromkeys([*focus, *B.probe_predicates(doc, r)]))
    header = B.probe_header(r)
    # Usually every predicate compiles: then one compilation of the whole trial is the answer (each
    # predicate is one criterion, so the whole compiles only if each does).  Compiling each predicate first
    # cost about 40 % of a long run; now the criteria an error locates are left out and the rest compiled
    # again, and each predicate is compiled alone only when the error does not say which.
    first_line = len(header) + 3  # 'trial "PROBE"', the header, 'inclusion:', then P1
    for _ in range(4):
        if not preds:
            return None
        text = B.probe_trial_text(preds, header)
        try:
            trial = compile_trial(text)
        except CriteriaError as exc:
            bad = {p.line - first_line for p in exc.problems if 0 <= p.line - first_line < len(preds)}
            if not bad:
                break
            for _ in bad:
                event("probe: a predicate does not compile")
            preds = [p for i, p in enumerate(preds) if i not in bad]
        else:
            note(text)
            return trial
    kept = []
    for p in preds:
        if _compiles_alone(p):
            kept.append(p)
        else:
            event("probe: a predicate does not compile")
    if not kept:
        return None
    text = B.probe_trial_text(kept, header)
    try:
        trial = compile_trial(text)
    except CriteriaError:  # a language without `facts within` (the code before issue 18)
        text = B.probe_trial_text(kept)
        trial = compile_trial(text)
    note(text)
    return trial


def trials_for(doc: dict, r, focus: list[str] = ()) -> list[eligimatch.CompiledTrial]:
    probe = probe_trial(doc, r, focus)
    return SEED_TRIALS + ([probe] if probe is not None else [])


def assert_decides_no_more(reference, other, trials, what, **kw) -> None:
    """For every criterion: if ``other`` gives TRUE or FALSE, ``reference`` gives the same; so a MATCH for
    ``other`` is a MATCH for ``reference``."""
    for trial in trials:
        a, b = match(reference, trial, **kw), match(other, trial, **kw)
        for ca, cb in zip(a.criteria, b.criteria):
            if cb.outcome != Outcome.UNKNOWN:
                assert ca.outcome == cb.outcome, (
                    f"{trial.id} {cb.id} ({cb.text or ''}): {ca.outcome.value} before, {cb.outcome.value} after "
                    f"{what}\nbefore: {[e.note for e in ca.evidence]}\nafter: {[e.note for e in cb.evidence]}")
        if b.verdict == Verdict.MATCH:
            assert a.verdict == Verdict.MATCH, (what, a.explain(), b.explain())
        event(f"verdicts {a.verdict.value} -> {b.verdict.value}")


def _patient(r) -> tuple[dict, eligimatch.Patient] | tuple[None, None]:
    doc = F.PatientGen(r, extreme=0.01, bad_units=0.02).patient()
    p = load(doc)
    if p is None:
        event("patient: invalid")
        return None, None
    return doc, p


# ---------------------------------------------------------------------------- blurring

@settings(max_examples=F.examples(150))
@given(F.randoms())
def test_blurring_information_never_creates_a_decision(r):
    """Soundness.  P' is P made less precise (blurring.blur: a condition's status, end or onset removed, a
    date's day removed, a record replaced by a broader one -- a parent concept, a shorter or "unspecified"
    ICD-10-CM code, a drug by its class, a class by its parent --, a drug's mapping removed, with or without
    its classes, a unit removed, ongoing/investigational/per-day removed, a fact's date removed) or with
    information taken away (fuzzing.remove_facts).  For every criterion of the example trials and of a
    probe trial reading what P holds: if P' gives TRUE or FALSE, P gives the same; so P' is a MATCH only if
    P is."""
    doc, full = _patient(r)
    if doc is None:
        return
    focus: list[str] = []
    if r.random() < 0.8:
        less, what, touched = B.blur(doc, r)
        focus = B.focus_predicates(doc, touched, r)
    else:
        less, what = F.remove_facts(doc, r)
    note(f"blurred: {what}")
    note(json.dumps(doc))
    part = load(less)
    if part is None:
        event("blurred patient: refused")  # e.g. a result without its unit
        return
    event("blurred: " + (what[0].split(" ")[0] if what else "nothing"))
    assert_decides_no_more(full, part, trials_for(doc, r, focus), what)


# ---------------------------------------------------------------------------- vocabularies

@settings(max_examples=F.examples(150))
@given(F.randoms())
def test_values_outside_the_vocabulary_never_decide(r):
    """A value outside its declared vocabulary never decides.  One value of P is respelt (blurring.respell):
    a yes/no fact or `where` attribute as "Y", 1, "unknown", "maybe"...; an enum fact as "Positive",
    "reactive", true, "equivocal"...; a number fact as "2_0" or "2"; a result made physiologically impossible
    (outside the analyte's declared `plausible` range: a wrong but convertible unit, or scaled by 10^4).  If the spelling has an obvious declared
    meaning, a criterion may read it or not, but if it decides, it decides as on P with the declared value;
    if it has none, it decides nothing that P without the value would not decide.  A document refused at
    validation must name the field."""
    doc, _ = _patient(r)
    if doc is None:
        return
    messy, ref, what, declared, focus = B.respell(doc, r)
    note(what)
    note(json.dumps(messy))
    try:
        p_messy = load_patient(json.dumps(messy))
    except PatientDataError as exc:
        event("respelt: refused")
        field = what.split(":")[0]
        assert any(field.startswith(e["path"]) or e["path"].startswith(field) for e in exc.errors), (what, str(exc))
        return
    p_ref = load(ref)
    if p_ref is None:
        return
    event("respelt: " + ("declared meaning" if declared else "undeclared"))
    assert_decides_no_more(p_ref, p_messy, trials_for(ref, r, focus), what)


# ---------------------------------------------------------------------------- order

def _shuffled(doc: dict, r) -> dict:
    doc = json.loads(json.dumps(doc))
    for key in ("observations", "conditions", "therapies", "procedures"):
        if key in doc:
            r.shuffle(doc[key])
    if "facts" in doc:
        items = list(doc["facts"].items())
        r.shuffle(items)
        doc["facts"] = dict(items)
    return doc


@settings(max_examples=F.examples(120))
@given(F.randoms())
def test_record_order_never_decides(r):
    """The order of records in a document never changes an outcome -- in particular two results of one
    analyte on the same date that disagree about a criterion are read the same way (conflicting: UNKNOWN)
    whichever comes first."""
    doc, p = _patient(r)
    if doc is None:
        return
    obs = doc.get("observations", [])
    focus: list[str] = []
    if obs and r.random() < 0.7:  # a same-date pair that disagrees about a probe criterion
        first = r.choice(obs)
        o = dict(first)
        o["value"] = r.choice([o["value"] * 2 + 1, o["value"] / 2, 0.0, o["value"] + 0.5])
        doc["observations"] = obs + [o]
        p = load(doc)
        if p is None:
            return
        a = F.CATS.analytes.resolve(o["analyte"])
        if a is not None and a.kind != "computed" and o.get("unit") in F.UNITS_OF[a.id]:
            mid = (first["value"] + o["value"]) / 2
            focus.append(f"{a.id} {r.choice(['>=', '<', '>', '<='])} {mid:g}{B._unit_text(o['unit'])}")
        note(f"same-date pair: {o}")
        event("same-date pair")
    moved = _shuffled(doc, r)
    q = load_patient(json.dumps(moved))
    for trial in trials_for(doc, r, focus):
        a, b = match(p, trial), match(q, trial)
        assert [c.outcome for c in a.criteria] == [c.outcome for c in b.criteria], (a.explain(), b.explain())
        assert a.verdict == b.verdict


# ---------------------------------------------------------------------------- windows and ages

@settings(max_examples=F.examples(120))
@given(F.randoms())
def test_one_window_arithmetic_for_every_record(r):
    """`within N months before A` (A near a month end, a record near the window's start) is one window for
    therapies, procedures, condition histories and results: a record dated d is inside iff
    add_months(A, -N) <= d <= A (the calendar start clamped to the month's end)."""
    anchor, months, day = B.month_end_case(r)
    d = day.isoformat()
    drug = r.choice(["rituximab", "methotrexate", "cyclophosphamide"])
    doc = {
        "birth_date": "1970-05-05",
        "therapies": [{"drug": drug, "start": d, "end": d}],
        "procedures": [{"name": "major_surgery", "date": d}],
        "conditions": [{"name": "stroke", "onset": d, "end": d, "status": "resolved"}],
        "observations": [{"analyte": "anc", "value": 2.0, "unit": "10^9/L", "date": d}],
        "complete": {"conditions": True, "therapies": True, "procedures": True},
        "anchors": {"screening": anchor.isoformat()},
    }
    note(json.dumps(doc))
    w = f"within {months} months before screening"
    text = "\n".join([
        'trial "WINDOWS"', "inclusion:",
        f"  - T: therapy {drug} {w}",
        f"  - P: procedure major_surgery {w}",
        f"  - H: history of stroke {w}",
        f"  - L: anc >= 1 x10^9/L {w}",
    ]) + "\n"
    trial = compile_trial(text)
    as_of = anchor + dt.timedelta(days=r.choice([0, 0, 3, 30]))
    res = match(load_patient(json.dumps(doc)), trial, as_of=as_of)
    inside = add_months(anchor, -months) <= day <= anchor
    want = Outcome.TRUE if inside else Outcome.FALSE
    got = {c.id: c.outcome for c in res.criteria}
    note(f"anchor {anchor}, {months} months, record {day}: inside={inside}; {got}")
    assert got["T"] == got["P"] == got["H"] == want, got
    assert got["L"] == (Outcome.TRUE if inside else Outcome.UNKNOWN), got


@settings(max_examples=F.examples(150))
@given(F.randoms())
def test_exact_age_against_fractional_thresholds(r):
    """Ages are exact: near the day a threshold in years is reached (17.5 years: the day 210 calendar months
    after birth), `age >= t years`, `age < t years` and, for a fractional t, `age > t years` and `age <= t
    years` decide as the calendar says -- where the calendar (either reading of a month's end) and the days
    / 365.2425 agree."""
    birth, as_of, t = B.birthday_case(r)
    reached = add_months(birth, round(float(t) * 12))
    by_days = (as_of - birth).days / 365.2425
    ref = {">=": as_of >= reached, "<": as_of < reached, ">": as_of > reached, "<=": as_of <= reached}
    ref_days = {">=": by_days >= float(t), "<": by_days < float(t), ">": by_days > float(t),
                "<=": by_days <= float(t)}
    ops = list(ref)
    text = 'trial "AGE"\ninclusion:\n' + "".join(f"  - A{i}: age {op} {t} years\n" for i, op in enumerate(ops))
    trial = compile_trial(text)
    res = match(load_patient(json.dumps({"birth_date": birth.isoformat()})), trial, as_of=as_of)
    note(f"born {birth}, on {as_of}: {t} years reached on {reached}; {by_days:.5f} years by days")
    # born on the 31st, "6 months later" is the 30th or the 1st: both readings are fine; decide only where
    # they agree
    later = reached + dt.timedelta(days=1) if reached.day != birth.day else reached
    ref_later = {">=": as_of >= later, "<": as_of < later, ">": as_of > later, "<=": as_of <= later}
    for op, c in zip(ops, res.criteria):
        if float(t).is_integer() and op in (">", "<="):
            continue  # "age > 18 years" counts completed years (docs/language.md), a reading, not a defect
        if ref[op] != ref_days[op] or ref[op] != ref_later[op]:
            event("references disagree")
            continue
        want = Outcome.TRUE if ref[op] else Outcome.FALSE
        assert c.outcome == want, (op, t, c.outcome, [e.note for e in c.evidence])


# ---------------------------------------------------------------------------- refused documents

@settings(max_examples=F.examples(150))
@given(F.randoms())
def test_malformed_documents_are_refused_naming_the_field(r):
    """A number where a date is meant, a JSON key written twice in one object, a number written with
    underscores ("2_0") are refused with a PatientDataError naming the field; never read as some value.
    And a valid document's text with a byte-order mark loads as the same patient."""
    doc, p = _patient(r)
    if doc is None:
        return
    if r.random() < 0.15:
        note("a byte-order mark before the JSON text")
        text = "\ufeff" + json.dumps(doc)
        assert load_patient(text) == p
        assert load_patient(text.encode("utf-8")) == p
        event("byte-order mark")
        return
    text, path, how = B.malformed(doc, r)
    note(f"{how}: must be refused at {path}")
    note(text)
    with pytest.raises(PatientDataError) as info:
        load_patient(text)
    paths = [e["path"] for e in info.value.errors]
    assert any(path.startswith(x) or x.startswith(path) for x in paths), (path, str(info.value))
    event("refused")


def test_the_generators_reach_every_kind_of_issue_18_input():
    """The generators write each kind of input issue 18 lists (a guard: a widened generator stays wide)."""
    rng = random.Random(18)
    blurs, spellings, refusals = set(), set(), set()
    recent_since_at_start = 0  # dose_since on a recent start's day: blurring its day leaves "may be the start"
    for _ in range(3000):
        doc = F.PatientGen(rng, extreme=0.01, bad_units=0.02).patient()
        recent_since_at_start += any(
            t.get("dose_since") is not None and t.get("dose_since") == t.get("start")
            and (AS_OF - dt.date.fromisoformat(t["start"])).days <= 60 for t in doc.get("therapies", ()))
        _, what, _ = B.blur(doc, rng)
        blurs |= {w.split(" ")[0] for w in what}
        _, _, w, declared, _ = B.respell(doc, rng)
        kind = "attribute" if ".attributes." in w else "result" if w.startswith("observations") else "fact"
        spellings.add(kind + (":declared" if declared else ":undeclared"))
        refusals.add(B.malformed(doc, rng)[2])
    for kind in ("condition.status", "condition.end", "condition.onset.day", "condition.broader",
                 "condition.code.broader", "condition.unmapped", "therapy.unmapped", "therapy.to_class",
                 "therapy.classes", "therapy.end", "therapy.start.day", "therapy.ongoing",
                 "observation.unit", "fact.unit", "fact.date", "procedure.broader"):
        assert kind in blurs, (kind, sorted(blurs))
    assert {"attribute:declared", "attribute:undeclared", "fact:declared", "fact:undeclared"} <= spellings
    if any(getattr(a, "plausible", None) for a in F.ANALYTES):  # physiological ranges declared in the catalog
        assert "result:undeclared" in spellings
    assert refusals == {"a number for a date", "a duplicated key", "a number with underscores"}
    assert recent_since_at_start >= 5, recent_since_at_start
