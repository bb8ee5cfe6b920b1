"""The command line, run in-process through ``main([...])`` (and once as ``python -m eligimatch``)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eligimatch.cli import main

SRC = Path(__file__).resolve().parent.parent / "src"

T1 = '''trial "T1"
title "First"
anchors screening, apheresis
inclusion:
  - I1 "Age 18-70 years": age between 18 and 70 years
  - I2 "ANC >= 1.5x10^9/L": anc >= 1.5 x10^9/L
exclusion:
  - E1 "Pregnant or breastfeeding": pregnant or breastfeeding
  - E2 "Investigator's judgment": judgment
'''

T2 = '''trial "T2"
title "Second"
inclusion:
  - I1 "Age >= 18": age >= 18 years
  - I2 "Platelets >= 100x10^9/L": platelets >= 100 x10^9/L
'''

T3 = '''trial "T3"
inclusion:
  - I1 "Age <= 30": age <= 30 years
'''

PATIENT = {"id": "P1", "birth_date": "1961-06-30", "sex": "female",
           "facts": {"pregnant": False, "breastfeeding": False},
           "observations": [{"analyte": "anc", "value": 2100, "unit": "/uL", "date": "2026-02-20"}]}


@pytest.fixture()
def files(tmp_path):
    trials = tmp_path / "trials"
    trials.mkdir()
    for name, text in (("T1", T1), ("T2", T2), ("T3", T3)):
        (trials / f"{name}.elig").write_text(text, encoding="utf-8")
    patient = tmp_path / "p1.json"
    patient.write_text(json.dumps(PATIENT), encoding="utf-8")
    return tmp_path


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# ---- match --------------------------------------------------------------------------------------

def test_match_prints_the_report_and_a_ranked_summary(files, capsys):
    code, out, err = run(capsys, "match", files / "p1.json", files / "trials" / "T1.elig", files / "trials" / "T2.elig",
                         files / "trials" / "T3.elig", "--as-of", "2026-03-01", "--anchor", "apheresis=2026-03-10")
    assert code == 0, err
    assert "patient P1 on 2026-03-01: MATCH" in out
    assert "apheresis 2026-03-10" in out
    assert "patient P1 on 2026-03-01: 3 trials — 1 match, 1 unknown, 1 no match" in out
    assert out.index("1. MATCH") < out.index("2. UNKNOWN") < out.index("3. NO MATCH")
    assert "platelets" in out.split("next questions")[1]


def test_match_json_parses(files, capsys):
    code, out, _ = run(capsys, "match", files / "p1.json", files / "trials", "--as-of", "2026-03-01", "--json")
    assert code == 0
    data = json.loads(out)
    assert [d["trial_id"] for d in data] == ["T1", "T2", "T3"]  # the trials' order
    assert [d["verdict"] for d in data] == ["match", "unknown", "no_match"]
    assert data[0]["as_of"] == "2026-03-01"


def test_match_assume_absent(files, capsys):
    trial = files / "h.elig"
    trial.write_text('trial "H"\nexclusion:\n  - E1 "Lupus nephritis": condition lupus_nephritis\n')
    code, out, _ = run(capsys, "match", files / "p1.json", trial, "--as-of", "2026-03-01", "--json")
    assert json.loads(out)[0]["verdict"] == "unknown"
    code, out, _ = run(capsys, "match", files / "p1.json", trial, "--as-of", "2026-03-01", "--json",
                       "--assume-absent")
    assert json.loads(out)[0]["verdict"] == "match" and json.loads(out)[0]["policy"] == "assume_absent"


def test_a_criteria_error_prints_file_line_col_and_a_caret(files, capsys):
    bad = files / "bad.elig"
    bad.write_text('trial "B"\ninclusion:\n  - I1 "ECOG 0-1": ecgo <= 1\n')
    code, out, err = run(capsys, "match", files / "p1.json", bad)
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith(f"{bad}:3:20: ") and "ecgo" in lines[0]
    assert lines[1].strip() == '- I1 "ECOG 0-1": ecgo <= 1'
    assert lines[2].index("^") == lines[1].index("ecgo")
    assert "did you mean 'ecog'" in err


def test_a_syntax_error_prints_a_caret(files, capsys):
    bad = files / "bad.elig"
    bad.write_text('trial "B"\ninclusion:\n  - I1 "x": age >= \n')
    code, _, err = run(capsys, "check", bad)
    assert code == 1
    assert f"{bad}:" in err or f"{bad}:" in _
    assert "^" in err + _


def test_bad_patient_json_prints_the_field_paths(files, capsys):
    p = files / "bad.json"
    p.write_text(json.dumps({"id": "X", "birth_date": "1961-13-01",
                             "observations": [{"analyte": "anc", "value": "lots"}]}))
    code, out, err = run(capsys, "match", p, files / "trials" / "T1.elig")
    assert code == 1 and out == ""
    assert str(p) in err
    assert "birth_date:" in err and "observations.0.value:" in err


def test_patient_file_that_is_not_json(files, capsys):
    p = files / "bad.json"
    p.write_text("{nope")
    code, _, err = run(capsys, "match", p, files / "trials" / "T1.elig")
    assert code == 1 and "invalid patient data" in err


@pytest.mark.parametrize("args", [
    ["match"],
    ["match", "missing.json", "T1.elig"],
    ["frobnicate"],
    ["match", "{p}", "{t}", "--as-of", "2026-13-01"],
    ["match", "{p}", "{t}", "--anchor", "apheresis"],
    ["match", "{p}", "{t}", "--bogus"],
    ["match", "{p}", "nowhere/"],
    ["screen", "{p}", "{t}", "--workers", "0"],
    ["check", "{t}", "--ignore", "no-such-code"],
    [],
])
def test_usage_errors_exit_2(files, capsys, args):
    args = [a.format(p=files / "p1.json", t=files / "trials" / "T1.elig") for a in args]
    code, out, err = run(capsys, *args)
    assert code == 2
    assert err


@pytest.mark.parametrize("command", ["check", "match", "screen", "coverage", "fmt", None])
def test_help_shows_an_example(capsys, command):
    code, out, _ = run(capsys, *([command] if command else []), "--help")
    assert code == 0
    assert "example" in out and "eligimatch " in out


# ---- check --------------------------------------------------------------------------------------

def test_check_clean_exits_0(files, capsys):
    code, out, err = run(capsys, "check", files / "trials")
    assert code == 0, out
    assert out == "" and "checked 3 files: 0 errors, 0 findings" in err


def test_check_findings_exit_1(files, capsys):
    t = files / "lint.elig"
    t.write_text('trial "L"\ninclusion:\n  - I1 "x": age >= 75 years and age <= 70 years\n  - I2: ecog <= 1\n')
    code, out, err = run(capsys, "check", t)
    assert code == 1
    assert f"{t}:3:33: " in out and "[contradiction]" in out
    assert f"{t}:4:3: " in out and "[no-text]" in out
    assert "^" in out
    code, out, _ = run(capsys, "check", t, "--ignore", "no-text", "--ignore", "contradiction")
    assert code == 0 and out == ""


# ---- screen -------------------------------------------------------------------------------------

def _screen_inputs(files):
    folder = files / "patients"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(PATIENT))
    (folder / "b.json").write_text(json.dumps({**PATIENT, "id": "P2", "birth_date": "2000-01-01"}))
    (folder / "c.json").write_text(json.dumps({"id": "P3", "birth_date": "1961-13-01"}))
    (folder / "notes.txt").write_text("not a patient")
    return folder


def test_screen_writes_csv_and_a_summary(files, capsys):
    folder = _screen_inputs(files)
    out_file = files / "rows.csv"
    code, out, err = run(capsys, "screen", folder, files / "trials", "--as-of", "2026-03-01", "--workers", "1",
                         "--output", out_file)
    assert code == 1  # one patient could not be screened
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert [(r["patient"], r["trial"], r["verdict"]) for r in rows] == [
        ("P1", "T1", "match"), ("P1", "T2", "unknown"), ("P1", "T3", "no_match"),
        ("P2", "T1", "match"), ("P2", "T2", "unknown"), ("P2", "T3", "match"),
        ("P3", "", "error")]
    assert rows[1]["deciding"] == "I2" and rows[1]["missing"] == "1"
    assert rows[2]["deciding"] == "I1"
    assert "birth_date" in rows[-1]["error"] and rows[-1]["source"].endswith("c.json")
    assert "3 patients screened" in err
    summary = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:5]]
               for line in err.splitlines() if line.startswith("│")}
    assert summary["T1"] == ["2", "0", "0"] and summary["T2"] == ["0", "2", "0"] and summary["T3"] == ["1", "0", "1"]
    assert "1 patient could not be screened" in err


def test_screen_jsonl_in_and_out_with_a_pool(files, capsys):
    batch = files / "batch.jsonl"
    lines = [json.dumps({**PATIENT, "id": f"P{i}", "birth_date": f"{1980 + 5 * i}-01-01"}) for i in range(6)]
    lines.insert(3, "{broken")
    lines.insert(1, "")  # blank lines are skipped
    batch.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "screen", batch, files / "trials" / "T3.elig", "--format", "jsonl",
                         "--as-of", "2026-03-01", "--workers", "2", "--chunksize", "1")
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["patient"] or r["source"] for r in rows] == ["P0", "P1", "P2", f"{batch}:5", "P3", "P4", "P5"]
    ages_ok = [r["verdict"] for r in rows if r["verdict"] != "error"]
    assert ages_ok == ["no_match", "no_match", "no_match", "no_match", "match", "match"]
    assert rows[3]["verdict"] == "error" and rows[3]["errors"][0]["path"] == "(document)"


def test_screen_records_one_json_line_per_patient_with_the_deciding_evidence(files, capsys):
    folder = _screen_inputs(files)
    code, out, err = run(capsys, "screen", folder, files / "trials", "--format", "records", "--as-of", "2026-03-01",
                         "--workers", "2", "--chunksize", "1")
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["kind"] for r in records] == ["result", "result", "error"]
    first = {r["trial_id"]: r for r in records[0]["results"]}
    assert [r["trial_id"] for r in records[0]["results"]] == ["T1", "T2", "T3"]  # ranked: match, unknown, no match
    assert first["T3"]["verdict"] == "no_match" and [c["id"] for c in first["T3"]["criteria"]] == ["I1"]
    assert first["T3"]["criteria"][0]["evidence"]
    assert [c["id"] for c in first["T2"]["criteria"]] == ["I2"] and first["T2"]["missing"]
    assert first["T1"]["verdict"] == "match" and first["T1"]["criteria"]
    assert records[0]["questions"] and "birth_date" in records[2]["message"]
    assert "3 patients screened" in err


def test_screen_stdout_csv_default(files, capsys):
    code, out, err = run(capsys, "screen", files / "p1.json", files / "trials" / "T1.elig", "--as-of", "2026-03-01",
                         "--workers", "1")
    assert code == 0
    assert out.splitlines()[0] == "patient,source,trial,verdict,rank,deciding,missing,matched_cohorts,error"
    assert out.splitlines()[1].startswith("P1,")


# ---- coverage -----------------------------------------------------------------------------------

def test_coverage_table_and_json(files, capsys):
    code, out, _ = run(capsys, "coverage", files / "trials" / "T1.elig")
    assert code == 0
    assert "T1: 4 criteria, 3 computable (75%), 1 judgment only" in out
    code, out, _ = run(capsys, "coverage", files / "trials", "--json")
    data = json.loads(out)
    assert [d["trial_id"] for d in data] == ["T1", "T2", "T3"]
    assert data[0]["judgment"] == 1 and data[0]["needs"]["anc"] == 1


# ---- fmt ----------------------------------------------------------------------------------------

MESSY = '''# a comment that must survive
trial "F"   # the id
inclusion:
  - I1 "Age":   age   between 18 and   70 years    # inclusive
  - I2 "ANC": anc>=1.5 x10^9/L
'''


def test_fmt_check_then_fmt_then_check(files, capsys):
    t = files / "f.elig"
    t.write_text(MESSY)
    code, out, err = run(capsys, "fmt", "--check", t)
    assert code == 1
    assert out.startswith(f"--- {t} (now)") and "+      anc >= 1.5 x10^9/L" in out
    assert t.read_text() == MESSY  # --check changes nothing
    code, _, err = run(capsys, "fmt", t)
    assert code == 0 and f"reformatted {t}" in err
    text = t.read_text()
    assert "# a comment that must survive" in text and "# the id" in text and "# inclusive" in text
    code, out, _ = run(capsys, "fmt", "--check", t)
    assert code == 0 and out == ""


def test_fmt_refuses_a_file_that_does_not_parse(files, capsys):
    t = files / "f.elig"
    t.write_text('trial "F"\ninclusion:\n  - I1 "x": age >=\n')
    code, _, err = run(capsys, "fmt", t)
    assert code == 1 and f"{t}:" in err and "^" in err
    assert t.read_text() == 'trial "F"\ninclusion:\n  - I1 "x": age >=\n'


# ---- as a program ---------------------------------------------------------------------------------

def test_python_dash_m_eligimatch_reports_errors_without_traceback(files):
    bad = files / "bad.elig"
    bad.write_text('trial "B"\ninclusion:\n  - I1 "ECOG 0-1": ecgo <= 1\n')
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "eligimatch", "check", str(bad)], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 1
    assert f"{bad}:3:20:" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    proc = subprocess.run([sys.executable, "-m", "eligimatch", "match", str(files / "p1.json"),
                           str(files / "trials"), "--as-of", "2026-03-01"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "3 trials — 1 match, 1 unknown, 1 no match" in proc.stdout
