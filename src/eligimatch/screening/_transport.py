"""Screened records between processes: sent as plain data, rebuilt in the caller without revalidation.

A worker of :func:`~eligimatch.screening.screen_many` sends each record back as bytes (:func:`dumps`);
the caller rebuilds it (:func:`loads`) only as it yields it.  The bytes are a pickle in which each result
model (:data:`MODELS`: the record, its match results, criteria, evidence, missing facts, cohorts, rankings,
questions) is its field values and its ``model_fields_set``, and each enum member its name; rebuilding
sets them back as ``model_construct`` would, without running the validators again: the values were
validated (or made by the evaluator) in the worker, a process of this library.

Why not JSON, or a plain pickle: a record of full results is some 550 models.  Validating them again from
JSON (``model_validate_json``) cost the caller about three quarters of what screening them cost a worker,
and pydantic's own pickle support (a ``__setstate__`` per model) about as much; with two workers on two
cores the caller was the bottleneck.  Plain data is rebuilt for a fraction of that, and it is exact:
a float stays a float, an int an int, a date a date, every nested model's ``model_fields_set`` is kept.
Bytes also wait in the pending futures for free (the garbage collector does not walk them).

A model not listed here still travels, by pydantic's own pickle support (correct, only slower).
"""

from __future__ import annotations

import copyreg
import io
import pickle
from enum import Enum
from typing import Any, Callable

from pydantic import BaseModel

from eligimatch.engine._result import (
    CohortResult,
    CriterionResult,
    Evidence,
    MatchResult,
    MissingFact,
    Outcome,
    Verdict,
    _check_plain,
    _set_dict,
    _set_extra,
    _set_fields_set,
    _set_private,
)
from eligimatch.logic import Cause
from eligimatch.screening._questions import PlannedQuestion
from eligimatch.screening._ranking import Ranking, Tier
from eligimatch.screening._results import FieldProblem, Question, ScreenError, ScreenResult

__all__ = ["MODELS", "ENUMS", "dumps", "loads"]

#: The models sent as plain data (everything a :class:`ScreenResult` or :class:`ScreenError` holds).
MODELS: tuple[type[BaseModel], ...] = (ScreenResult, ScreenError, Question, FieldProblem, Ranking, PlannedQuestion,
                                       MatchResult, CriterionResult, CohortResult, Evidence, MissingFact)
#: The enums sent by member name.
ENUMS: tuple[type[Enum], ...] = (Verdict, Outcome, Cause, Tier)


def _plain_fields(cls: type[BaseModel]) -> frozenset[str]:
    """``cls``'s fields, after checking that setting them is all a rebuilt instance needs."""
    _check_plain(cls)  # no aliases, default factories or post-init
    if cls.__private_attributes__ or cls.model_config.get("extra") == "allow":
        raise TypeError(f"{cls.__name__}: private attributes or extra fields need pickle's own support")
    return frozenset(cls.model_fields)


_FIELDS = tuple(_plain_fields(cls) for cls in MODELS)
_NEW = tuple(cls.__new__ for cls in MODELS)


def _restore(i: int, values: dict[str, Any], unset: tuple[str, ...] | None) -> BaseModel:
    """Model ``MODELS[i]`` with field ``values``; ``unset``: its fields set when not all are (else None)."""
    cls = MODELS[i]
    m = _NEW[i](cls)
    _set_dict(m, values)
    _set_fields_set(m, set(_FIELDS[i] if unset is None else unset))
    _set_extra(m, None)
    _set_private(m, None)
    return m


def _model_reducer(i: int) -> Callable[[BaseModel], tuple[Any, ...]]:
    every = _FIELDS[i]

    def reduce(m: BaseModel) -> tuple[Any, ...]:
        fields_set = m.__pydantic_fields_set__
        return _restore, (i, m.__dict__, None if fields_set == every else tuple(fields_set))

    return reduce


def _enum_reducer(m: Enum) -> tuple[Any, ...]:
    return getattr, (type(m), m.name)


_TABLE: dict[type, Any] = dict(copyreg.dispatch_table)
_TABLE.update({cls: _model_reducer(i) for i, cls in enumerate(MODELS)})
_TABLE.update({cls: _enum_reducer for cls in ENUMS})


def dumps(record: Any) -> bytes:
    """``record`` (a model, or anything holding models) as bytes for :func:`loads`."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _TABLE
    pickler.dump(record)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """What :func:`dumps` was given, rebuilt (bytes from this library's own workers only: it is a pickle)."""
    return pickle.loads(data)
