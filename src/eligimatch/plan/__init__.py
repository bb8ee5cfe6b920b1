"""Check and bind: a trial's AST resolved against the catalogs into a plan, the input of every backend.

Design
------
The pipeline is ``text -> parse -> AST (eligimatch.language.ast) -> check -> bind -> Plan -> backend``.

* **check** (:mod:`eligimatch.plan._check`) reports every problem of a trial with its place; **bind**
  (:func:`bind`) runs only on a tree that passed and is the one place where names are looked up.
* **The plan is plain data**: frozen, slotted dataclasses (:mod:`eligimatch.plan._nodes`), one type per
  kind of criterion, variants as distinct types (a therapy's timing is ``TherapyEver``, ``TherapyWithin``,
  ``TherapyOngoing``, ``TherapyStarted`` or ``WashoutComplete``; a condition's ``Present``, ``Ever``,
  ``Within`` or ``DiagnosedWithin``).  Everything is resolved: catalog entries as reference records
  (``AnalyteRef`` with its LOINC codes and canonical unit, ``ConceptRef`` with the concepts and codes it
  covers, ``DrugRef`` with the drugs and classes it expands to), thresholds as floats with the unit they are
  compared in and their value in the catalog's canonical unit, windows, anchors, ``where`` tests read through
  the attribute vocabularies, the trial's options (default reference ranges).
* **Printable and serialisable**: :func:`format_plan` writes it as readable text; :func:`to_dict` /
  :func:`from_dict` as JSON-able dicts and back (equal to the original).  Reference records may carry the
  catalog's entry object for the row engine (``entry``): it takes no part in equality or serialisation.
* **Backends read the plan only**: the row engine (:mod:`eligimatch.engine`) compiles it into closures; the
  SQL backend (:mod:`eligimatch.sql`) into queries.  A compiled trial carries its plan
  (``CompiledTrial.plan``); :func:`bind_trial` gives the plan of a text or a file.

    >>> from eligimatch.plan import bind_trial, format_plan
    >>> plan = bind_trial('''
    ... trial "DEMO"
    ... inclusion:
    ...   - I1 "Adults": age >= 18 years
    ...   - I2: therapy rituximab within 6 months before enrollment
    ... ''')
    >>> print(format_plan(plan))
    plan DEMO
    inclusion I1 'Adults' (line 4)
      Threshold age in completed years >= 18 year
    inclusion I2 (line 5)
      Therapy (rituximab) within 6 month before enrollment

See docs/plan.md for the node reference.
"""

from eligimatch.plan._bind import bind, bind_trial
from eligimatch.plan._nodes import *  # noqa: F403  (the node types: their __all__)
from eligimatch.plan._nodes import __all__ as _NODE_NAMES
from eligimatch.plan._serial import format_expr, format_plan, from_dict, to_dict

__all__ = ["bind", "bind_trial", "to_dict", "from_dict", "format_plan", "format_expr"]
__all__ += _NODE_NAMES
