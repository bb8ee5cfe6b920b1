"""The published JSON Schemas: shipped equal to what the models generate, and true of the examples."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest

import eligimatch
from eligimatch.cli import main
from eligimatch.language import coverage
from eligimatch.engine import REASON_DESCRIPTIONS, ReasonCode
from eligimatch import SCHEMA_NAMES, SCHEMA_VERSION, schema_text
from eligimatch import generate_schema as generate
from eligimatch import render_schema as render

jsonschema = pytest.importorskip("jsonschema", reason="the test extra installs jsonschema")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PATIENTS = sorted((EXAMPLES / "patients").glob("*.json"))
TRIALS = sorted((EXAMPLES / "trials").glob("*.elig"))


def _validator(name: str):
    schema = json.loads(schema_text(name))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_shipped_schema_is_the_generated_one(name):
    # after changing a model: python -m eligimatch._schemas (PYTHONPATH=src) rewrites the shipped files
    assert schema_text(name) == render(name), f"{name}.schema.json is stale: run `python -m eligimatch._schemas`"
    assert json.loads(schema_text(name))["x-schema-version"] == SCHEMA_VERSION


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_cli_prints_the_schema(name, capsys):
    assert main(["schema", name]) == 0
    assert json.loads(capsys.readouterr().out) == generate(name)


def test_cli_refuses_an_unknown_schema(capsys):
    assert main(["schema", "patients"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_every_example_patient_validates():
    assert len(PATIENTS) >= 20
    validator = _validator("patient")
    for path in PATIENTS:
        errors = sorted(validator.iter_errors(json.loads(path.read_text())), key=str)
        assert not errors, f"{path.name}: {errors[0].json_path}: {errors[0].message}"


def test_patient_schema_refuses_what_the_model_refuses():
    validator = _validator("patient")
    for bad in ({"sex": "unknown-word"}, {"unexpected": 1}, {"schema_version": "2"},
                {"observations": [{"analyte": "anc"}]}):
        assert list(validator.iter_errors(bad)), bad
        with pytest.raises(eligimatch.PatientDataError):
            eligimatch.load_patient(bad)
    assert eligimatch.load_patient({"schema_version": "1", "id": "x"}).id == "x"


def test_every_example_result_validates_and_its_codes_are_documented():
    validator = _validator("result")
    trials = [eligimatch.load_trial(p) for p in TRIALS]
    seen: set[str] = set()
    for path in PATIENTS:
        patient = eligimatch.load_patient(path.read_text())
        for trial in trials:
            result = eligimatch.match(patient, trial, as_of=dt.date(2026, 3, 1))
            doc = json.loads(result.model_dump_json())
            assert doc["schema_version"] == SCHEMA_VERSION
            errors = list(validator.iter_errors(doc))
            assert not errors, f"{path.name} x {trial.id}: {errors[0].json_path}: {errors[0].message}"
            seen.update(e["code"] for c in doc["criteria"] for e in c["evidence"])
    assert seen <= {c.value for c in ReasonCode}
    assert len(seen) >= 8  # the examples exercise a good part of the codes


def test_a_wrong_reason_code_is_refused_by_the_result_schema():
    validator = _validator("result")
    trial = eligimatch.load_trial(TRIALS[0])
    doc = json.loads(eligimatch.match(eligimatch.load_patient(PATIENTS[0].read_text()), trial,
                                      as_of=dt.date(2026, 3, 1)).model_dump_json())
    evidence = next(e for c in doc["criteria"] for e in c["evidence"])
    evidence["code"] = "made_up_code"
    assert list(validator.iter_errors(doc))


def test_every_example_trial_summary_validates():
    validator = _validator("trial")
    for path in TRIALS:
        doc = json.loads(coverage(eligimatch.load_trial(path)).model_dump_json())
        errors = list(validator.iter_errors(doc))
        assert not errors, f"{path.name}: {errors[0].json_path}: {errors[0].message}"


def test_a_screening_record_validates():
    validator = _validator("record")
    record = eligimatch.ScreeningRecord(
        patient_id="p1",
        answers=(eligimatch.Answer(fact="ecog", value=1, by="rc", when=dt.date(2026, 3, 1)),),
    )
    doc = json.loads(record.model_dump_json(exclude_none=True))
    assert not list(validator.iter_errors(doc))
    doc["answers"][0]["by"] = 3
    assert list(validator.iter_errors(doc))


def _codes_in_source() -> set[str]:
    """Every literal reason code the evaluator can write (the second argument of ``ev``, or ``code=``)."""
    found: set[str] = set()
    for path in (ROOT / "src" / "eligimatch").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_RECORD_CODE"
                                                    for t in node.targets):
                found.update(c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant))
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name not in ("ev", "make_evidence", "Evidence"):
                continue
            args = [node.args[1]] if len(node.args) >= 2 else []
            args += [k.value for k in node.keywords if k.arg == "code"]
            for a in args:
                found.update(c.value for c in ast.walk(a) if isinstance(c, ast.Constant)
                             and isinstance(c.value, str))
    return found


def test_every_reason_code_the_source_writes_is_documented():
    codes = _codes_in_source()
    assert codes, "the scan found no reason codes: the evaluator's helpers were renamed"
    undocumented = codes - {c.value for c in ReasonCode}
    assert not undocumented, f"add these to eligimatch.ReasonCode: {sorted(undocumented)}"
    assert set(REASON_DESCRIPTIONS) == set(ReasonCode)
    assert all(d.strip() for d in REASON_DESCRIPTIONS.values())
