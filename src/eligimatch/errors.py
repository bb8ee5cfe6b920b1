"""The errors eligimatch raises.

Every error a user can meet derives from :class:`EligimatchError`.  No exception
from a library we use (lark, pint, pydantic) reaches the caller unwrapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EligimatchError",
    "CriteriaError",
    "CriteriaSyntaxError",
    "CriteriaCheckError",
    "CriteriaLimitError",
    "UnitError",
    "CatalogError",
    "PlanError",
    "PatientDataError",
    "FhirError",
    "OmopError",
    "DecisionError",
    "RegistryError",
    "Problem",
    "render_located",
    "FormatError",
    "InputError",
    "SqlNotExpressibleError",
    "PopulationError",
]


class EligimatchError(Exception):
    """Base class of every error raised by eligimatch.

    >>> import eligimatch
    >>> try:
    ...     eligimatch.load_patient('{"id": "p", "birth_date": "2026-13-01"}')
    ... except eligimatch.EligimatchError as exc:
    ...     print(type(exc).__name__)
    PatientDataError
    """


class UnitError(EligimatchError):
    """A unit that cannot be read, or two units that cannot be compared.

    >>> import eligimatch
    >>> from eligimatch.knowledge import conversion_factor
    >>> try:
    ...     conversion_factor("mg/dL", "kg")
    ... except eligimatch.UnitError as exc:
    ...     print("refused")
    refused
    """


class CatalogError(EligimatchError):
    """A catalog (analytes, conditions, drugs, facts) file that is malformed."""


@dataclass(frozen=True)
class Problem:
    """One located problem in a criteria text."""

    message: str
    line: int
    column: int
    source_line: str = ""
    hint: str = ""
    filename: str = "<criteria>"

    def render(self) -> str:
        """``file:line:col: message``, the offending line and a caret under the column."""
        return render_located(self.filename, self.line, self.column, self.message, self.source_line, self.hint)


def render_located(filename: str, line: int, column: int, message: str, source_line: str = "",
                   hint: str = "") -> str:
    """A diagnostic as compilers print it: ``file:line:col: message``, the line, a caret, the hint."""
    out = [f"{filename}:{line}:{column}: {message}"]
    if source_line:
        out.append("    " + source_line.rstrip("\n").expandtabs(1))
        out.append("    " + " " * max(column - 1, 0) + "^")
    if hint:
        out.append(f"    {hint}")
    return "\n".join(out)


class CriteriaError(EligimatchError):
    """A criteria text that cannot be compiled.  Carries one or more located problems.

    >>> import eligimatch
    >>> try:
    ...     eligimatch.compile_trial('trial "X"\\ninclusion:\\n  - I1 "x": platelet >= 100 x10^9/L\\n')
    ... except eligimatch.CriteriaError as exc:
    ...     print(exc.line, exc.column, len(exc.problems))
    3 13 1
    """

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        first = self.problems[0]
        self.line = first.line
        self.column = first.column
        self.filename = first.filename
        super().__init__("\n".join(p.render() for p in self.problems))


class CriteriaSyntaxError(CriteriaError):
    """The text does not follow the grammar.

    >>> import eligimatch
    >>> try:
    ...     eligimatch.compile_trial('trial "X"\\ninclusion:\\n  - I1 "x": age >= \\n')
    ... except eligimatch.CriteriaSyntaxError as exc:
    ...     print(exc)
    <criteria>:3:19: unexpected end of text; expected a name, a number, a quoted text ("..."), ...
          - I1 "x": age >=
                          ^
    """


class CriteriaCheckError(CriteriaError):
    """The text parses but names an unknown fact, or compares incompatible units.

    >>> import eligimatch
    >>> try:
    ...     eligimatch.compile_trial('trial "X"\\ninclusion:\\n  - I1 "x": platelet >= 100 x10^9/L\\n')
    ... except eligimatch.CriteriaCheckError as exc:
    ...     print(exc)
    <criteria>:3:13: unknown fact or lab 'platelet'
          - I1 "x": platelet >= 100 x10^9/L
                    ^
        did you mean 'platelets'?
    """


class CriteriaLimitError(CriteriaError):
    """The text exceeds a configured size, nesting or count limit.

    >>> import eligimatch
    >>> text = 'trial "X"\\ninclusion:\\n  - I1 "x": ' + "(" * 80 + "age >= 18 years" + ")" * 80 + "\\n"
    >>> try:
    ...     eligimatch.compile_trial(text)
    ... except eligimatch.CriteriaLimitError as exc:
    ...     print(type(exc).__name__)
    CriteriaLimitError
    """


class AnchorError(EligimatchError, ValueError):
    """A date given for an anchor the trial does not declare (``--anchor randomisation=...``).

    Accepting it silently would leave the trial's real anchors at their defaults; the message
    names the declared anchors and the closest one.
    """


class PatientDataError(EligimatchError):
    """A patient document that does not validate; the message names the field path.

    >>> import eligimatch
    >>> try:
    ...     eligimatch.load_patient('{"id": "p", "birth_date": "2026-13-01"}')
    ... except eligimatch.PatientDataError as exc:
    ...     print(exc)
    invalid patient data (1 problem):
      birth_date: Value error, invalid date '2026-13-01': month 13 is not between 01 and 12
    """

    def __init__(self, message: str, errors: list[dict] | None = None):
        self.errors = errors or []
        super().__init__(message)


class FhirError(PatientDataError):
    """A FHIR document that cannot be read as one patient (:mod:`eligimatch.sources.fhir._bundle`).

    Invalid JSON or FHIR, a bundle without a Patient or with several, or the
    optional ``fhir.resources`` dependency missing.  Where there is one, the
    place is named: ``resource_type``, ``resource_id``, ``index`` (position of
    the entry in the bundle, or line of an NDJSON file), ``file`` and ``path``
    (inside the resource, e.g. ``Observation.valueQuantity.value``).
    """

    def __init__(self, message: str, errors: list[dict] | None = None, *, resource_type: str | None = None,
                 resource_id: str | None = None, index: int | None = None, path: str | None = None,
                 file: str | None = None):
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.index = index
        self.path = path
        self.file = file
        super().__init__(message, errors)


class OmopError(PatientDataError):
    """An OMOP CDM database that cannot be read as asked (:mod:`eligimatch.sources.omop`): not an OMOP CDM
    database, no such person, a table or column missing.  ``table`` names the table when there is one."""

    def __init__(self, message: str, *, table: str | None = None):
        self.table = table
        super().__init__(message)


class RegistryError(EligimatchError):
    """A ClinicalTrials.gov record that cannot be read or drafted (its file, shape or missing parts)."""


class DecisionError(EligimatchError):
    """An investigator's decision that cannot be recorded: no such criterion, or nothing to decide."""


class FormatError(EligimatchError):
    """The file could not be formatted without losing something (a comment); it should be left as it is."""


class InputError(EligimatchError):
    """A file or document that cannot be read as given: too large, not a regular file, not strict JSON.

    ``path``: where in the document (``facts.ecog``), when the problem has a place.
    """

    def __init__(self, message: str, path: str | None = None, reason: str | None = None):
        self.path = path
        self.reason = reason or message  # the message without the document's name and the path
        super().__init__(message)


class PopulationError(EligimatchError, ValueError):
    """A population question that cannot be answered as asked: a database that holds neither the
    canonical patient tables nor an OMOP CDM, a what-if naming a criterion the trial does not have or a
    threshold that cannot be told apart, a backend that is not installed."""


# ---- internal signals: raised and caught inside eligimatch, never seen by a caller ------------------

class UsageError(Exception):
    """A mistake in the command line itself: exit status 2 (:mod:`eligimatch.cli`)."""


class Failed(Exception):
    """Errors already printed: exit status 1 (:mod:`eligimatch.cli`)."""


class MissingAnchor(Exception):
    """An anchor with no date: the predicate counted from it is UNKNOWN (see
    :func:`eligimatch.engine._evaluate.anchor_unknown`)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class PlanError(EligimatchError):
    """A plan that cannot be built or read: a tree that did not pass the checker reached the binder (a bug),
    or a serialised plan names a node type or catalog entry that does not exist (:mod:`eligimatch.plan`)."""


class ApiError(Exception):
    """An error answer of the web service (:mod:`eligimatch.service.app`): HTTP status, message, details."""

    def __init__(self, status: int, message: str, errors: Sequence[dict[str, str]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)


class SqlNotExpressibleError(EligimatchError):
    """A criterion the SQL backend cannot express for a dialect (issue 16): ``eligimatch.sql.compile_sql``
    says so for that criterion instead of giving an answer that could differ from the row engine's."""
