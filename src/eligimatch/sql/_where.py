"""``where`` tests on condition and procedure records in SQL, as :func:`eligimatch.engine._history._where`
decides them.

A record's attributes are rows of ``record_attributes`` (one per name); :func:`attribute_joins` joins the
ones a ``where`` names to the scan of the records, one alias per name, and :func:`where_sql` writes the
Kleene value of the tests over those aliases.  The writer stores each value as the row engine reads it
(``value_yes_no``, ``value_as_number``, ``value_norm``, ``value_coded``: computed with the row engine's
own functions), so the SQL compares exactly what :func:`eligimatch.engine._history.attr_truth` compares:

* a missing attribute is UNKNOWN;
* a yes/no test is decided only by a recognised yes/no (``"unknown"``, ``1``, ``"Y"``: UNKNOWN);
* a test on an attribute with a vocabulary reads the value through it: a value it cannot place is
  UNKNOWN, and so is a value of the other scale (stage IIB against ``locally_advanced``);
* an ordered test (``grade >= 2``) needs a number (``"II"`` is 2): otherwise UNKNOWN; ``=``/``!=``/``in``
  compare numbers as numbers (with the tolerance) and words as words.
"""

from __future__ import annotations

from typing import Any

from eligimatch.plan import _nodes as P
from eligimatch.sql._context import not_expressible
from eligimatch.sql._sqltext import compare_const, text

__all__ = ["attribute_joins", "where_sql"]


def attribute_joins(tests: tuple[P.WhereTest, ...], history: str, record: str = "r", prefix: str = "a",
                    also: tuple[str, ...] = ()) -> tuple[str, dict[str, str]]:
    """The LEFT JOINs of ``record_attributes`` for the attributes ``tests`` name and ``also`` (to the record
    alias ``record`` of the table ``history``), and the alias of each name."""
    names = tuple(dict.fromkeys(P.attr_names(tests) + also))
    aliases = {name: f"{prefix}{i}" for i, name in enumerate(names)}
    joins = " ".join(
        f"LEFT JOIN record_attributes {a} ON {a}.patient_id = {record}.patient_id "
        f"AND {a}.history = {text(history)} AND {a}.seq = {record}.seq AND {a}.name = {text(name)}"
        for name, a in aliases.items())
    return joins, aliases


def where_sql(tests: tuple[P.WhereTest, ...], aliases: dict[str, str], attributes: Any) -> str:
    """TRUE / FALSE / NULL: every test holds (an :class:`~eligimatch.plan.AnyTest` when one of its options
    does), in Kleene logic -- SQL's own AND and OR.  ``attributes``: the catalogs' attribute vocabularies
    (``Catalogs.attributes``), the ones the writer read ``value_coded`` through."""
    if not tests:
        return "TRUE"
    parts = []
    for t in tests:
        if isinstance(t, P.AnyTest):
            parts.append("(" + " OR ".join(where_sql(o, aliases, attributes) for o in t.options) + ")")
        else:
            parts.append(_test(t, aliases[t.name], attributes))
    return "(" + " AND ".join(parts) + ")"


def _test(t: P.YesNoTest | P.CodedTest | P.ValueTest, a: str, attributes: Any) -> str:
    """One test against the attribute row ``a`` (all its columns NULL when the record has no such
    attribute: UNKNOWN)."""
    if isinstance(t, P.YesNoTest):
        return f"({a}.value_yes_no)" if t.expected else f"(NOT {a}.value_yes_no)"
    if isinstance(t, P.CodedTest):
        return _coded(t, a, attributes)
    return _value(t, a)


def _coded(t: P.CodedTest, a: str, attributes: Any) -> str:
    vocab = attributes.get(t.name)
    if t.vocabulary is not None and t.vocabulary != vocab:
        # the writer reads values through the catalogs' vocabulary (as the binder does); another one differs
        raise not_expressible(t, f"the vocabulary of attribute {t.name!r} is not the catalogs' one")
    if vocab is None:
        raise not_expressible(t, f"attribute {t.name!r} has no vocabulary in the catalogs")
    coded = f"{a}.value_coded"
    declared = vocab.values + vocab.descriptors
    # a value outside the test's values is UNKNOWN when some tested value is of another scale than it
    other = [v for v in declared if v not in t.values and any(vocab.scale(w) != vocab.scale(v) for w in t.values)]
    inside = "TRUE" if not t.negated else "FALSE"
    outside = "FALSE" if not t.negated else "TRUE"
    return (f"(CASE WHEN {coded} IS NULL THEN NULL WHEN {_in(coded, t.values)} THEN {inside} "
            f"WHEN {_in(coded, tuple(other))} THEN NULL ELSE {outside} END)")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(text(v) for v in values)})" if values else "FALSE"


def _same(num: str, norm: str, w: P.AttrValue) -> str:
    """The row engine's "same value" for a recorded value present (``num`` its number, ``norm`` its word):
    numbers as numbers when both are, else words."""
    by_word = f"{norm} = {text(w.norm)}"
    if w.number is None:
        return f"({by_word})"
    return f"(CASE WHEN {num} IS NOT NULL THEN {compare_const(num, '=', w.number)} ELSE {by_word} END)"


def _value(t: P.ValueTest, a: str) -> str:
    num, norm, present = f"{a}.value_as_number", f"{a}.value_norm", f"{a}.value_type IS NOT NULL"
    op, values = t.op, t.values
    if op in ("in", "not in"):
        inside = " OR ".join(_same(num, norm, w) for w in values) or "FALSE"
        yes, no = ("TRUE", "FALSE") if op == "in" else ("FALSE", "TRUE")
        return f"(CASE WHEN NOT ({present}) THEN NULL WHEN {inside} THEN {yes} ELSE {no} END)"
    target = values[0]
    if type(target.raw) is float:
        if op not in ("=", "!="):
            return f"(CASE WHEN {num} IS NULL THEN NULL ELSE {compare_const(num, op, float(target.raw))} END)"
        assert target.number is not None
        same = compare_const(num, "=", target.number)
        return (f"(CASE WHEN {num} IS NULL THEN NULL WHEN {same} THEN {'TRUE' if op == '=' else 'FALSE'} "
                f"ELSE {'FALSE' if op == '=' else 'TRUE'} END)")
    if op not in ("=", "!="):
        return "CAST(NULL AS BOOLEAN)"  # an order between words (`stage >= II` on a word): never decided
    same = _same(num, norm, target)
    return (f"(CASE WHEN NOT ({present}) THEN NULL WHEN {same} THEN {'TRUE' if op == '=' else 'FALSE'} "
            f"ELSE {'FALSE' if op == '=' else 'TRUE'} END)")
