"""What-if: the same trial with a criterion dropped, a threshold changed or an expression replaced.

A change is made to the criteria *text* and the text compiled again, so the modified trial goes
through the same checks (units, vocabularies, limits) as any trial, and every backend runs it as
it runs any trial: no second implementation of the semantics.

* ``drop``: the criterion no longer constrains anyone: an inclusion's expression becomes ``true``,
  an exclusion's ``false``.  Its id stays (so cohorts and ``defining`` still name it).
* a threshold, ``ID=VALUE`` or ``ID:OLD=VALUE``: the number of the criterion's one numeric threshold
  (``anc >= 1.5 x10^9/L``, ``bilirubin <= 1.5 x ULN``, ``age between 18 and 70 years``), or of the
  one written ``OLD`` when it has several, becomes ``VALUE``; its unit stays, unless ``VALUE`` brings
  its own (``I7a=1000 /uL``), which is then checked like any unit.
* ``replace``: ``ID=EXPRESSION``, the criterion's whole expression in the criteria language.

    >>> import eligimatch
    >>> trial = eligimatch.load_trial("examples/trials/NCT05621486.elig")
    >>> edited = edit_trial(trial, WhatIf.parse(drop=["I8"], thresholds=["I7a=1.0"]))
    >>> edited.changes
    ('I8 dropped (its expression is now `true`)', 'I7a: threshold 1.5 -> 1.0 (`1.0 x10^9/L`)')
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from eligimatch.engine._trial import CompiledTrial
from eligimatch.errors import PopulationError
from eligimatch.language import ast as A

__all__ = ["EditedTrial", "Threshold", "WhatIf", "edit_trial"]

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")


@dataclass(frozen=True)
class Threshold:
    """Change criterion ``criterion``'s threshold ``old`` (``None``: its only one) to ``new`` (a number,
    or a number and a unit).

        >>> from eligimatch.sql import Threshold
        >>> Threshold.parse("I7d:2.5=3")
        Threshold(criterion='I7d', new='3', old='2.5')
        >>> str(Threshold("I7a", "1000 /uL"))
        'I7a=1000 /uL'
    """

    criterion: str
    new: str
    old: str | None = None

    @classmethod
    def parse(cls, text: str) -> Threshold:
        """``ID=VALUE`` or ``ID:OLD=VALUE``."""
        head, sep, new = text.partition("=")
        if not sep or not head.strip() or not new.strip():
            raise PopulationError(f"threshold {text!r}: write ID=VALUE (e.g. I7a=1.0) or ID:OLD=VALUE "
                                  f"(e.g. I7d:2.5=3) when the criterion has several")
        cid, colon, old = head.partition(":")
        if not _NUMBER.match(new):
            raise PopulationError(f"threshold {text!r}: {new.strip()!r} does not start with a number")
        if colon and not _NUMBER.fullmatch(old.strip()):
            raise PopulationError(f"threshold {text!r}: {old.strip()!r} is not a number")
        return cls(criterion=cid.strip(), new=new.strip(), old=old.strip() if colon else None)

    def __str__(self) -> str:
        return f"{self.criterion}{':' + self.old if self.old else ''}={self.new}"


@dataclass(frozen=True)
class WhatIf:
    """The changes of one what-if question: criteria dropped, thresholds moved, expressions replaced.

        >>> from eligimatch.sql import WhatIf
        >>> what = WhatIf.parse(drop=["I8"], thresholds=["I7a=1.0"], replace=["I2=age >= 16 years"])
        >>> what.describe()
        'drop I8, threshold I7a=1.0, replace I2'
    """

    drop: tuple[str, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    replace: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, drop: Iterable[str] = (), thresholds: Iterable[str] = (), replace: Iterable[str] = ()) -> WhatIf:
        """From the command line's spelling: criterion ids, ``ID=VALUE`` / ``ID:OLD=VALUE``, ``ID=EXPR``."""
        reps = []
        for r in replace:
            cid, sep, expr = r.partition("=")
            if not sep or not cid.strip() or not expr.strip():
                raise PopulationError(f"replace {r!r}: write ID=EXPRESSION (e.g. 'I7a=anc >= 1.0 x10^9/L')")
            reps.append((cid.strip(), expr.strip()))
        return cls(drop=tuple(d.strip() for d in drop), thresholds=tuple(Threshold.parse(t) for t in thresholds),
                   replace=tuple(reps))

    def __bool__(self) -> bool:
        return bool(self.drop or self.thresholds or self.replace)

    def describe(self) -> str:
        parts = [f"drop {d}" for d in self.drop] + [f"threshold {t}" for t in self.thresholds]
        parts += [f"replace {cid}" for cid, _ in self.replace]
        return ", ".join(parts) or "no change"


@dataclass(frozen=True)
class EditedTrial:
    """A trial changed by :func:`edit_trial`: the compiled ``trial`` and the ``changes`` made, in words.

        >>> import eligimatch
        >>> from eligimatch.sql import WhatIf, edit_trial
        >>> trial = eligimatch.compile_trial('trial "K"\\ninclusion:\\n  - I1: anc >= 1.5 x10^9/L\\n')
        >>> edited = edit_trial(trial, WhatIf.parse(thresholds=["I1=1.0"]))
        >>> edited.changes
        ('I1: threshold 1.5 -> 1.0 (`1.0 x10^9/L`)',)
        >>> "anc >= 1.0 x10^9/L" in edited.trial.text
        True
    """

    trial: CompiledTrial
    changes: tuple[str, ...] = field(default=())


def _criteria(ast: A.TrialAst) -> dict[str, A.Criterion]:
    out = {c.id: c for c in ast.criteria}
    for co in ast.cohorts:
        out.update({c.id: c for c in co.criteria})
    return out


def _find(crits: dict[str, A.Criterion], cid: str, trial: CompiledTrial) -> A.Criterion:
    if cid in crits:
        return crits[cid]
    close = difflib.get_close_matches(cid, list(crits), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise PopulationError(f"trial {trial.id or trial.filename}: no criterion {cid!r}{hint}")


def _numeric_values(expr: Any) -> list[Any]:
    """The Quantity / ``x ULN`` thresholds an expression compares with, in text order."""
    vals: list[Any] = []
    for n in A.walk(expr):
        if isinstance(n, (A.Compare, A.ResultQuant, A.DosePred)):
            vals.append(n.value)
        elif isinstance(n, A.Between):
            vals.extend((n.low, n.high))
    vals = [v for v in vals if isinstance(v, (A.Quantity, A.RefMultiple))]
    return sorted(vals, key=lambda v: v.span.start_pos)


def _same_number(a: str, b: Decimal) -> bool:
    try:
        return Decimal(a) == b
    except InvalidOperation:
        return False


def edit_trial(trial: CompiledTrial, what: WhatIf) -> EditedTrial:
    """``trial`` with the changes of ``what``, compiled again (same catalogs, options and limits).

    Raises :class:`~eligimatch.errors.PopulationError` for a criterion that does not exist or a
    threshold that cannot be told apart, and the criteria language's own errors (located in the
    edited text) for a change that does not compile.

        >>> import eligimatch
        >>> from eligimatch.sql import WhatIf, edit_trial
        >>> trial = eligimatch.compile_trial('trial "K"\\ninclusion:\\n  - I1: anc >= 1.5 x10^9/L\\n')
        >>> edit_trial(trial, WhatIf.parse(drop=["I1"])).changes
        ('I1 dropped (its expression is now `true`)',)
        >>> edit_trial(trial, WhatIf.parse(drop=["I2"]))
        Traceback (most recent call last):
        ...
        eligimatch.errors.PopulationError: trial K: no criterion 'I2' (did you mean 'I1'?)
    """
    text = trial.text
    crits = _criteria(trial.ast)
    edits: list[tuple[int, int, str]] = []
    changes: list[str] = []
    touched: set[str] = set()

    def claim(cid: str) -> A.Criterion:
        c = _find(crits, cid, trial)
        if cid in touched:
            raise PopulationError(f"criterion {cid!r} is changed twice in one what-if")
        touched.add(cid)
        return c

    for cid in what.drop:
        c = claim(cid)
        neutral = "true" if c.kind == "inclusion" else "false"
        edits.append((c.expr.span.start_pos, c.expr.span.end_pos, neutral))
        changes.append(f"{cid} dropped (its expression is now `{neutral}`)")
    for th in what.thresholds:
        c = claim(th.criterion)
        values = _numeric_values(c.expr)
        if th.old is not None:
            values = [v for v in values if _same_number(th.old, v.number if isinstance(v, A.Quantity) else v.factor)]
        if len(values) != 1:
            written = [text[v.span.start_pos:v.span.end_pos] for v in _numeric_values(c.expr)]
            if not written:
                raise PopulationError(f"criterion {th.criterion!r} has no numeric threshold; use replace "
                                      f"{th.criterion}=EXPRESSION")
            raise PopulationError(
                f"criterion {th.criterion!r} has {'no threshold ' + repr(th.old) if not values else 'several thresholds'}"
                f" ({', '.join(written)}): write {th.criterion}:OLD=VALUE with OLD one of them")
        v = values[0]
        old_text = text[v.span.start_pos:v.span.end_pos]
        m = _NUMBER.match(old_text)
        assert m is not None  # a quantity's text starts with its number
        new_match = _NUMBER.match(th.new)
        assert new_match is not None
        new_unit = th.new[new_match.end():].strip()
        new_text = th.new if new_unit else new_match.group(1) + old_text[m.end():]
        edits.append((v.span.start_pos, v.span.end_pos, new_text))
        changes.append(f"{th.criterion}: threshold {m.group(1)} -> {new_match.group(1)} (`{new_text}`)")
    for cid, expr in what.replace:
        c = claim(cid)
        edits.append((c.expr.span.start_pos, c.expr.span.end_pos, expr))
        changes.append(f"{cid}: expression replaced by `{expr}`")
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    from eligimatch.engine._compile import compile_trial

    # a change that does not compile raises the language's own error, located in the edited text
    edited = compile_trial(text, filename=f"{trial.filename} (what-if: {what.describe()})",
                           catalogs=trial.catalogs, options=trial.options,
                           **({"limits": trial.limits} if trial.limits is not None else {}))
    return EditedTrial(edited, tuple(changes))
