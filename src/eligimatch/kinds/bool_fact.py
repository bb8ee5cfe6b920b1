"""A yes/no fact: ``pregnant``, ``active_infection within 14 days before enrollment``.

Only a recorded yes or no decides (a boolean, or the words yes/true/no/false); under a recency window (the
criterion's, else the trial's ``facts within ...``) an undated or older value is UNKNOWN (stale).
"""

from __future__ import annotations

from typing import Any

from eligimatch.engine._evaluate import F, NOFLAG, R, T, Context, _date_of, ev, missing, src_label, unknown
from eligimatch.engine._facts import _fact, _recorded, _ScalarFact
from eligimatch.kinds._base import Fn, Kind, register
from eligimatch.language import ast as A
from eligimatch.logic import CauseFlag
from eligimatch.plan import _nodes as P
from eligimatch.plan._serial import _ref, _window


def eval_bool_fact(ctx: Context, name: str, label: str, recency: Any = None) -> R:
    fact = _fact(ctx, name, f"{label} (yes/no)", recency)
    if fact.__class__ is tuple:
        return fact
    if fact.__class__ is _ScalarFact and fact.value.__class__ is bool:
        # a bare yes/no: two possible answers per fact, immutable, built once and shared
        key = (name, label, fact.value)
        hit = _BOOL_ANSWERS.get(key)
        if hit is None:
            hit = _bool_answer(name, label, fact)
            if len(_BOOL_ANSWERS) >= 4096:
                _BOOL_ANSWERS.clear()
            _BOOL_ANSWERS[key] = hit
        return hit
    return _bool_answer(name, label, fact)


_BOOL_ANSWERS: dict[tuple, R] = {}


def _bool_answer(name: str, label: str, fact: Any) -> R:
    v = fact.value
    if isinstance(v, str) and v.lower() in ("yes", "true", "no", "false"):
        v = v.lower() in ("yes", "true")
    if not isinstance(v, bool):
        return unknown(CauseFlag.INVALID, (missing(name, f"{label}: recorded value {v!r} is not yes/no", "invalid"),))
    e = ev(name, "fact_recorded", f"{label}: {'yes' if v else 'no'}{_recorded(fact)}", value=v,
           date=_date_of(fact.date), source=src_label(fact))
    return (T if v else F, NOFLAG, (), (e,))


def bind(b: Any, n: A.BoolFact) -> P.Expr:
    return P.BoolFact(b.fact(b._resolved(b.cats.facts.resolve(n.name), n)), b.window(n.recency))


def compile_row(c: Any, n: P.BoolFact) -> Fn:
    name, label = n.fact.id, n.fact.name
    recency = n.recency
    return lambda ctx: eval_bool_fact(ctx, name, label, recency)


def render(n: P.BoolFact) -> str:
    return f"BoolFact {_ref(n.fact)}" + (f" ({_window(n.recency)})" if n.recency is not None else "")


def needs(n: P.BoolFact) -> tuple[str, ...]:
    return (f"fact {n.fact.id}",)


KIND = register(Kind("bool_fact", (P.BoolFact,), compile_row, render, needs, (A.BoolFact,), bind))
