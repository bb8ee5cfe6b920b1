"""Bad values in patient data that validation refuses, with the field's path (docs/reliability.md).

Values that validate but cannot be compared (a negative count, a percentage of 400,
platelets in mg/dL, a date after the evaluation date...) become UNKNOWN with cause
"invalid": they are conformance cases in tests/conformance/bad_values.toml.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

import eligimatch
from eligimatch import PatientDataError, load_patient

OBS = {"analyte": "anc", "value": 1.5, "unit": "10^9/L", "date": "2026-02-20"}


def _with(path: str, value, base: dict | None = None) -> dict:
    doc = json.loads(json.dumps(base or {
        "birth_date": "1970-01-01",
        "facts": {"ecog": 1},
        "observations": [dict(OBS, reference_range={"low": 1, "high": 2})],
        "conditions": [{"name": "stroke", "onset": "2020-01-01", "attributes": {"grade": 2}}],
        "therapies": [{"drug": "prednisone", "start": "2026-01-01", "dose": {"value": 5, "unit": "mg", "per_day": 1}}],
        "procedures": [{"name": "major_surgery", "date": "2025-01-01"}],
        "anchors": {"screening": "2026-03-01"},
        "complete": {"conditions": False},
    }))
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = doc
    for p in parents:
        node = node[p]
    node[last] = value
    return doc


REFUSED = [
    # path, bad value, what the message must say
    ("observations.0.value", math.nan, "finite"),
    ("observations.0.value", math.inf, "finite"),
    ("observations.0.value", -math.inf, "finite"),
    ("observations.0.value", True, "not true/false"),
    ("observations.0.value", "1.5 x10^9/L", "number"),
    ("observations.0.reference_range.high", math.nan, "finite"),
    ("observations.0.reference_range.low", 5, "above high"),
    ("observations.0.date", "2026-02-20T10:00:00+02:00", "not a timestamp"),
    ("observations.0.date", dt.datetime(2026, 2, 20, 10, tzinfo=dt.timezone.utc), "timezone"),
    ("observations.0.date", "2026-02-30", "date"),
    ("facts.ecog", math.nan, "finite"),
    ("facts.ecog", math.inf, "finite"),
    ("facts.ecog", {"value": math.nan}, "finite"),
    ("facts.ecog", [1], "true/false, a number or a text"),
    ("facts.ecog", {"value": 1, "date": "2026-01-01T00:00:00Z"}, "date"),
    ("conditions.0.attributes.grade", math.nan, "finite"),
    ("conditions.0.onset", "2026-01-01T10:00:00Z", "date"),
    ("conditions.0.end", "2019-01-01", "before onset"),
    ("conditions.0.onset", "0000-01-01", "year 0000"),
    ("therapies.0.end", "2025-12-31", "before start"),
    ("therapies.0.dose.value", -5, "greater than or equal to 0"),
    ("therapies.0.dose.value", math.nan, "finite"),
    ("therapies.0.dose.value", False, "not true/false"),
    ("therapies.0.dose.per_day", 0, "greater than 0"),
    ("procedures.0.date", "2025-13-01", "month 13"),
    ("birth_date", "1970-01-01T00:00:00+01:00", "not a timestamp"),
    ("birth_date", "1970-01-01T00:00:00", "not a timestamp"),
    ("birth_date", dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), "not a timestamp"),
    ("anchors.screening", "2026-03-01T00:00:00Z", "not a timestamp"),
    ("anchors.screening", dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), "not a timestamp"),
    ("sex", "unknown", "male"),
    ("complete.conditions", "yes please", "boolean"),
    ("colour", "blue", "Extra inputs"),
]


@pytest.mark.parametrize("path,value,says", REFUSED, ids=[f"{p}={v!r}"[:60] for p, v, _ in REFUSED])
def test_refused_with_the_field_path(path, value, says):
    doc = _with(path, value)
    with pytest.raises(PatientDataError) as info:
        load_patient(doc)
    exc = info.value
    paths = [e["path"] for e in exc.errors]
    # the field itself, a field inside it (facts.ecog.value), or the record whose fields disagree
    # (conditions.0: end before onset; observations.0.reference_range: low above high)
    assert any(p.startswith(path) or path.startswith(p + ".") for p in paths), (paths, str(exc))
    assert says in str(exc), str(exc)
    for e in exc.errors:
        assert f"{e['path']}: " in str(exc)
    try:  # the same document as JSON text (NaN and Infinity are not JSON: refused as such or by value)
        text = json.dumps(doc, default=str)
    except ValueError:
        return
    with pytest.raises(PatientDataError):
        load_patient(text)


def test_an_ongoing_therapy_cannot_have_an_end():
    doc = _with("therapies.0", {"drug": "prednisone", "start": "2026-01-01", "end": "2026-02-01", "ongoing": True})
    with pytest.raises(PatientDataError, match="therapies.0: .*ongoing"):
        load_patient(doc)


def test_one_line_per_field_not_per_union_alternative():
    """Regression (found by test_patient_documents_validate_or_name_the_field): a bad fact gave one line per
    alternative of the union, under paths such as facts.karnofsky.Fact.value.float."""
    with pytest.raises(PatientDataError) as info:
        load_patient('{"facts": {"karnofsky": {"value": NaN}}}')
    assert str(info.value).splitlines()[1:] == ["  facts.karnofsky.value: Input should be a finite number"]
    with pytest.raises(PatientDataError) as info:
        load_patient('{"facts": {"int": NaN}}')  # a fact whose name is a union tag keeps its name
    assert [e["path"] for e in info.value.errors] == ["facts.int"]


def test_invalid_json_and_wrong_documents():
    for text in ["", "garbage", "[]", "null", '{"id": "\\ud800"', "[" * 100_000 + "]" * 100_000, b"\xff\xfe"]:
        with pytest.raises(PatientDataError):
            load_patient(text)


def test_extreme_values_that_are_valid_still_give_a_result():
    doc = {
        "birth_date": "0001-01-01",
        "facts": {"ecog": 1e300, "karnofsky": -1e300, "life_expectancy": {"value": 1e300, "unit": "year"}},
        "observations": [
            {"analyte": "anc", "value": 1e308, "unit": "/uL", "date": "0001-01-01"},
            {"analyte": "platelets", "value": 5e-324, "unit": "G/L", "date": "9999-12-31"},
            {"analyte": "creatinine", "value": 0, "unit": "mg/dL", "date": "2026-02-01"},
            {"analyte": "weight", "value": 1e308, "unit": "lb", "date": "2026-02-01"},
        ],
        "therapies": [{"drug": "prednisone", "start": "0001-01-01", "ongoing": True,
                       "dose": {"value": 1e308, "unit": "g", "per_day": 1e308}}],
        "anchors": {"screening": "9999-12-31", "apheresis": "0001-01-01"},
    }
    patient = load_patient(doc)
    trial = eligimatch.compile_trial(
        "inclusion:\n"
        "  - A: age between 18 and 70 years\n"
        "  - B: anc >= 1.5 x10^9/L and platelets >= 75 x10^9/L within 14 days before screening\n"
        "  - C: crcl by cockcroft_gault > 50 mL/min and egfr by ckd_epi_2021 > 30 [mL/min/1.73 m2]\n"
        "  - D: ecog <= 1 or karnofsky >= 70 or life_expectancy > 3 months\n"
        "  - E: daily dose of corticosteroid as prednisone < 10 mg/day within 7 days before apheresis\n"
        "  - F: ratio(anc, platelets) > 3\n")
    for as_of in (dt.date(1, 1, 1), dt.date(2026, 3, 1), dt.date(9999, 12, 31)):
        result = eligimatch.match(patient, trial, as_of=as_of)
        assert result.verdict != eligimatch.Verdict.MATCH
        result.model_dump_json()
        result.explain()
