"""A seed trial drafted from its registry text decides each drafted criterion as the hand-written file does.

For every criterion the drafter made computable, the hand-written criteria of
``examples/trials/<id>.elig`` that quote the same sentence (whole, or the parts
the hand-written file split with "...") are found; on every example patient and
date of ``examples/expected/<id>.toml`` the drafted criterion's outcome must equal
the conjunction (Kleene ``and``) of theirs.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest

import eligimatch
from eligimatch.ctgov import draft_trial, load_record

from .shared import SEEDS

ROOT = Path(__file__).resolve().parents[2] / "examples"
# every seed whose page the loader reads, with how many drafted criteria have a hand-written counterpart
# quoting the same sentence (measured; a floor, so a drafter that reads less fails here):
# CT1192-SLE's page is a fragment (its inclusion text starts inside criterion 6, and no item left is one the
# drafter reads: nothing to compare, but the draft must compile and keep every item)
SEEDED = {"NCT05621486": 17, "NCT03754764": 4, "NCT07301164": 2, "CT1192-SLE": 0}


def _squash(s: str) -> str:
    return re.sub(r"[^0-9a-z]", "", s.lower().replace("×", "x"))


def _covers(drafted_text: str, hand_text: str) -> bool:
    whole = _squash(drafted_text)
    parts = [_squash(p) for p in hand_text.split("...") if _squash(p)]
    return bool(parts) and all(p in whole for p in parts) or (len(whole) > 15 and whole in _squash(hand_text))


def _and(outcomes: list[str]) -> str:
    if "false" in outcomes:
        return "false"
    return "unknown" if "unknown" in outcomes else "true"


@pytest.mark.parametrize("trial_id", sorted(SEEDED))
def test_drafted_seed_criteria_decide_as_the_hand_written_ones(trial_id):
    path = SEEDS / f"{trial_id}.txt"
    if not path.exists():
        pytest.skip(f"seed {path} not found (set ELIGIMATCH_SHARED or put shared/ beside the repo)")
    draft = draft_trial(load_record(path))
    drafted = eligimatch.compile_trial(draft.text)
    hand = eligimatch.load_trial(ROOT / "trials" / f"{trial_id}.elig")
    pairs = []
    for d in draft.items:
        if not d.computable:
            continue
        covered = [c for c in hand.all_criteria() if c.kind == d.item.kind and c.text and _covers(d.item.text, c.text)
                   and not c.judgment]
        if covered:
            pairs.append((d.id, [c.id for c in covered]))
    assert len(pairs) >= SEEDED[trial_id], f"fewer drafted criteria to compare than before: {pairs}"
    assert all(i.item.text for i in draft.items) and len(draft.items) == len(load_record(path).items)
    expected = tomllib.loads((ROOT / "expected" / f"{trial_id}.toml").read_text(encoding="utf-8"))
    compared = 0
    for case in expected["case"]:
        patient = eligimatch.load_patient((ROOT / "patients" / case["patient"]).read_text(encoding="utf-8"))
        anchors = {k: dt.date.fromisoformat(v) for k, v in case.get("anchors", {}).items()}
        as_of = dt.date.fromisoformat(case["as_of"])
        got = eligimatch.match(patient, drafted, as_of=as_of, anchors=anchors)
        want = eligimatch.match(patient, hand, as_of=as_of, anchors=anchors)
        for did, hids in pairs:
            mine = got.criterion(did).outcome.value
            theirs = _and([want.criterion(h).outcome.value for h in hids])
            assert mine == theirs, (case["patient"], did, hids, mine, theirs, got.criterion(did), 
                                    [want.criterion(h) for h in hids])
            compared += 1
    assert compared == len(pairs) * len(expected["case"])


def test_every_seed_page_is_read_or_refused_with_its_reason():
    """The five seeds: four drafted (above); NCT06350110's page lists all its criteria as one bullet list
    without the "Inclusion Criteria"/"Exclusion Criteria" headings (the page dropped them: "18-90 years
    old" and "Patients with HIV infection" are in the same list), so which items include and which exclude
    cannot be told: it is refused, with that reason, rather than guessed."""
    from eligimatch.errors import RegistryError

    seeds = sorted(p.stem for p in SEEDS.glob("*.txt")) if SEEDS.exists() else []
    if not seeds:
        pytest.skip(f"seeds not found at {SEEDS}")
    assert set(seeds) == set(SEEDED) | {"NCT06350110"}
    with pytest.raises(RegistryError, match="which items include and which exclude cannot be told"):
        load_record(SEEDS / "NCT06350110.txt")


def test_page_layouts():
    """Label-above-value pages (age, sex), Markdown escapes, numbered titles as cohort headings, a sub-list
    that restarts at 1 below an item ending in ':', and an unnumbered paragraph running into numbered items."""
    from eligimatch.ctgov.items import split_items

    items, cohorts = split_items(
        "Inclusion Criteria\n\n1. Sign consent.\n2. On one of the following:\n\n1. A;\n2. B;\n3. C\n3. Weight \\>40 kg\n\n"
        "1\\. Systemic Sclerosis (SSc)\n\n1. mRSS ≥10\n\nExclusion Criteria\n\n1. Pregnancy\n", markdown=True)
    assert [(i.kind, i.number, i.parent, i.text, i.cohort) for i in items] == [
        ("inclusion", "1", None, "Sign consent.", None), ("inclusion", "2", None, "On one of the following:", None),
        ("inclusion", "2.1", "2", "A;", None), ("inclusion", "2.2", "2", "B;", None),
        ("inclusion", "2.3", "2", "C", None),
        ("inclusion", "3", None, "Weight >40 kg", None),
        ("inclusion", "4", None, "mRSS ≥10", "Systemic Sclerosis (SSc)"),
        ("exclusion", "1", None, "Pregnancy", None)]
    assert cohorts == ("Systemic Sclerosis (SSc)",)
    # "3." after the sub-items "1.", "2." may go on either list: the sub-list is kept (the drafter then reads the
    # item under its lead-in, and abstains unless the lead-in says the items all apply)
    items, _ = split_items("1. X:\n1. A\n2. B\n3. C\n")
    assert [i.number for i in items] == ["1", "1.1", "1.2", "1.3"]
    # a cohort heading right above a section heading encloses the sections
    items, _ = split_items("Cohort A:\nInclusion Criteria:\n- x\nExclusion Criteria:\n- y\n")
    assert [(i.kind, i.cohort) for i in items] == [("inclusion", "Cohort A"), ("exclusion", "Cohort A")]
    items, _ = split_items("Inclusion criteria\nIf used alone, the dose is ≥ 7.5 mg/day; 7. Positive ANA; "
                           "8. Active disease; 9. Adequate organ function:\n")
    assert [(i.label, i.text) for i in items] == [(None, "If used alone, the dose is ≥ 7.5 mg/day;"),
                                                  ("7.", "Positive ANA;"), ("8.", "Active disease;"),
                                                  ("9.", "Adequate organ function:")]
    record = load_record(SEEDS / "NCT07301164.txt") if (SEEDS / "NCT07301164.txt").exists() else None
    if record is not None:
        assert (record.sex, str(record.minimum_age), str(record.maximum_age)) == ("all", "18 years", "80 years")
