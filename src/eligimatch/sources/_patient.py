"""The patient profile: what a screening tool knows about one patient.

Pydantic v2 models.  Unknown fields are an error (``extra="forbid"``), numbers
must be finite, dates may be partial (``"2025"``, ``"2025-03"``) where the
chart only knows the year or month.  A profile says which of its histories
are complete: only then does the absence of a record count as "absent".

Every record may carry a :class:`Source` (for example the FHIR resource it came
from); the evidence of a :class:`~eligimatch.engine._result.MatchResult` repeats it.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Annotated, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ConfigDict,
    PrivateAttr,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from eligimatch.knowledge._dates import PARTIAL_DATE_PATTERN, PartialDate, PartialDateField
from eligimatch.errors import PatientDataError
from eligimatch._limits import INPUT_LIMITS, InputLimits
from eligimatch._safeio import InputError, loads_strict

__all__ = [
    "Patient",
    "Observation",
    "ReferenceRange",
    "Condition",
    "Therapy",
    "Dose",
    "Procedure",
    "StudyParticipation",
    "Fact",
    "Source",
    "Completeness",
    "load_patient",
]

# Strict: JSON 1 stays the number 1 (an ECOG score), never the boolean true.
Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_strip_whitespace=True)


class Source(_Model):
    """Where a fact came from: a FHIR resource, a lab feed, a form."""

    type: str = Field(description="Kind of record, e.g. 'Observation'.")
    id: str | None = Field(default=None, description="Identifier of the record in its system.")
    system: str | None = None

    def label(self) -> str:
        return f"{self.type}/{self.id}" if self.id else self.type


class Fact(_Model):
    """A free yes/no, numeric or coded fact (ECOG, pregnant, consent signed...)."""

    value: Scalar
    unit: str | None = Field(default=None, description="Unit of a numeric value, e.g. 'months'.")
    date: PartialDateField | None = None
    source: Source | None = None


_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def _not_bool(v: object) -> object:
    """A number: true/false is refused, and so is a text that is not a plain decimal number
    (``"2_0"`` is not 20, ``"1,5"`` is not 1.5: which was meant cannot be told)."""
    if isinstance(v, bool):
        raise ValueError("give a number, not true/false")
    if isinstance(v, str) and not _PLAIN_NUMBER.match(v.strip()):
        raise ValueError(f"give a number; {v!r} is not a plain decimal number")
    return v


_SLASHED = re.compile(r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{4})\s*$")


def _date_text(v: object) -> object:
    """A date must be text (or a date): a number is refused (``0`` is not 1970-01-01), and so is a
    day-first or month-first form (``25/02/2026``), with the ISO form suggested when it is unambiguous."""
    if isinstance(v, (bool, int, float)):
        raise ValueError(f"give a date as text (YYYY-MM-DD), not the number {v!r}")
    if isinstance(v, str):
        m = _SLASHED.match(v)
        if m:
            a, b, year = int(m.group(1)), int(m.group(2)), m.group(3)
            if a > 12 and b > 12:
                hint = ""
            elif a > 12:
                hint = f"; if day-first, write {year}-{b:02d}-{a:02d}"
            elif b > 12 and a <= 12:
                hint = f"; if month-first, write {year}-{a:02d}-{b:02d}"
            else:
                hint = f" ({year}-{b:02d}-{a:02d} if day-first, {year}-{a:02d}-{b:02d} if month-first)"
            raise ValueError(f"give the date as YYYY-MM-DD, not {v.strip()!r}{hint}")
    return v


def _plain_date_value(v: object) -> object:
    """A calendar date: a timestamp (with or without a time zone) is refused, whatever its time."""
    _date_text(v)
    if isinstance(v, _dt.datetime):
        raise ValueError("give a date (YYYY-MM-DD), not a timestamp")
    if isinstance(v, str) and ("T" in v or ":" in v or " " in v.strip()):
        raise ValueError("give a date (YYYY-MM-DD), not a timestamp")
    return v


PlainDate = Annotated[_dt.date, BeforeValidator(_plain_date_value)]


def _birth_date_value(v: object) -> _dt.date | PartialDate:
    """A birth date: a full date stays a :class:`datetime.date`; ``"1968"`` or ``"1968-05"`` (the chart
    knows only the year or the month) becomes a :class:`~eligimatch.knowledge._dates.PartialDate`.  Timestamps
    and numbers are refused: a number is not a date (``0`` is not 1970-01-01)."""
    if isinstance(v, PartialDate):
        return v.earliest if v.exact else v
    if isinstance(v, _dt.datetime):
        raise ValueError("give a date (YYYY-MM-DD, YYYY-MM or YYYY), not a timestamp")
    if isinstance(v, _dt.date):
        return v
    if isinstance(v, str):
        _plain_date_value(v)
        d = PartialDate.parse(v)
        return d.earliest if d.exact else d
    raise ValueError(f"give a date as text (YYYY-MM-DD, YYYY-MM or YYYY), not {type(v).__name__} {v!r}")


def _birth_date_text(v: _dt.date | PartialDate) -> str:
    return v.text if isinstance(v, PartialDate) else v.isoformat()


#: A birth date known to the day (a ``datetime.date``), or only to the month or year (a ``PartialDate``).
BirthDate = Annotated[
    Union[_dt.date, PartialDate],
    PlainValidator(_birth_date_value),
    PlainSerializer(_birth_date_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": PARTIAL_DATE_PATTERN,
                    "description": "Date of birth: YYYY-MM-DD, or YYYY-MM / YYYY when only the month or "
                                   "year is known (ages are then decided only when every possible day agrees).",
                    "examples": ["1968-05-14", "1968-05", "1968"]}),
]


class ReferenceRange(_Model):
    """The laboratory's normal range recorded with a result (same unit as the result unless given)."""

    low: float | None = None
    high: float | None = None
    unit: str | None = None

    _numbers = field_validator("low", "high", mode="before")(classmethod(lambda cls, v: _not_bool(v)))

    @model_validator(mode="after")
    def _ordered(self) -> ReferenceRange:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"reference range low {self.low} is above high {self.high}")
        return self


class Observation(_Model):
    """A dated laboratory result, vital sign, measurement or score."""

    analyte: str = Field(description="Analyte id, name, synonym or LOINC code, e.g. 'anc' or 'LOINC:751-8'.")
    value: float
    unit: str | None = Field(default=None, description="Unit as recorded, e.g. '10*9/L' or 'mg/dL'.")
    date: _dt.date | None = Field(default=None, description="Date the specimen was taken or the measure made.")
    time: _dt.time | None = Field(default=None, description="Time of day on that date, as the clock read there "
                                  "('18:00', or '18:00:00+01:00' with its UTC offset): of two results of one "
                                  "date, the later one is the latest result.")
    reference_range: ReferenceRange | None = None
    method: str | None = Field(default=None, description="How a derived value was obtained, e.g. 'cockcroft_gault'.")
    source: Source | None = None

    _number = field_validator("value", mode="before")(classmethod(lambda cls, v: _not_bool(v)))

    @field_validator("date", mode="before")
    @classmethod
    def _no_timezone(cls, v: object) -> object:
        _date_text(v)
        if isinstance(v, _dt.datetime):
            if v.tzinfo is not None:
                raise ValueError("a timezone-aware timestamp is not accepted; give the local date (YYYY-MM-DD)")
            return v.date()
        if isinstance(v, str) and ("T" in v or " " in v.strip()):
            raise ValueError("give a date (YYYY-MM-DD), not a timestamp; the time of day goes in 'time'")
        return v

    @field_validator("time", mode="before")
    @classmethod
    def _time_text(cls, v: object) -> object:
        if v is not None and not isinstance(v, (str, _dt.time)):
            raise ValueError("give the time of day as text, e.g. '18:00' or '18:00:00+01:00'")
        return v

    @model_validator(mode="after")
    def _time_needs_date(self) -> Observation:
        if self.time is not None and self.date is None:
            raise ValueError("a time of day needs the date it belongs to")
        return self


class Condition(_Model):
    """A diagnosis or problem, current or past."""

    name: str | None = Field(default=None, description="Catalog id, name or synonym.")
    code: str | None = Field(default=None, description="Coded form, e.g. 'ICD10CM:M32.14' or 'SNOMED:55464009'.")
    onset: PartialDateField | None = None
    end: PartialDateField | None = Field(default=None, description="Abatement date, when it ended.")
    status: Literal["active", "resolved", "inactive", "remission"] | None = Field(
        default=None, description="Clinical status.  With neither a status nor an end date, whether the condition "
                                  "is current is unknown ('condition X' is then UNKNOWN; 'history of X' is not).")
    attributes: dict[str, Scalar] = Field(default_factory=dict, description="e.g. symptomatic, grade, stage.")
    source: Source | None = None

    @model_validator(mode="after")
    def _check(self) -> Condition:
        if self.name is None and self.code is None:
            raise ValueError("a condition needs a name or a code")
        _check_order(self.onset, self.end, "onset", "end")
        return self


class Dose(_Model):
    """A dose: an amount per administration and how often, or a daily amount."""

    value: float = Field(ge=0)
    unit: str = Field(description="e.g. 'mg' or 'mg/day'.")
    per_day: float | None = Field(default=None, gt=0, description="Administrations per day when value is per dose.")

    _numbers = field_validator("value", "per_day", mode="before")(classmethod(lambda cls, v: _not_bool(v)))


class Therapy(_Model):
    """A drug or treatment the patient received or receives."""

    drug: str | None = Field(default=None, description="Drug id, name, brand or RxNorm code.")
    classes: tuple[str, ...] = Field(default=(), description="Drug classes when the drug is not named.")
    start: PartialDateField | None = None
    end: PartialDateField | None = Field(default=None, description="Last dose or stop date; none with ongoing.")
    ongoing: bool | None = None
    dose: Dose | None = None
    dose_since: PartialDateField | None = Field(
        default=None, description="Date the current dose began, when it changed during the course (the course "
                                  "itself began at start); before it the dose is not known from this record.")
    route: str | None = Field(default=None, description="oral, intravenous, inhaled, topical, ocular, ...")
    investigational: bool = False
    indication: str | None = Field(default=None, description="The condition it is given for: a condition catalog "
                                   "id, name, synonym or code, e.g. 'acute lymphoblastic leukemia' or "
                                   "'ICD10CM:M32.14'.")
    source: Source | None = None

    @model_validator(mode="after")
    def _check(self) -> Therapy:
        if self.drug is None and not self.classes and not self.investigational:
            raise ValueError("a therapy needs a drug, a class or investigational=true")
        _check_order(self.start, self.end, "start", "end")
        _check_order(self.start, self.dose_since, "start", "dose_since")
        _check_order(self.dose_since, self.end, "dose_since", "end")
        if self.ongoing and self.end is not None:
            raise ValueError("an ongoing therapy cannot have an end date")
        return self


class Procedure(_Model):
    """A procedure: surgery, radiotherapy, apheresis, transplant..."""

    name: str | None = None
    code: str | None = None
    date: PartialDateField | None = None
    attributes: dict[str, Scalar] = Field(default_factory=dict)
    source: Source | None = None

    @model_validator(mode="after")
    def _check(self) -> Procedure:
        if self.name is None and self.code is None:
            raise ValueError("a procedure needs a name or a code")
        return self


class StudyParticipation(_Model):
    """Taking part in a clinical study (FHIR ResearchSubject): from ``start`` to ``end`` (none: still in it)."""

    study: str | None = Field(default=None, description="The study's identifier, e.g. 'NCT01234567'.")
    start: PartialDateField | None = None
    end: PartialDateField | None = Field(default=None, description="Last day in the study; none means ongoing.")
    source: Source | None = None

    @model_validator(mode="after")
    def _check(self) -> StudyParticipation:
        _check_order(self.start, self.end, "start", "end")
        return self


class Completeness(_Model):
    """Which histories list everything: only then is a missing record an absence."""

    conditions: bool = False
    therapies: bool = False
    procedures: bool = False
    studies: bool = False


FactValue = Annotated[Union[StrictBool, StrictInt, StrictFloat, StrictStr, Fact], Field(union_mode="left_to_right")]


class Patient(_Model):
    """A patient profile.  Validate JSON with :func:`load_patient` (or ``Patient.model_validate_json(text)``).

    Its JSON Schema: ``eligimatch schema patient``; the format is described in docs/patient.md.

        >>> p = load_patient('{"id": "p1", "birth_date": "1970-05-02", "sex": "female", "facts": {"ecog": 1}}')
        >>> p.fact("ecog").value
        1
    """

    schema_version: Literal["1"] | None = Field(default=None, description="The version of this JSON format "
                                                                          "(optional; '1').")
    id: str | None = None
    birth_date: BirthDate | None = Field(default=None, description="YYYY-MM-DD, or YYYY-MM / YYYY when partial.")
    sex: Literal["male", "female"] | None = None
    facts: dict[str, FactValue] = Field(default_factory=dict, description="Free facts: ecog, pregnant, ...")
    observations: tuple[Observation, ...] = ()
    conditions: tuple[Condition, ...] = ()
    therapies: tuple[Therapy, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    studies: tuple[StudyParticipation, ...] = Field(default=(), description="Clinical studies the patient took or "
                                                    "takes part in (FHIR ResearchSubject).")
    complete: Completeness = Field(default_factory=Completeness)
    anchors: dict[str, PlainDate] = Field(default_factory=dict, description="Patient-specific dates: screening, apheresis...")

    _coercions: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _sex_letter(cls, data: Any, handler: Any) -> Any:
        """``"F"``/``"M"`` (any case) are unambiguous: read as female/male, and reported (:attr:`coercions`)."""
        note = None
        if isinstance(data, dict) and isinstance(data.get("sex"), str):
            letter = data["sex"].strip().upper()
            if letter in ("F", "M"):
                full = "female" if letter == "F" else "male"
                note = f"sex: {data['sex']!r} read as {full!r}"
                data = {**data, "sex": full}
        model = handler(data)
        if note:
            model._coercions = (note,)
        return model

    @property
    def coercions(self) -> tuple[str, ...]:
        """What validation read in another form than written (``sex: 'F' read as 'female'``); repeated in
        the warnings of every result."""
        return self._coercions

    def fact(self, name: str) -> Fact | None:
        """The fact called ``name`` as a :class:`Fact`, or None."""
        v = self.facts.get(name)
        if v is None:
            return None
        return v if isinstance(v, Fact) else Fact(value=v)


def _check_order(start: PartialDate | None, end: PartialDate | None, a: str, b: str) -> None:
    if start is not None and end is not None and end.latest < start.earliest:
        raise ValueError(f"{b} {end} is before {a} {start}")


def load_patient(data: str | bytes | dict, *, limits: InputLimits = INPUT_LIMITS) -> Patient:
    """Validate a patient document (JSON text or a dict).

    JSON text is read strictly (:func:`eligimatch._safeio.loads_strict`): a UTF-8
    byte-order mark is dropped; a key repeated in one object is refused (and
    ``NaN`` or ``Infinity``, by the model, with their path).  A document over the bounds of ``limits`` (number
    of observations, records, facts) is refused before it is validated.

    Raises :class:`~eligimatch.errors.PatientDataError` naming each bad field's path.

        >>> patient = load_patient('{"id": "p1", "birth_date": "1970-05-02", "sex": "female",'
        ...                        ' "observations": [{"analyte": "anc", "value": 1.8, "unit": "10^9/L",'
        ...                        ' "date": "2026-02-20"}]}')
        >>> patient.observations[0].analyte, patient.observations[0].value
        ('anc', 1.8)
        >>> load_patient({"birth_date": "2026-02-30"})   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        eligimatch.errors.PatientDataError: invalid patient data (1 problem):
          birth_date: ...
    """
    if not isinstance(data, dict):
        try:
            data = loads_strict(data, "patient document", constants=True)
        except InputError as exc:
            where = exc.path or "(document)"
            raise PatientDataError(f"invalid patient data (1 problem):\n  {where}: {exc.reason}",
                                   [{"path": where, "loc": tuple(exc.path.split(".")) if exc.path else (),
                                     "msg": exc.reason, "type": "json_invalid", "input": None}]) from None
        if not isinstance(data, dict):
            msg = f"a patient document is a JSON object, not {_json_kind(data)}"
            raise PatientDataError(f"invalid patient data (1 problem):\n  (document): {msg}",
                                   [{"path": "(document)", "loc": (), "msg": msg, "type": "model_type",
                                     "input": None}])
    _check_bounds(data, limits)
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        raise PatientDataError(format_validation_error(exc), patient_errors(exc)) from None


def _json_kind(v: object) -> str:
    return {list: "a list", str: "a text", bool: "true/false", int: "a number", float: "a number"}.get(
        type(v), "null" if v is None else type(v).__name__)


def _check_bounds(data: dict, limits: InputLimits) -> None:
    """Refuse a document over the input limits, naming the field and the limit."""
    bounds = (("observations", limits.max_observations), ("conditions", limits.max_records),
              ("therapies", limits.max_records), ("procedures", limits.max_records),
              ("facts", limits.max_facts), ("anchors", limits.max_facts))
    for field, bound in bounds:
        v = data.get(field)
        if isinstance(v, (list, tuple, dict)) and len(v) > bound:
            msg = (f"{len(v)} entries, more than the limit of {bound} for one patient "
                   f"(eligimatch._limits.InputLimits)")
            raise PatientDataError(f"invalid patient data (1 problem):\n  {field}: {msg}",
                                   [{"path": field, "loc": (field,), "msg": msg, "type": "too_long", "input": None}])


# The alternatives of a union (a fact is a yes/no, a number, a text or a Fact object) appear in
# pydantic's error locations as type tags: facts.ecog.int, facts.ecog.Fact.value.float.  People
# need the field's path (facts.ecog, facts.ecog.value) and one reason, not one line per alternative.
_UNION_TAGS = frozenset({"bool", "int", "float", "str", "constrained-str", "Fact"})


def _field_path(loc: tuple) -> tuple[tuple, bool]:
    """The location without union tags, and whether any tag was dropped."""
    out: list = []
    dropped = False
    for i, part in enumerate(loc):
        if (part in _UNION_TAGS and i >= 2
                and (loc[i - 2] in ("facts", "attributes") or (loc[i - 1] == "value" and loc[i - 2] == "Fact"))):
            dropped = True
            continue
        out.append(part)
    return tuple(out), dropped


def patient_errors(exc: ValidationError) -> list[dict]:
    """One error per field: ``{"path": "facts.ecog", "loc": (...), "msg": ..., "type": ...}``."""
    raw = exc.errors(include_url=False)
    groups: dict[tuple, list[tuple[Any, bool]]] = {}
    for err in raw:
        path, union = _field_path(tuple(err["loc"]))
        groups.setdefault(path, []).append((err, union))
    # a union whose object branch reached deeper (facts.x.value) explains itself better than the branches
    # that refused the object as a whole (facts.x)
    paths = list(groups)
    keep = [p for p in paths
            if not (all(u for _, u in groups[p]) and any(q[:len(p)] == p and len(q) > len(p) for q in paths))]
    out = []
    for path in keep:
        errs = groups[path]
        if len(errs) == 1 or not all(u for _, u in errs):
            err = errs[0][0]
            msg = err["msg"]
        else:
            finite = [e for e, _ in errs if e["type"] == "finite_number"]
            err = finite[0] if finite else errs[0][0]
            msg = err["msg"] if finite else "Input should be true/false, a number or a text" + (
                " (or an object with a value)" if any("Fact" in e["loc"] for e, _ in errs) else "")
        out.append({"path": ".".join(str(p) for p in path) or "(document)", "loc": path, "msg": msg,
                    "type": err["type"], "input": err.get("input")})
    return out


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: ``path.to.field: why``."""
    errors = patient_errors(exc)
    lines = [f"invalid patient data ({len(errors)} problem{'s' if len(errors) != 1 else ''}):"]
    for err in errors:
        lines.append(f"  {err['path']}: {err['msg']}")
    return "\n".join(lines)
