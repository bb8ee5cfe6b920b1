"""The kinds of criterion, one module each: a kind's binder (AST -> plan node), row evaluator, renderer and data
needs live together, and register themselves in :mod:`eligimatch.kinds._base`'s registry.

==================  ==========================================================================
module              kind
==================  ==========================================================================
``logic``           and, or, not, at least N of, if/then/else, true/false; ``judgment``
``bool_fact``       a yes/no fact (``pregnant``)
``threshold``       ``measure op value`` (age, facts, the latest result, formulas, ratios)
``between``         ``measure between low and high``
``in_set``          sex and coded (enum) facts: ``in (...)``, ``=``, ordered ``>=``
``reference``       ``x ULN`` / ``x LLN``
``each_result``     ``any``/``every`` result in a window
``condition``       ``condition``, ``history of``, ``diagnosed within``, allergies
``procedure``       ``procedure X [within W]``
``therapy``         ``therapy X`` ever / within / ongoing / started / washout
``dose``            ``daily dose`` / ``total dose``
``stable_dose``     ``stable dose of X for D before A``
``participation``   ``participation in another study``
==================  ==========================================================================

The plan node types themselves are in :mod:`eligimatch.plan._nodes` (the one data module every backend
imports without importing any evaluator); a kind defined outside eligimatch may define its node anywhere
and :func:`register` it (see tests/test_kinds.py).
"""

from eligimatch.kinds import (  # noqa: F401  (each registers its kind)
    between,
    bool_fact,
    condition,
    dose,
    each_result,
    in_set,
    logic,
    participation,
    procedure,
    reference,
    stable_dose,
    therapy,
    threshold,
)
from eligimatch.kinds._base import Fn, Kind, for_node, for_syntax, kinds, register, unregister

__all__ = ["Kind", "Fn", "register", "unregister", "for_node", "for_syntax", "kinds"]
