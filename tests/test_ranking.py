"""Ranking (tier and score), disease-defining criteria, 'excluded unless', the question plan, the HTML report."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

import eligimatch
from eligimatch import CriteriaError, Verdict, screen
from eligimatch.cli import main
from eligimatch.screening import describe, disease_profile
from eligimatch.screening import Tier

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
AS_OF = dt.date(2026, 3, 1)


@pytest.fixture(scope="module")
def trials():
    return [eligimatch.load_trial(p) for p in sorted((EXAMPLES / "trials").glob("*.elig"))]


def patient(name: str) -> dict:
    return json.loads((EXAMPLES / "patients" / name).read_text())


def ranking_of(result, trial_id):
    return next(r for r in result.ranking if r.trial_id == trial_id)


# ---- the breast-cancer patient ------------------------------------------------------------------

def test_the_solid_tumour_trial_outranks_the_lupus_trials_for_a_breast_cancer_patient(trials):
    r = screen(patient("breast-cancer-screening.json"), trials, as_of=AS_OF)
    order = [x.trial_id for x in r.results]
    assert order[0] == "NCT05621486"
    assert [x.trial_id for x in r.ranking] == order  # one ranking per result, same order
    solid = ranking_of(r, "NCT05621486")
    assert solid.tier == Tier.POSSIBLE and solid.defining_met == ("I5a", "I5b")
    for lupus in ("CT1192-SLE", "NCT06350110"):
        rk = ranking_of(r, lupus)
        assert rk.tier == Tier.UNLIKELY, rk
        assert rk.score < solid.score
        assert any("competing primary diagnosis" in x and "breast cancer" in x for x in rk.reasons)
        assert rk.competing
    # the other two are excluded by their prior-malignancy criteria
    assert {x.trial_id for x in r.ranking if x.tier == Tier.NOT_ELIGIBLE} == {"NCT03754764", "NCT07301164"}
    assert all(x.score == 0.0 for x in r.ranking if x.tier == Tier.NOT_ELIGIBLE)


def test_every_example_patient_has_a_trial_for_its_disease_first(trials):
    """For each bundled patient made for a trial that does not exclude them, the first-ranked trial is that
    trial or one for the same disease (an SLE patient may rank another lupus trial first)."""
    by_id = {t.id: t for t in trials}
    checked = 0
    for path in sorted((EXAMPLES / "patients").glob("*.json")):
        head = path.name.split("-")[0]
        tid = "CT1192-SLE" if head == "ct1192" else head.upper()
        if tid not in by_id:
            continue
        r = screen(json.loads(path.read_text()), trials, as_of=AS_OF)
        own = ranking_of(r, tid)
        if own.tier == Tier.NOT_ELIGIBLE:
            continue
        first = r.results[0].trial_id
        assert first == tid or (set(disease_profile(by_id[first]).diseases)
                                & set(disease_profile(by_id[tid]).diseases)), (path.name, r.ranking)
        checked += 1
    assert checked >= 12


def test_tiers_and_scores_are_consistent(trials):
    for path in sorted((EXAMPLES / "patients").glob("*.json")):
        r = screen(json.loads(path.read_text()), trials, as_of=AS_OF)
        scores = [x.score for x in r.ranking]
        assert scores == sorted(scores, reverse=True), path.name  # tiers' score ranges do not overlap
        for res, rk in zip(r.results, r.ranking):
            assert 0.0 <= rk.score <= 1.0 and rk.reasons
            if res.verdict == Verdict.NO_MATCH:
                assert rk.tier == Tier.NOT_ELIGIBLE
            elif rk.tier == Tier.ELIGIBLE:
                assert res.verdict == Verdict.MATCH and not res.review and rk.score == 1.0
            elif rk.tier == Tier.ELIGIBLE_PENDING_REVIEW:
                assert res.verdict == Verdict.MATCH and res.review and 0.75 <= rk.score < 1.0
            elif rk.tier == Tier.POSSIBLE:
                assert res.verdict == Verdict.UNKNOWN and 0.3 <= rk.score <= 0.7
            else:
                assert 0.05 <= rk.score <= 0.2


def test_a_clean_match_is_eligible_with_score_one():
    t = eligimatch.compile_trial('trial "T"\ninclusion:\n  - I1 "adult": age >= 18 years\n')
    r = screen({"id": "p", "birth_date": "1970-01-01"}, [t], as_of=AS_OF)
    assert r.ranking[0].tier == Tier.ELIGIBLE and r.ranking[0].score == 1.0


# ---- excluded unless the investigator judges ... ----------------------------------------------

def test_an_exclusion_whose_data_part_is_met_is_marked_and_ranked_below_a_clean_match(trials):
    doc = patient("nct07301164-sle-match.json")
    clean = screen(doc, trials, as_of=AS_OF)
    assert ranking_of(clean, "NCT07301164").tier == Tier.ELIGIBLE_PENDING_REVIEW
    for o in doc["observations"]:
        if o["analyte"] == "anc":
            o["value"] = 0.8  # < 1 x10^9/L: E2a1's data part is met
    r = screen(doc, trials, as_of=AS_OF)
    res = next(x for x in r.results if x.trial_id == "NCT07301164")
    assert res.verdict == Verdict.MATCH  # the verdict itself is unchanged: only the investigator can exclude
    assert res.excluded_unless == ("E2a1",)
    assert "E2a1" in res.review
    rk = ranking_of(r, "NCT07301164")
    assert rk.tier == Tier.UNLIKELY and rk.excluded_unless == ("E2a1",)
    assert rk.score < ranking_of(clean, "NCT07301164").score
    text = res.explain()
    assert "[EXCLUDED UNLESS] exc E2a1" in text
    assert "excluded unless the investigator judges the exception applies: E2a1" in text


def test_an_exclusion_with_judgment_whose_data_part_is_not_met_is_not_marked(trials):
    r = screen(patient("nct07301164-sle-match.json"), trials, as_of=AS_OF)
    res = next(x for x in r.results if x.trial_id == "NCT07301164")
    assert res.criterion("E2a1").met is True and "E2a1" not in res.excluded_unless
    # a judgment-only exclusion (E1, E15) is a review item, never "excluded unless"
    assert "E15" in res.review and "E15" not in res.excluded_unless


# ---- disease-defining criteria: declared or inferred -------------------------------------------

def test_disease_profiles_declared_and_inferred(trials):
    by_id = {t.id: t for t in trials}
    solid = disease_profile(by_id["NCT05621486"])
    assert solid.diseases == ("solid_tumor",) and solid.defining == ("I5a", "I5b")
    assert not solid.diseases_declared and not solid.defining_declared
    assert "inferred" in describe(by_id["NCT05621486"])
    sle = disease_profile(by_id["NCT06350110"])
    assert sle.diseases == ("systemic_lupus_erythematosus",) and sle.defining == ("I2",)
    assert sle.diseases_declared and sle.defining_declared
    cohorts = disease_profile(by_id["NCT07301164"])
    assert set(cohorts.defining) == {"SLE1", "SSC1", "APS1", "IM1", "SS1", "AAV1"}


def test_check_reports_what_it_inferred(capsys):
    assert main(["check", str(EXAMPLES / "trials" / "NCT05621486.elig")]) == 0
    err = capsys.readouterr().err
    assert "note: disease solid_tumor (inferred); disease-defining I5a, I5b (inferred" in err


@pytest.mark.parametrize("header, message", [
    ("disease lupus_diseas", "unknown condition 'lupus_diseas' in `disease`"),
    ("defining I9", "`defining` names 'I9', which is not a criterion"),
    ("defining E1", "an exclusion; disease-defining criteria are inclusions"),
])
def test_disease_header_is_checked(header, message):
    text = f'trial "T"\n{header}\ninclusion:\n  - I1 "x": age >= 18 years\nexclusion:\n  - E1 "y": pregnant\n'
    with pytest.raises(CriteriaError) as exc:
        eligimatch.compile_trial(text)
    rendered = "\n".join(p.render() for p in exc.value.problems)
    assert message in rendered
    assert ":2:" in rendered  # located on the header line


def test_disease_header_round_trips_through_fmt():
    from eligimatch.language import format_text

    text = ('trial "T"\ndisease breast_cancer, solid_tumor\ndefining I1\n\ninclusion:\n'
            '  - I1 "breast cancer":\n      condition breast_cancer\n')
    assert format_text(text) == text
    t = eligimatch.compile_trial(text)
    assert disease_profile(t).diseases == ("breast_cancer", "solid_tumor")


# ---- the question plan ----------------------------------------------------------------------------

def test_question_plan_is_grouped_capped_and_names_what_it_settles(trials):
    r = screen(patient("breast-cancer-screening.json"), trials, as_of=AS_OF)
    assert len(r.questions) > 10  # every missing fact, as before
    assert 0 < len(r.plan) <= 10
    ids = [q.id for q in r.plan]
    assert len(ids) == len(set(ids))
    preg = next(q for q in r.plan if q.id == "pregnancy")
    assert {"pregnant", "breastfeeding"} <= set(preg.facts) and "pregnant or breastfeeding" in preg.text
    assert not any(q.id in ("pregnant", "breastfeeding") for q in r.plan)  # one question, not two
    for q in r.plan:
        assert q.trials and q.criteria
        assert all(c.split(":")[0] in q.trials for c in q.criteria)
    values = [(not q.disease_defining, -q.value) for q in r.plan]
    assert values == sorted(values)
    assert len(screen(patient("breast-cancer-screening.json"), trials, as_of=AS_OF, questions=3).plan) == 3


def test_question_plan_leads_with_disease_defining_questions_when_the_disease_is_unrecorded(trials):
    doc = {"id": "new", "birth_date": "1980-01-01", "sex": "female"}
    r = screen(doc, trials, as_of=AS_OF)
    assert r.plan[0].disease_defining
    firsts = [q.disease_defining for q in r.plan]
    assert firsts == sorted(firsts, reverse=True)  # all the disease-defining ones first
    # cheap before costly among equals: no test precedes a yes/no question of the same value
    costs = {"yes/no": 0, "value": 1, "history": 2, "test": 3}
    for a, b in zip(r.plan, r.plan[1:]):
        if a.disease_defining == b.disease_defining and a.value == b.value:
            assert costs[a.cost] <= costs[b.cost]


def test_cli_match_questions_and_summary(capsys):
    code = main(["match", str(EXAMPLES / "patients" / "breast-cancer-screening.json"),
                 *map(str, sorted((EXAMPLES / "trials").glob("*.elig"))), "--as-of", "2026-03-01",
                 "--questions", "4"])
    assert code == 0
    out = capsys.readouterr().out
    summary = out.split("═" * 72)[1]
    assert re.search(r"1\. UNKNOWN\s+possible\s+0\.\d\d\s+NCT05621486", summary)
    assert re.search(r"UNKNOWN\s+unlikely\s+0\.\d\d\s+CT1192-SLE", summary)
    assert "competing primary diagnosis" in summary
    assert re.findall(r"^\s+(\d+)\. .*\[(?:disease-defining, )?(?:yes/no|value|history|test)\]", summary,
                      re.MULTILINE) == ["1", "2", "3", "4"]


# ---- the HTML report ----------------------------------------------------------------------------------

def test_match_writes_a_self_contained_html_report(tmp_path, capsys):
    out = tmp_path / "report.html"
    code = main(["match", str(EXAMPLES / "patients" / "breast-cancer-screening.json"),
                 *map(str, sorted((EXAMPLES / "trials").glob("*.elig"))), "--as-of", "2026-03-01",
                 "--html", str(out)])
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "<script" not in text and "http://" not in text and "https://" not in text  # nothing external
    for tid in ("NCT05621486", "NCT06350110", "CT1192-SLE", "NCT03754764", "NCT07301164"):
        assert f"id='trial-{tid}'" in text
    assert "pregnant or breastfeeding" in text
    assert text.index("NCT05621486") < text.index("CT1192-SLE")  # ranked table first
    assert "breast cancer (breast_cancer; onset 2023-09-12)" in text  # evidence lines
    # data are escaped
    doc = patient("breast-cancer-screening.json")
    doc["id"] = "<script>alert(1)</script>"
    p = tmp_path / "p.json"
    p.write_text(json.dumps(doc))
    assert main(["match", str(p), str(EXAMPLES / "trials" / "NCT05621486.elig"), "--as-of", "2026-03-01",
                 "--html", str(out)]) == 0
    assert "<script>" not in out.read_text() and "&lt;script&gt;" in out.read_text()


# ---- the breast-cancer bundles of the shared corpora ------------------------------------------------

CORPUS = Path(__import__("os").environ.get("ELIGIMATCH_SHARED", ROOT.parent / "shared")) / "corpora" / "fhir"
BREAST_BUNDLES = ["inferno/Bundle-IPS-examples-Bundle-01.json"]  # IPS: breast cancer (SNOMED 254837009), 2015


@pytest.mark.parametrize("name", BREAST_BUNDLES + ["<examples>/breast-cancer-screening.json"])
def test_breast_cancer_bundles_rank_the_solid_tumour_trial_first_with_a_short_plan(trials, name):
    pytest.importorskip("fhir.resources", reason="FHIR input needs fhir.resources (the fhir extra)")
    from eligimatch.sources.fhir import patient_from_bundle

    path = EXAMPLES / "fhir" / name.split("/", 1)[1] if name.startswith("<examples>") else CORPUS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared corpora; set ELIGIMATCH_SHARED to the shared folder)")
    p = patient_from_bundle(path).patient
    r = screen(p, trials, as_of=AS_OF)
    assert r.results[0].trial_id == "NCT05621486", r.ranking
    for lupus in ("CT1192-SLE", "NCT06350110"):
        assert ranking_of(r, lupus).tier in (Tier.UNLIKELY, Tier.NOT_ELIGIBLE), r.ranking
    assert 0 < len(r.plan) <= 10
    assert r.plan[0].disease_defining and r.plan[0].trials == ("NCT05621486",)


def test_screen_jsonl_rows_carry_tier_and_score(tmp_path, capsys):
    code = main(["screen", str(EXAMPLES / "patients" / "breast-cancer-screening.json"), str(EXAMPLES / "trials"),
                 "--format", "jsonl", "--as-of", "2026-03-01", "--workers", "1"])
    assert code == 0
    rows = {r["trial"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["NCT05621486"]["tier"] == "possible" and rows["NCT05621486"]["rank"] == 1
    assert rows["CT1192-SLE"]["tier"] == "unlikely" and rows["NCT03754764"]["score"] == 0.0
