"""Named regression tests for the input-side defects of issue 18 (soundness on messy input).

Each test's name carries the defect id of the issue (D1, D7, D10, ...); docs/reliability.md ("Defects of
issue 18") lists them with why each was possible.  Every one failed before its fix.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import threading

import pytest

import eligimatch
from eligimatch import PatientDataError, compile_trial, load_patient, match
from eligimatch.inputs import load_patient_file

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
    from eligimatch import inputs, safeio

    p = tmp_path / "p.json"
    p.write_text(json.dumps({"id": "x" * 100}))
    monkeypatch.setattr(inputs, "PATIENT_FILE_LIMIT", 50)
    with pytest.raises(PatientDataError, match="too large"):
        load_patient_file(p)
    # a file that claims a smaller size than it has (as /proc files claim 0) is still bounded
    real_stat = os.stat

    class Claims:
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, 0

    monkeypatch.setattr(safeio.Path, "stat", lambda self: Claims(real_stat(self)))
    with pytest.raises(PatientDataError, match="too large"):
        load_patient_file(p)
    assert stat.S_ISREG(real_stat(p).st_mode)
