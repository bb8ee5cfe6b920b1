"""Named regression tests for the input-side defects of issue 18 (soundness on messy input).

Each test's name carries the defect id of the issue (D1, D7, D10, ...); docs/reliability.md ("Defects of
issue 18") lists them with why each was possible.  Every one failed before its fix.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import stat
import threading

import pytest

import eligimatch
from eligimatch import PatientDataError, compile_trial, load_patient, match
from eligimatch.sources import load_patient_file

AS_OF = dt.date(2026, 3, 1)


def verdict(criterion: str, patient: dict | str, *, kind: str = "inclusion") -> str:
    trial = compile_trial(f"{kind}:\n  - C1: {criterion}\n")
    p = load_patient(patient if isinstance(patient, (str, bytes)) else json.dumps(patient))
    return match(p, trial, as_of=AS_OF).verdict.value


def criterion(criterion: str, patient: dict | str, *, kind: str = "inclusion"):
    trial = compile_trial(f"{kind}:\n  - C1: {criterion}\n")
    p = load_patient(patient if isinstance(patient, (str, bytes)) else json.dumps(patient))
    return match(p, trial, as_of=AS_OF).criteria[0]


def refused(doc: str | bytes) -> str:
    with pytest.raises(PatientDataError) as info:
        load_patient(doc)
    return str(info.value)


# ---- D10: numbers as dates -------------------------------------------------------------------------------

@pytest.mark.parametrize("doc,path", [
    ('{"birth_date": 0}', "birth_date"),
    ('{"birth_date": 19610630}', "birth_date"),
    ('{"observations": [{"analyte": "anc", "value": 2, "unit": "10^9/L", "date": 1700000000}]}',
     "observations.0.date"),
    ('{"anchors": {"screening": 20260301}}', "anchors.screening"),
    ('{"conditions": [{"name": "asthma", "onset": 2020}]}', "conditions.0.onset"),
    ('{"facts": {"ecog": {"value": 1, "date": 0}}}', "facts.ecog"),
])
def test_d10_numbers_as_dates_refused(doc, path):
    message = refused(doc)
    assert f"  {path}" in message and ("number" in message or "date" in message)
    assert "1970" not in message


# ---- D12: duplicate JSON keys ----------------------------------------------------------------------------

@pytest.mark.parametrize("doc,path", [
    ('{"facts": {"ecog": 1, "ecog": 4}}', "facts.ecog"),
    ('{"facts": {"ecog": 4, "ecog": 1}}', "facts.ecog"),
    ('{"id": "a", "id": "b"}', "id"),
    ('{"observations": [{"analyte": "anc", "value": 2.0, "value": 0.5, "unit": "10^9/L"}]}',
     "observations.0.value"),
    ('{"conditions": [{"name": "asthma"}, {"name": "x", "attributes": {"grade": 1, "grade": 3}}]}',
     "conditions.1.attributes.grade"),
])
def test_d12_duplicate_json_keys_refused(doc, path):
    message = refused(doc)
    assert f"  {path}: " in message and "more than once" in message


def test_d12_duplicate_json_keys_refused_in_files_and_jsonl(tmp_path):
    p = tmp_path / "p.json"
    p.write_text('{"facts": {"ecog": 1, "ecog": 4}}')
    with pytest.raises(PatientDataError, match=r"facts\.ecog.*more than once"):
        load_patient_file(p)
    rec = next(iter(eligimatch.screen_many([("batch.jsonl:1", '{"facts": {"ecog": 1, "ecog": 4}}')],
                                           [compile_trial("inclusion:\n  - C1: ecog <= 1\n")], as_of=AS_OF)))
    assert not rec.ok and "facts.ecog" in rec.message


# ---- D16: silent coercions --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["2_0", "1,5", "0x10", " 1e", "twenty", "1_000"])
def test_d16_number_text_that_is_not_a_plain_number_refused(text):
    doc = json.dumps({"observations": [{"analyte": "anc", "value": text, "unit": "10^9/L",
                                        "date": "2026-02-20"}]})
    assert "observations.0.value" in refused(doc)


def test_d16_plain_number_text_still_read():
    p = load_patient(json.dumps({"observations": [{"analyte": "anc", "value": "2.5", "unit": "10^9/L"}]}))
    assert p.observations[0].value == 2.5


# ---- D17: byte-order mark, empty documents ----------------------------------------------------------------

def test_d17_patient_json_with_byte_order_mark_loads(tmp_path):
    p = tmp_path / "p.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "bom", "facts": {"ecog": 1}}).encode())
    assert load_patient_file(p).id == "bom"
    assert load_patient(p.read_bytes()).facts["ecog"] == 1
    assert load_patient(p.read_bytes().decode("utf-8")).id == "bom"


@pytest.mark.parametrize("doc", ["", "  \n", "[]", "1", "null"])
def test_d17_empty_or_non_object_patient_document_says_so(doc):
    message = refused(doc)
    assert "(document)" in message and "Traceback" not in message


# ---- D15: reads bounded by bytes read; pipes and devices refused ------------------------------------------

@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_d15_dev_zero_refused_quickly():
    with pytest.raises(PatientDataError, match="not a regular file"):
        load_patient_file("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_d15_named_pipe_does_not_hang(tmp_path):
    fifo = tmp_path / "p.json"
    os.mkfifo(fifo)
    outcome: list = []

    def read() -> None:
        try:
            load_patient_file(fifo)
        except PatientDataError as exc:
            outcome.append(str(exc))

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(30)
    if t.is_alive():  # unblock the reader before failing
        with open(fifo, "w"):
            pass
        pytest.fail("reading a named pipe blocked")
    assert outcome and "named pipe" in outcome[0]


def test_d15_size_bound_counts_bytes_read(tmp_path, monkeypatch):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"id": "x" * 100}))
    small = eligimatch.InputLimits(max_bytes=50)
    with pytest.raises(PatientDataError, match="too large"):
        load_patient_file(p, limits=small)
    # a file that claims a smaller size than it has (as /proc files claim 0) is still bounded
    real_stat = os.stat

    class Claims:
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, 0

    monkeypatch.setattr(pathlib.Path, "stat", lambda self: Claims(real_stat(self)))
    with pytest.raises(PatientDataError, match="too large"):
        load_patient_file(p, limits=small)
    assert stat.S_ISREG(real_stat(p).st_mode)


# ---- D1: enum facts against their declared values ----------------------------------------------------------

@pytest.mark.parametrize("recorded,expected", [
    ("positive", "no_match"), ("Positive", "no_match"), ("POSITIVE", "no_match"), ("reactive", "no_match"),
    ("Reactive", "no_match"), ("negative", "match"), ("Non-Reactive", "match"),
    (True, "unknown"), (False, "unknown"), ("pos", "unknown"), ("yes", "unknown"), (1, "unknown"),
    ("indeterminate", "unknown"),
])
def test_d1_enum_fact_values_checked_against_the_declared_values(recorded, expected):
    assert verdict("hbsag = positive", {"facts": {"hbsag": recorded}}, kind="exclusion") == expected


def test_d1_undeclared_enum_value_names_the_allowed_values():
    c = criterion("hbsag = positive", {"facts": {"hbsag": True}}, kind="exclusion")
    assert c.outcome.value == "unknown" and [x.value for x in c.causes] == ["invalid"]
    detail = c.missing[0].detail
    assert "positive" in detail and "negative" in detail and "reactive" in detail
    assert any("allowed values" in e.note for e in c.evidence)


def test_d1_enum_in_set_and_not_equal_never_decided_by_an_undeclared_value():
    assert verdict("hcv_rna in (detectable)", {"facts": {"hcv_rna": "Detected"}}, kind="exclusion") == "no_match"
    assert verdict("hcv_rna != undetectable", {"facts": {"hcv_rna": "low"}}) == "unknown"
    assert verdict("hcv_rna != undetectable", {"facts": {"hcv_rna": {"value": "NOT DETECTED"}}}) == "no_match"


def test_d1_value_synonyms_must_name_a_declared_value():
    from eligimatch.errors import CatalogError
    from eligimatch.knowledge import FactCatalog

    with pytest.raises(CatalogError, match="not one of its values"):
        FactCatalog.from_toml('[x]\ntype = "enum"\nvalues = ["positive", "negative"]\n'
                              'value_synonyms = { reactive = "pos" }\n')


# ---- D7: a quantity without a unit is never given one --------------------------------------------------------

def test_d7_observation_without_unit_is_invalid_not_the_default_unit():
    doc = {"observations": [{"analyte": "anc", "value": 1200, "date": "2026-02-20"}]}
    c = criterion("anc >= 1.5 x10^9/L", doc)
    assert c.outcome.value == "unknown" and [x.value for x in c.causes] == ["invalid"]
    assert "without a unit" in c.missing[0].detail
    assert verdict("anc < 1.5 x10^9/L", doc, kind="exclusion") == "unknown"


def test_d7_observation_without_unit_against_a_range_in_a_unit_is_invalid():
    doc = {"observations": [{"analyte": "alt", "value": 30, "date": "2026-02-20",
                             "reference_range": {"high": 40, "unit": "U/L"}}]}
    assert verdict("alt <= 2.5 x ULN", doc) == "unknown"


# ---- N3: a result without a unit against its own unitless range -----------------------------------------------

def test_n3_result_and_its_range_both_without_a_unit_are_invalid():
    # the ratio needs no unit, but without one the value's plausibility cannot be checked: potassium 89.4
    # mmol/L is impossible (UNKNOWN, implausible), so 89.4 with no unit must not decide either
    doc = {"observations": [{"analyte": "alt", "value": 30, "date": "2026-02-20",
                             "reference_range": {"high": 40}}]}
    c = criterion("alt <= 2.5 x ULN", doc)
    assert c.outcome.value == "unknown" and [x.value for x in c.causes] == ["invalid"]
    assert "without a unit" in c.missing[0].detail
    assert verdict("alt > 2.5 x ULN", doc, kind="exclusion") == "unknown"
    k = {"observations": [{"analyte": "potassium", "value": 89.4, "date": "2026-02-20",
                           "reference_range": {"low": 3.5, "high": 5.1}}]}
    assert verdict("potassium <= 1.5 x ULN", k) == "unknown"
    assert verdict("potassium >= 0.5 x LLN", k) == "unknown"
    k["observations"][0]["unit"] = "mmol/L"  # with its unit the same value is implausible: UNKNOWN too
    assert verdict("potassium <= 30 x ULN", k) == "unknown"
    k["observations"][0]["value"] = 4.2  # a plausible value with its unit decides
    assert verdict("potassium <= 1.5 x ULN", k) == "match"


def test_n3_unit_free_analytes_still_compare_with_their_own_range():
    # INR and scores are plain numbers: a bare result against its own range decides
    doc = {"observations": [{"analyte": "inr", "value": 1.1, "date": "2026-02-20",
                             "reference_range": {"low": 0.8, "high": 1.2}}]}
    assert verdict("inr <= 1.5 x ULN", doc) == "match"
    doc["observations"][0]["value"] = 2.0
    assert verdict("inr <= 1.5 x ULN", doc) == "no_match"


def test_d7_unit_free_analytes_may_go_without_a_unit():
    assert verdict("inr <= 1.5", {"observations": [{"analyte": "inr", "value": 1.1, "date": "2026-02-20"}]}) \
        == "match"
    assert verdict("sledai_2k >= 6", {"observations": [{"analyte": "sledai_2k", "value": 8,
                                                         "date": "2026-02-20"}]}) == "match"


@pytest.mark.parametrize("value", [12, {"value": 12}, {"value": 12, "date": "2026-02-01"}])
def test_d7_duration_fact_without_unit_is_invalid(value):
    c = criterion("life_expectancy > 3 months", {"facts": {"life_expectancy": value}})
    assert c.outcome.value == "unknown" and [x.value for x in c.causes] == ["invalid"]
    assert "no unit" in c.missing[0].detail
    assert verdict("life_expectancy > 3 months",
                   {"facts": {"life_expectancy": {"value": 20, "unit": "weeks"}}}) == "match"


# ---- D16: units that do not belong ---------------------------------------------------------------------------

def test_d16_unit_on_a_unitless_fact_is_invalid_not_ignored():
    c = criterion("ecog <= 1", {"facts": {"ecog": {"value": 1, "unit": "mg"}}})
    assert c.outcome.value == "unknown" and "plain number" in c.missing[0].detail
    assert verdict("ecog <= 1", {"facts": {"ecog": {"value": 1}}}) == "match"


def test_d16_inr_in_percent_is_invalid_not_converted():
    doc = {"observations": [{"analyte": "inr", "value": 1.5, "unit": "%", "date": "2026-02-20"}]}
    c = criterion("inr <= 1.2", doc)
    assert c.outcome.value == "unknown" and "'%'" in c.missing[0].detail
    assert verdict("inr > 1.2", doc, kind="exclusion") == "unknown"
    # a declared fraction of a percentage still reads: SpO2 0.97 is 97 %
    assert verdict("spo2 >= 95%", {"observations": [{"analyte": "spo2", "value": 0.97, "unit": "1",
                                                       "date": "2026-02-20"}]}) == "match"
    # annotations worth exactly the unit are the unit
    assert verdict("inr <= 1.2", {"observations": [{"analyte": "inr", "value": 1.1, "unit": "{INR}",
                                                      "date": "2026-02-20"}]}) == "match"


# ---- plausible values --------------------------------------------------------------------------------------

def test_plausibility_hemoglobin_in_mg_per_dl_is_implausible_not_low():
    doc = {"observations": [{"analyte": "hemoglobin", "value": 12.4, "unit": "mg/dL", "date": "2026-02-20"}]}
    c = criterion("hemoglobin >= 10 g/dL", doc)
    assert c.outcome.value == "unknown" and [x.value for x in c.causes] == ["invalid"]
    assert "implausible" in c.missing[0].detail and "'mg/dL'" in c.missing[0].detail
    assert verdict("hemoglobin >= 10 g/dL", {"observations": [{"analyte": "hemoglobin", "value": 12.4,
                                                                 "unit": "g/dL", "date": "2026-02-20"}]}) == "match"


@pytest.mark.parametrize("analyte,value,unit,crit", [
    ("anc", 1500, "10^9/L", "anc >= 1.5 x10^9/L"),                  # cells/µL sent as 10^9/L
    ("creatinine", 88, "mg/dL", "creatinine <= 1.5 mg/dL"),         # µmol/L sent as mg/dL
    ("albumin", 3.5, "g/L", "albumin >= 30 g/L"),                   # g/dL sent as g/L
    ("platelets", 150000, "10^9/L", "platelets >= 100 x10^9/L"),
    ("sledai_2k", 140, None, "sledai_2k >= 6"),
])
def test_plausibility_unit_slips_are_not_compared(analyte, value, unit, crit):
    o = {"analyte": analyte, "value": value, "date": "2026-02-20"}
    if unit:
        o["unit"] = unit
    c = criterion(crit, {"observations": [o]})
    assert c.outcome.value == "unknown" and "implausible" in c.missing[0].detail


def test_plausibility_facts_ecog_7_and_age_250():
    assert verdict("ecog <= 1", {"facts": {"ecog": 7}}, kind="exclusion") == "unknown"
    c = criterion("age >= 18 years", {"birth_date": "1776-07-04"})
    assert c.outcome.value == "unknown" and "implausible" in c.missing[0].detail
    assert verdict("age >= 18 years", {"birth_date": "1926-07-04"}) == "match"  # 99: possible


@pytest.mark.parametrize("analyte,value,unit,crit", [
    ("spo2", 0.97, "%", "spo2 >= 90%"),                              # a fraction sent as a percentage
    ("lvef", 0.55, "%", "lvef >= 50%"),
    ("physician_global", 150, None, "physician_global <= 3"),        # on no scale (0-3, 0-10, 0-100 mm)
    ("pain_score", 11, None, "pain_score <= 4"),                     # the 0-10 rating scale
    ("eular_acr_2019_sle_score", 60, None, "eular_acr_2019_sle_score >= 10"),  # the score's maximum is 51
])
def test_plausibility_spo2_lvef_and_global_scores(analyte, value, unit, crit):
    o = {"analyte": analyte, "value": value, "date": "2026-02-20"}
    if unit:
        o["unit"] = unit
    c = criterion(crit, {"observations": [o]})
    assert c.outcome.value == "unknown" and "implausible" in c.missing[0].detail
    # the same analyte with a possible value decides
    o["value"] = {"spo2": 97, "lvef": 55, "physician_global": 2, "pain_score": 3,
                  "eular_acr_2019_sle_score": 12}[analyte]
    assert criterion(crit, {"observations": [o]}).outcome.value == "true"


def test_plausibility_karnofsky_is_a_whole_number_on_its_scale():
    assert verdict("karnofsky >= 70", {"facts": {"karnofsky": 80}}) == "match"
    for bad in (0.8, 250, -10):
        assert verdict("karnofsky >= 70", {"facts": {"karnofsky": bad}}) == "unknown", bad


def test_plausibility_every_range_has_a_source_and_is_in_the_docs():
    """Every `plausible` range names where it comes from (plausible_source in analytes.toml), and
    docs/reliability.md lists it with its range."""
    import pathlib
    import re

    from eligimatch.knowledge import AnalyteCatalog

    doc = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "reliability.md").read_text(encoding="utf-8")
    ranged = [a for a in AnalyteCatalog.default() if a.plausible is not None]
    assert len(ranged) >= 43
    for a in ranged:
        assert len(a.plausible_source.strip()) > 20, a.id
        low, high = (f"{x:g}" for x in a.plausible)
        assert re.search(rf"^\| `{a.id}` \| {re.escape(low)} to {re.escape(high)} ", doc, re.M), a.id
    for aid in ("spo2", "lvef", "physician_global", "patient_global", "pain_score", "eular_acr_2019_sle_score"):
        assert any(a.id == aid for a in ranged), aid


def test_plausibility_catalog_ranges_are_checked():
    from eligimatch.knowledge import Analyte
    from eligimatch.errors import CatalogError

    with pytest.raises(CatalogError, match="plausible"):
        Analyte(id="x", name="X", unit="g/L", plausible=(5.0, 1.0), plausible_source="a source")
    with pytest.raises(CatalogError, match="plausible_source"):
        Analyte(id="x", name="X", unit="g/L", plausible=(1.0, 5.0))
    with pytest.raises(CatalogError, match="plausible_source"):
        Analyte(id="x", name="X", unit="g/L", plausible_source="a source, but no range")
    with pytest.raises(CatalogError, match="units"):
        Analyte(id="y", name="Y", unit="1", units=("kg",))


# ---- D13: empty trials and cohorts -------------------------------------------------------------------------

@pytest.mark.parametrize("text,message", [
    ("", "the file is empty"),
    ("# only a comment\n\n# and another\n", "only comments"),
    ('trial "T"\ntitle "x"\n', "no criteria"),
    ("inclusion:\nexclusion:\n", "no criteria"),
])
def test_d13_empty_trial_refused(text, message):
    from eligimatch import CriteriaCheckError

    with pytest.raises(CriteriaCheckError) as info:
        compile_trial(text)
    assert message in str(info.value) and "match every patient" in str(info.value)
    assert (info.value.problems[0].line, info.value.problems[0].column) == (1, 1)


def test_d13_empty_cohort_refused():
    from eligimatch import CriteriaCheckError

    with pytest.raises(CriteriaCheckError) as info:
        compile_trial('inclusion:\n  - I1: ecog <= 1\ncohort a "A":\ncohort b "B":\n  inclusion:\n    - B1: pregnant\n')
    assert "cohort 'a' has no criteria" in str(info.value) and info.value.problems[0].line == 3


def test_d13_check_says_so(tmp_path, capsys):
    from eligimatch.cli import main

    p = tmp_path / "empty.elig"
    p.write_text("# nothing yet\n")
    assert main(["check", str(p)]) == 1
    out, err = capsys.readouterr()
    assert "only comments" in out and "1 error" in err


def test_d17_fmt_on_an_empty_file_says_it_is_empty(tmp_path, capsys):
    from eligimatch.cli import main

    p = tmp_path / "empty.elig"
    p.write_text("")
    assert main(["fmt", str(p)]) == 1
    _, err = capsys.readouterr()
    assert "the file is empty" in err and "cannot place the comments" not in err
    assert p.read_text() == ""


# ---- D17: enough digits to see why a comparison failed -------------------------------------------------------

@pytest.mark.parametrize("value,unit,shown", [(39.99999, "kg", "39.99999 kg"), (39.96, "kg", "39.96 kg"),
                                              (39999.99, "g", "39.99999 kg")])
def test_d17_evidence_shows_enough_digits(value, unit, shown):
    c = criterion("weight >= 40 kg", {"observations": [{"analyte": "weight", "value": value, "unit": unit,
                                                         "date": "2026-02-20"}]})
    note = c.evidence[0].note
    assert c.outcome.value == "false" and shown in note and "40 kg does not meet" not in note


# ---- CLI files: D14, D15, D17 (duplicate ids), D18 ------------------------------------------------------------

@pytest.fixture()
def batch(tmp_path):
    (tmp_path / "a.elig").write_text('trial "A"\ninclusion:\n  - I1: ecog <= 1\n')
    lines = [json.dumps({"id": f"p{i}", "facts": {"ecog": i % 3}}) for i in range(22)]
    (tmp_path / "p.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_d14_output_that_is_an_input_refused(batch, capsys):
    from eligimatch.cli import main

    before = (batch / "p.jsonl").read_text()
    assert main(["screen", str(batch / "p.jsonl"), str(batch / "a.elig"), "--output", str(batch / "p.jsonl")]) == 2
    assert "also an input" in capsys.readouterr().err
    assert (batch / "p.jsonl").read_text() == before
    os.link(batch / "p.jsonl", batch / "hard.jsonl")  # the same file under another name
    assert main(["screen", str(batch / "p.jsonl"), str(batch / "a.elig"), "--output", str(batch / "hard.jsonl")]) == 2
    assert main(["screen", str(batch / "p.jsonl"), str(batch / "a.elig"), "--output", str(batch / "a.elig")]) == 2
    assert (batch / "p.jsonl").read_text() == before


def test_d14_output_inside_the_folder_of_patients_refused(batch, capsys):
    from eligimatch.cli import main

    folder = batch / "patients"
    folder.mkdir()
    (folder / "p1.json").write_text('{"id": "p1", "facts": {"ecog": 0}}')
    assert main(["screen", str(folder), str(batch / "a.elig"), "--output", str(folder / "out.json")]) == 2
    assert "inside the folder" in capsys.readouterr().err


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_d18_no_partial_output_after_an_interruption(batch, monkeypatch, exc):
    from eligimatch.cli import _screen as cli  # white-box: the row sink and the line limit of `screen`
    from eligimatch.cli import main

    out = batch / "rows.jsonl"
    written = []
    real = cli._Sink.write

    def write(self, row):
        if len(written) == 5:
            raise exc("interrupted")
        written.append(row)
        real(self, row)

    monkeypatch.setattr(cli._Sink, "write", write)
    code = 130 if exc is KeyboardInterrupt else 1  # "interrupted" / "internal error", without a traceback
    assert main(["screen", str(batch / "p.jsonl"), str(batch / "a.elig"), "--output", str(out),
                     "--format", "jsonl", "--workers", "1"]) == code
    assert written and not out.exists()
    assert sorted(p.name for p in batch.iterdir()) == ["a.elig", "p.jsonl"]  # no temporary file left either
    # an earlier output is kept whole until a run finishes
    out.write_text("earlier\n")
    written.clear()
    assert main(["screen", str(batch / "p.jsonl"), str(batch / "a.elig"), "--output", str(out),
                     "--format", "jsonl", "--workers", "1"]) == code
    assert out.read_text() == "earlier\n"
    monkeypatch.setattr(cli._Sink, "write", real)
    assert main(["screen", str(batch / "p.jsonl"), str(batch / "a.elig"), "--output", str(out),
                     "--format", "jsonl", "--workers", "1"]) == 0
    assert len(out.read_text().splitlines()) == 22


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_d15_screen_refuses_a_named_pipe(batch, capsys):
    from eligimatch.cli import main

    fifo = batch / "pipe.jsonl"
    os.mkfifo(fifo)
    assert main(["screen", str(fifo), str(batch / "a.elig")]) == 2
    assert "named pipe" in capsys.readouterr().err


def test_d15_jsonl_line_over_the_limit_is_an_error_row_not_a_memory_error(batch, monkeypatch, capsys):
    from eligimatch.cli import _screen as cli  # white-box: the row sink and the line limit of `screen`
    from eligimatch.cli import main

    monkeypatch.setattr(cli, "INPUT_LIMITS", eligimatch.InputLimits(max_line_bytes=100))
    p = batch / "big.jsonl"
    p.write_text('{"id": "ok", "facts": {"ecog": 0}}\n{"id": "' + "x" * 1000 + '"}\n{"id": "ok2"}\n')
    out = batch / "rows.jsonl"
    assert main(["screen", str(p), str(batch / "a.elig"), "--output", str(out), "--format", "jsonl",
                     "--workers", "1"]) == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["verdict"] for r in rows] == ["match", "error", "unknown"]
    assert "longer than the limit" in rows[1]["error"]


def test_d17_duplicate_trial_ids_refused(batch, capsys):
    from eligimatch.cli import main

    (batch / "b.elig").write_text('trial "A"\ninclusion:\n  - I1: ecog <= 2\n')
    for cmd in (["screen", str(batch / "p.jsonl")], ["match", str(batch / "p1.json")]):
        (batch / "p1.json").write_text('{"id": "p1", "facts": {"ecog": 0}}')
        assert main([*cmd, str(batch / "a.elig"), str(batch / "b.elig")]) == 2
        err = capsys.readouterr().err
        assert "trial id 'A' is used by two files" in err and "b.elig" in err


def test_swapped_arguments_are_named(batch, capsys):
    from eligimatch.cli import main

    (batch / "p1.json").write_text('{"id": "p1"}')
    assert main(["match", str(batch / "a.elig"), str(batch / "p1.json")]) == 2
    assert "did you swap the arguments?" in capsys.readouterr().err


# ---- issue 19 frictions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("letter,full", [("F", "female"), ("M", "male"), ("f", "female")])
def test_sex_letter_is_an_unambiguous_reported_coercion(letter, full):
    p = load_patient(json.dumps({"sex": letter}))
    assert p.sex == full and p.coercions == (f"sex: {letter!r} read as {full!r}",)
    r = match(p, compile_trial("inclusion:\n  - I1: sex = female\n"), as_of=AS_OF)
    assert f"sex: {letter!r} read as {full!r}" in r.warnings
    assert "sex" in refused(json.dumps({"sex": "W"}))


def test_day_first_date_refused_with_the_iso_form():
    message = refused('{"birth_date": "25/02/1980"}')
    assert "birth_date" in message and "1980-02-25" in message
