"""`eligimatch serve`: the JSON API end to end over HTTP (uvicorn + httpx), the CTMS contract, test.js."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx", reason="the service tests need httpx (the test extra)")
uvicorn = pytest.importorskip("uvicorn", reason="the service tests need uvicorn (the serve extra)")
pytest.importorskip("fastapi", reason="the service tests need fastapi (the serve extra)")

import eligimatch  # noqa: E402
from eligimatch.service import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CTMS = Path(os.environ.get("ELIGIMATCH_SHARED", ROOT.parent / "shared")) / "contracts" / "ctms"
PREFIX = "/eligimatch"
AS_OF = "2026-03-01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving an app in a thread, on a free port."""

    def __init__(self, app):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def trials():
    return [eligimatch.load_trial(p) for p in sorted((EXAMPLES / "trials").glob("*.elig"))]


@pytest.fixture(scope="module")
def client(trials):
    app = create_app(trials, prefix=PREFIX, patients_dir=EXAMPLES / "patients", max_body=2_000_000)
    with Server(app) as base, httpx.Client(base_url=base + PREFIX, timeout=60) as c:
        yield c


def patient(name: str) -> dict:
    return json.loads((EXAMPLES / "patients" / name).read_text())


# ---- the JSON API --------------------------------------------------------------------------------

def test_trials_and_one_trial(client):
    r = client.get("/trials")
    assert r.status_code == 200
    ids = [t["id"] for t in r.json()]
    assert ids == ["CT1192-SLE", "NCT03754764", "NCT05621486", "NCT06350110", "NCT07301164"]
    one = client.get("/trials/NCT05621486").json()
    assert one["defining"] == ["I5a", "I5b"] and one["diseases"] == ["solid_tumor"]
    i5a = next(c for c in one["criteria"] if c["id"] == "I5a")
    assert i5a["defining"] and "condition solid_tumor" in i5a["expression"] and i5a["text"]
    assert one["coverage"]["total"] == len(one["criteria"])
    missing = client.get("/trials/NCT0000")
    assert missing.status_code == 404 and "no trial 'NCT0000'" in missing.json()["error"]


def test_match_returns_ranked_results_with_evidence_ranking_and_plan(client):
    r = client.post("/match", json={"patient": patient("breast-cancer-screening.json"), "as_of": AS_OF})
    assert r.status_code == 200, r.text
    data = r.json()
    assert [x["trial_id"] for x in data["results"]][0] == "NCT05621486"
    assert [x["tier"] for x in data["ranking"]][:3] == ["possible", "unlikely", "unlikely"]
    assert 0 < len(data["plan"]) <= 10 and data["plan"][0]["trials"]
    i5a = next(c for c in data["results"][0]["criteria"] if c["id"] == "I5a")
    assert i5a["met"] is True and i5a["evidence"][0]["date"] == "2023-09-12"
    assert data["patient"]["id"] == "BC-SCREEN-01"


def test_screen_takes_a_fhir_bundle_and_keeps_the_deciding_criteria(client):
    bundle = json.loads((EXAMPLES / "fhir" / "breast-cancer-screening.json").read_text())
    r = client.post("/screen", json={"patient": bundle, "as_of": AS_OF, "questions": 3})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["results"][0]["trial_id"] == "NCT05621486"
    assert len(data["plan"]) == 3
    assert data["fhir"]["counts"]["mapped"] > 0
    no_match = next(x for x in data["results"] if x["verdict"] == "no_match")
    assert {c["id"] for c in no_match["criteria"]} <= set(no_match["deciding"]) | {"cohort"}


def test_recording_a_decision_through_the_api_makes_the_match_final(client):
    doc = patient("nct07301164-sle-match.json")
    body = {"patient": doc, "as_of": AS_OF, "trials": ["NCT07301164"]}
    first = client.post("/match", json=body).json()
    assert first["ranking"][0]["tier"] == "eligible_pending_review"
    record = None
    for cid in first["results"][0]["review"]:
        r = client.post("/decide", json={**body, "record": record, "trial": "NCT07301164", "criterion": cid,
                                         "met": True, "by": "dr-lee", "note": "seen at the visit"})
        assert r.status_code == 200, r.text
        record = r.json()["record"]
    after = client.post("/match", json={**body, "record": record}).json()
    assert after["ranking"][0]["tier"] == "eligible" and after["ranking"][0]["score"] == 1.0
    assert after["results"][0]["review"] == []
    refused = client.post("/decide", json={**body, "trial": "NCT07301164", "criterion": "I2b", "met": True,
                                           "by": "dr-lee"})
    assert refused.status_code == 409 and "nothing for the investigator to decide" in refused.json()["error"]


@pytest.mark.parametrize("body, status, text, path", [
    ({"patient": {"id": 1}}, 422, "invalid patient data", "id"),
    ({"patient": {"id": "p", "birth_date": "1970-13-01"}}, 422, "invalid patient data", "birth_date"),
    ({}, 422, "the request is not valid", "patient"),
    ({"patient": {"id": "p"}, "trials": ["NOPE"]}, 404, "no trial 'NOPE'", None),
    ({"patient": {"resourceType": "Patient"}}, 422, "a FHIR patient must be a Bundle", None),
    ({"patient": {"id": "p"}, "questions": -1}, 422, "the request is not valid", "questions"),
])
def test_errors_are_structured(client, body, status, text, path):
    r = client.post("/match", json=body)
    assert r.status_code == status
    data = r.json()
    assert text in data["error"]
    if path is not None:
        assert any(e["path"] == path for e in data["errors"]), data


def test_malformed_json_and_oversized_bodies_are_refused(client):
    r = client.post("/match", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()
    big = b'{"patient": {"id": "' + b"x" * 2_100_000 + b'"}}'
    r = client.post("/match", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than the limit of 2000000 bytes" in r.json()["error"]

    def chunks():  # no Content-Length: the limit holds for a streamed body too
        for _ in range(30):
            yield b" " * 100_000

    r = client.post("/match", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get("/nowhere").json() == {"error": "no such route"}


def test_openapi_documentation(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/match", "/screen", "/decide", "/trials", "/trials/{trial_id}", "/getClinicalTrial"):
        assert PREFIX + path in spec["paths"], path


# ---- the matching-service contract -----------------------------------------------------------------

def ctms_bundle(resources: list[dict], **params: str) -> dict:
    entry = [{"resource": {"resourceType": "Parameters", "id": "0",
                           "parameter": [{"name": k, "valueString": v} for k, v in params.items()]}}]
    return {"resourceType": "Bundle", "type": "collection", "entry": entry + [{"resource": r} for r in resources]}


def test_ctms_hello_is_exact(client):
    root = str(client.base_url).rstrip("/")
    for url in (root, root + "/"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 200 and r.text == "Hello from the Clinical Trial Matching Service", url
    # outside the prefix, the server's root leads to the page
    r = client.get(root.removesuffix(PREFIX) + "/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == PREFIX + "/ui/"


def test_ctms_get_clinical_trial_answers_a_searchset_of_research_studies(client):
    bundle = json.loads((EXAMPLES / "fhir" / "breast-cancer-screening.json").read_text())
    bundle["entry"].insert(0, ctms_bundle([], zipCode="67446", travelRadius="1500")["entry"][0])
    r = client.post("/getClinicalTrial", json=bundle)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["resourceType"] == "Bundle" and data["type"] == "searchset"
    assert data["total"] == len(data["entry"]) == 3  # the two trials the patient is excluded from are left out
    first = data["entry"][0]
    assert first["search"]["mode"] == "match"
    assert first["resource"]["id"] == "NCT05621486"
    assert first["resource"]["identifier"] == [{"system": "http://clinicaltrials.gov", "value": "NCT05621486"}]
    scores = [e["search"]["score"] for e in data["entry"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert 0.01 <= scores[0] < 0.75  # "Possible" in the app: an UNKNOWN is never "High-likelihood"
    assert "possible" in first["resource"]["description"]
    assert first["resource"]["condition"][0]["text"] == "Solid tumor"
    assert first["resource"]["enrollment"][0]["display"].startswith("Eligibility criteria: inclusion I1")
    fhir = pytest.importorskip("fhir.resources.R4B.bundle", reason="FHIR validation needs fhir.resources")
    fhir.Bundle.model_validate(data)  # a valid FHIR Bundle of valid ResearchStudy resources


def test_ctms_errors(client):
    r = client.post("/getClinicalTrial", json={"resourceType": "Patient"})
    assert r.status_code == 400 and r.json() == {"error": "Invalid patientBundle"}
    r = client.post("/getClinicalTrial", content=b"[", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()
    bad = ctms_bundle([{"resourceType": "Patient", "id": "x", "birthDate": "not a date"}])
    r = client.post("/getClinicalTrial", json=bad)
    assert 400 <= r.status_code < 500 and isinstance(r.json()["error"], str)


def test_ctms_recruitment_status_other_than_active_leaves_no_trial(client):
    r = client.post("/getClinicalTrial", json=ctms_bundle([{"resourceType": "Patient", "id": "p"}],
                                                          recruitmentStatus="closed-to-accrual"))
    assert r.status_code == 200 and r.json()["total"] == 0 and r.json()["entry"] == []


def _port_80_free() -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", 80))
            return True
        except OSError:
            return False


def test_the_matching_apps_own_smoke_test_passes(tmp_path):
    """shared/contracts/ctms/test.js against `eligimatch serve --prefix /eligimatch` on 127.0.0.1:80.

    test.js sends its requests to port 80 whatever --port says, so the service runs there (as root).
    """
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the matching app's test.js cannot run")
    if not (CTMS / "test.js").is_file():
        pytest.skip(f"the CTMS contract folder is absent ({CTMS}); set ELIGIMATCH_SHARED to the shared folder")
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        pytest.skip("test.js posts to port 80, which only root may serve on")
    deadline = time.monotonic() + 60
    while not _port_80_free():
        if time.monotonic() > deadline:
            pytest.fail("port 80 on 127.0.0.1 stays busy: test.js needs it")
        time.sleep(1)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen([sys.executable, "-m", "eligimatch", "serve", str(EXAMPLES / "trials"),
                               "--host", "127.0.0.1", "--port", "80", "--prefix", PREFIX],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get("http://127.0.0.1:80" + PREFIX, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                out = server.stdout.read().decode() if server.stdout else ""
                pytest.fail(f"eligimatch serve did not start on port 80:\n{out}")
            time.sleep(0.2)
        run = subprocess.run([node, str(CTMS / "test.js"), "--hostname", "127.0.0.1", "--wrappers", "eligimatch"],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(run.stdout)
    assert "FAILED" not in run.stdout and "OK?" not in run.stdout, run.stdout + run.stderr
    assert "Ran 2 tests, 2 succeeded (100%)." in run.stdout, run.stdout + run.stderr
    assert run.stdout.count(" OK\n") == 3  # the front page, the hello, the search


def test_eligimatch_serve_from_the_command_line(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen([sys.executable, "-m", "eligimatch", "serve", str(EXAMPLES / "trials"),
                               "--port", str(port), "--prefix", "/x/", "--as-of", AS_OF, "--max-body", "1000"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/x/trials", timeout=2)
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("eligimatch serve did not start: " + server.stderr.read().decode())
                time.sleep(0.2)
        assert r.status_code == 200 and len(r.json()) == 5
        big = httpx.post(f"http://127.0.0.1:{port}/x/match", json={"patient": {"id": "p" * 2000}})
        assert big.status_code == 413
        ok = httpx.post(f"http://127.0.0.1:{port}/x/screen", json={"patient": {"id": "p"}}, timeout=30)
        assert ok.status_code == 200 and ok.json()["as_of"] == AS_OF  # --as-of fixes the evaluation date
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    assert f"serving 5 trials on http://127.0.0.1:{port}/x/" in err.decode()


def test_serve_without_the_extra_or_with_duplicate_trials_says_why(tmp_path, capsys):
    from eligimatch.cli import main
    from eligimatch.errors import EligimatchError

    t = eligimatch.load_trial(EXAMPLES / "trials" / "NCT05621486.elig")
    with pytest.raises(EligimatchError, match="two trials have the id 'NCT05621486'"):
        create_app([t, t])
    assert main(["serve", str(EXAMPLES / "trials"), "--port", "0"]) == 2
    assert "expected a port number" in capsys.readouterr().err
