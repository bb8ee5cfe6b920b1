"""``eligimatch serve``: the matching service (FastAPI), its JSON API, the CTMS contract and the page.

Routes, under an optional path prefix (``--prefix /eligimatch``):

* ``POST /match`` -- one patient (an eligimatch document or a FHIR Bundle), every trial or those named:
  the full results (every criterion with its evidence), the ranking and the question plan;
* ``POST /screen`` -- the same, with only the criteria that decided each verdict;
* ``POST /decide`` -- record an investigator's decision: returns the screening record with it;
* ``GET /trials``, ``GET /trials/{id}`` -- the trials served, their criteria and coverage;
* ``GET /patients``, ``GET /patients/{name}`` -- example patients to pick from (``--patients DIR``);
* ``GET /`` (the prefix itself) and ``POST /getClinicalTrial`` -- the matching-service contract
  (:mod:`.ctms`);
* ``GET /ui/`` -- the coordinators' page; ``GET /docs`` -- the OpenAPI documentation.

Every error is JSON: ``{"error": "what went wrong", "errors": [{"path": ..., "message": ...}]}`` with a 4xx
status (5xx for a bug); a body larger than the limit (default 5 MB) is refused with 413 before it is read
whole.
"""

from __future__ import annotations

import datetime as _dt
import json
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from eligimatch.errors import DecisionError, EligimatchError, PatientDataError
from eligimatch.errors import ApiError  # noqa: F401  (defined in errors.py)
from eligimatch.engine._evaluate import Policy
from eligimatch.sources._patient import Patient, load_patient
from eligimatch.screening._results import ScreenResult
from eligimatch.screening._screen import screen, trial_label
from eligimatch.screening._decisions import Decision, ScreeningRecord, decide
from eligimatch.screening._disease import disease_profile
from eligimatch.engine._trial import CompiledTrial
from eligimatch.service import ctms

__all__ = ["create_app", "DEFAULT_MAX_BODY"]

DEFAULT_MAX_BODY = 5_000_000  # bytes


def _error(status: int, message: str, errors: Sequence[dict[str, str]] = ()) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status)


class _BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes (413), declared or streamed."""

    def __init__(self, app: Any, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await self._refuse(scope, receive, send)
                    return
        # read the body here, at most `limit` bytes of it, then hand it to the app: a streamed body (no
        # Content-Length) is held to the same limit, and the app never sees a partial one
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _message(self) -> str:
        return f"the request body is larger than the limit of {self.limit} bytes"

    async def _refuse(self, scope: Any, receive: Any, send: Any) -> None:
        await _error(413, self._message())(scope, receive, send)


# ---- request models -------------------------------------------------------------------------------

class PatientRequest(BaseModel):
    patient: dict[str, Any] = Field(description="An eligimatch patient document, or a FHIR R4 Bundle.")
    trials: list[str] | None = Field(default=None, description="Trial ids (default: every trial served).")
    as_of: _dt.date | None = Field(default=None, description="Evaluation date (default: the service's).")
    anchors: dict[str, _dt.date] = Field(default_factory=dict, description="Dates of named anchors.")
    assume_absent: bool = Field(default=False, description="Count an unrecorded history as absent.")
    record: ScreeningRecord | None = Field(default=None, description="Answers and investigator decisions.")
    questions: int = Field(default=10, ge=0, le=100, description="How many questions the plan keeps.")


class DecideRequest(PatientRequest):
    trial: str = Field(description="The trial's id.")
    criterion: str = Field(description="The criterion's id.")
    met: bool = Field(description="Met (for an exclusion: not excluded) or not.")
    by: str = Field(min_length=1, description="Who decides.")
    when: _dt.date | None = Field(default=None, description="When (default: the evaluation date).")
    note: str | None = None


class DecideResponse(BaseModel):
    decision: Decision
    record: ScreeningRecord


class TrialSummary(BaseModel):
    id: str
    title: str | None
    criteria: int
    cohorts: list[str]
    diseases: list[str]
    defining: list[str]


# ---- the app --------------------------------------------------------------------------------------

def _field_errors(exc: Exception) -> list[dict[str, str]]:
    out = []
    for e in getattr(exc, "errors", None) or ():
        if isinstance(e, dict):
            path = e.get("path") or ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "(document)"
            out.append({"path": str(path), "message": str(e.get("msg", ""))})
    return out


def read_patient(doc: Any, catalogs: Any = None) -> tuple[Patient, dict[str, Any] | None]:
    """An eligimatch document or a FHIR Bundle -> the profile (and, for FHIR, the mapping counts and lines)."""
    if not isinstance(doc, dict):
        raise ApiError(422, "the patient must be a JSON object (an eligimatch document or a FHIR Bundle)")
    if "resourceType" in doc:
        if doc.get("resourceType") != "Bundle":
            raise ApiError(422, f"a FHIR patient must be a Bundle, not a {doc.get('resourceType')!r}")
        from eligimatch.sources.fhir._bundle import patient_from_bundle

        imp = patient_from_bundle(ctms.patient_resources(doc), catalogs=catalogs)
        report = {"counts": imp.report.counts(),
                  "not_mapped": [line.render() for line in imp.report.not_mapped][:50],
                  "notes": [line.render() for line in imp.report.notes][:50]}
        return imp.patient, report
    return load_patient(doc), None


def create_app(trials: Sequence[CompiledTrial], *, prefix: str = "", patients_dir: Path | None = None,
               max_body: int = DEFAULT_MAX_BODY, as_of: _dt.date | None = None) -> Any:
    """The FastAPI application serving ``trials`` (see the module's documentation)."""
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    by_id: dict[str, CompiledTrial] = {}
    for t in trials:
        label = trial_label(t)
        if label in by_id:
            raise EligimatchError(f"two trials have the id {label!r}; the service needs one trial per id")
        by_id[label] = t
    app = FastAPI(title="eligimatch", version=_version(),
                  description="Decide whether a patient can enter a clinical trial, and explain why.",
                  docs_url=prefix + "/docs", openapi_url=prefix + "/openapi.json", redoc_url=None)
    api = APIRouter(prefix=prefix)

    def today() -> _dt.date:
        return as_of or _dt.date.today()

    def chosen(ids: list[str] | None) -> list[CompiledTrial]:
        if ids is None:
            return list(by_id.values())
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise ApiError(404, f"no trial {missing[0]!r}; the trials served are {', '.join(by_id)}")
        return [by_id[i] for i in dict.fromkeys(ids)]

    def run(req: PatientRequest, with_criteria: bool | str) -> dict[str, Any]:
        patient, report = read_patient(req.patient)
        ts = chosen(req.trials)
        result: ScreenResult = screen(patient, ts, as_of=req.as_of or today(), anchors=req.anchors,
                                      policy=Policy(assume_absent=True) if req.assume_absent else None,
                                      decisions=req.record, questions=req.questions)
        if with_criteria == "deciding":
            from eligimatch.screening._screen import _deciding_only

            result = result.model_copy(update={"results": tuple(_deciding_only(r) for r in result.results)})
        out = json.loads(result.model_dump_json())
        out["patient"] = {"id": patient.id, "profile": json.loads(patient.model_dump_json(exclude_none=True))}
        if report is not None:
            out["fhir"] = report
        return out

    @api.post("/match", summary="One patient against the trials: every criterion with its evidence")
    def post_match(req: PatientRequest) -> JSONResponse:
        return JSONResponse(run(req, True))

    @api.post("/screen", summary="One patient against the trials: ranking, question plan, deciding criteria")
    def post_screen(req: PatientRequest) -> JSONResponse:
        return JSONResponse(run(req, "deciding"))

    @api.post("/decide", summary="Record an investigator's decision on a judgment criterion",
              response_model=DecideResponse)
    def post_decide(req: DecideRequest) -> DecideResponse:
        patient, _ = read_patient(req.patient)
        trial = chosen([req.trial])[0]
        day = req.as_of or today()
        d = decide(patient, trial, req.criterion, req.met, by=req.by, when=req.when or day, note=req.note,
                   record=req.record, as_of=day, anchors=req.anchors)
        rec = (req.record or ScreeningRecord(patient_id=patient.id)).with_decision(d)
        return DecideResponse(decision=d, record=rec)

    @api.get("/trials", summary="The trials served", response_model=list[TrialSummary])
    def get_trials() -> list[TrialSummary]:
        out = []
        for tid, t in by_id.items():
            prof = disease_profile(t)
            out.append(TrialSummary(id=tid, title=t.title, criteria=len(t.all_criteria()),
                                    cohorts=[c[0] for c in t.cohorts], diseases=list(prof.diseases),
                                    defining=list(prof.defining)))
        return out

    @api.get("/trials/{trial_id}", summary="One trial: its criteria and coverage")
    def get_trial(trial_id: str) -> JSONResponse:
        t = chosen([trial_id])[0]
        from eligimatch.language._coverage import coverage

        cov = json.loads(coverage(t).model_dump_json())
        prof = disease_profile(t)
        criteria = [{"id": c.id, "kind": c.kind, "cohort": c.cohort, "text": c.text, "line": c.line,
                     "expression": c.source, "needs": list(c.needs), "judgment": c.judgment,
                     "judgment_exception": c.judgment_exception, "defining": c.id in prof.defining}
                    for c in t.all_criteria()]
        return JSONResponse({"id": trial_id, "title": t.title, "anchors": list(t.anchors),
                             "diseases": list(prof.diseases), "defining": list(prof.defining),
                             "cohorts": [{"id": c[0], "title": c[1]} for c in t.cohorts],
                             "criteria": criteria, "coverage": cov})

    examples = _examples(patients_dir)

    @api.get("/patients", summary="Example patients to pick from")
    def get_patients() -> list[dict[str, str]]:
        return [{"name": name} for name in examples]

    @api.get("/patients/{name}", summary="One example patient document")
    def get_patient(name: str) -> JSONResponse:
        path = examples.get(name)
        if path is None:
            raise ApiError(404, f"no example patient {name!r}")
        return JSONResponse(json.loads(path.read_text(encoding="utf-8")))

    # ---- the matching-service contract ----
    @api.get("/", response_class=PlainTextResponse, summary="Matching-service contract: hello")
    def hello() -> PlainTextResponse:
        return PlainTextResponse(ctms.HELLO)

    if prefix:  # the prefix itself, with or without the slash, as the reference server (express) answers
        api.add_api_route("", hello, methods=["GET"], include_in_schema=False)

    @api.post("/getClinicalTrial", summary="Matching-service contract: a FHIR Bundle in, a searchset out")
    async def get_clinical_trial(request: Request) -> JSONResponse:
        try:
            bundle = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return _error(400, "Invalid patientBundle: the body is not JSON")
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            return _error(400, "Invalid patientBundle")
        params = ctms.parse_parameters(bundle)
        patient, _ = read_patient(bundle)
        ts = list(by_id.values())
        result = screen(patient, ts, as_of=today())
        pos = {r.trial_id: i for i, r in enumerate(result.results)}
        ordered = sorted(ts, key=lambda t: pos[trial_label(t)])
        return JSONResponse(ctms.searchset(ordered, result.results, result.ranking, params))

    # ---- the page ----
    @api.get("/ui", include_in_schema=False)
    def ui_redirect() -> RedirectResponse:
        return RedirectResponse(prefix + "/ui/", status_code=307)

    @api.get("/ui/", include_in_schema=False)
    def ui_index() -> HTMLResponse:
        return HTMLResponse(_static("index.html"))

    @api.get("/ui/{name}", include_in_schema=False)
    def ui_file(name: str) -> Response:
        types = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
        if name not in types:
            raise ApiError(404, f"no file {name!r}")
        return Response(_static(name), media_type=types[name])

    app.include_router(api)
    if prefix:
        @app.get("/", include_in_schema=False)
        def root() -> RedirectResponse:
            return RedirectResponse(prefix + "/ui/", status_code=307)

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.errors)

    @app.exception_handler(DecisionError)
    async def on_decision_error(_request: Request, exc: DecisionError) -> JSONResponse:
        return _error(409, str(exc))

    @app.exception_handler(PatientDataError)
    async def on_patient_error(_request: Request, exc: PatientDataError) -> JSONResponse:
        return _error(422, str(exc), _field_errors(exc))

    @app.exception_handler(EligimatchError)
    async def on_eligimatch_error(_request: Request, exc: EligimatchError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"path": ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "(body)",
                   "message": str(e.get("msg", ""))} for e in exc.errors()]
        return _error(422, "the request is not valid", errors)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if exc.status_code == 404:
            message = "no such route"
        elif exc.status_code == 405:
            message = "method not allowed on this route"
        return _error(exc.status_code, message)

    @app.exception_handler(Exception)
    async def on_bug(_request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    return _BodyLimit(app, max_body) if max_body else app


def _version() -> str:
    from eligimatch import __version__

    return __version__


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _examples(folder: Path | None) -> dict[str, Path]:
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(Path(folder).glob("*.json")) if p.is_file()}

