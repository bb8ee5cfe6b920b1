"""The registry record: one model for a ClinicalTrials.gov study, whatever format it came in.

:func:`eligimatch.ctgov.load_record` fills it from API v2 JSON, legacy XML or the
classic JSON API; the same trial gives the same fields from every format (the
criteria text keeps the format's own layout in :attr:`RegistryRecord.criteria_text`;
the items split from it compare equal).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Age", "Intervention", "Item", "RegistryRecord"]

Kind = Literal["inclusion", "exclusion"]
Sex = Literal["all", "female", "male"]
AgeUnit = Literal["years", "months", "weeks", "days", "hours", "minutes"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Age(_Frozen):
    """A registry age limit: ``18 Years`` is ``Age(value=18, unit="years")``."""

    value: int
    unit: AgeUnit

    def __str__(self) -> str:
        return f"{self.value} {self.unit}"


class Intervention(_Frozen):
    """An intervention as the registry lists it: type in upper case (``DRUG``) and name."""

    type: str
    name: str


class Item(_Frozen):
    """One eligibility criterion item, in the order the registry text gives it.

    ``number`` is its position (``"3"``, ``"3.2"`` for the second sub-item of the third
    item), counted per section; ``label`` the marker as written (``"3."``, ``"a)"``,
    ``"SI01:"``, ``"-"``) or ``None`` for a bare line; ``level`` its nesting depth (0 for
    a top-level item); ``parent`` the number of the item it is nested under;
    ``heading`` the nearest sub-heading above it (``"Hematopoietic"``); ``cohort`` the
    cohort or part heading it belongs to, if the text has them.
    """

    kind: Kind
    number: str
    label: str | None
    level: int
    parent: str | None
    text: str
    heading: str | None = None
    cohort: str | None = None


class RegistryRecord(_Frozen):
    """A trial as the registry describes it, with its criteria split into items.

    ``sex`` is ``None`` when the record does not say; ages are ``None`` when absent
    or ``N/A``; ``healthy_volunteers`` is ``None`` when not stated.  ``phases`` use the
    API v2 spelling (``PHASE1``, ``PHASE2``, ``EARLY_PHASE1``, ``NA``), ``status`` too
    (``COMPLETED``, ``RECRUITING``, ``NOT_YET_RECRUITING``).
    """

    id: str
    title: str | None
    official_title: str | None = None
    conditions: tuple[str, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    phases: tuple[str, ...] = ()
    status: str | None = None
    sex: Sex | None = None
    minimum_age: Age | None = None
    maximum_age: Age | None = None
    healthy_volunteers: bool | None = None
    criteria_text: str | None = None
    items: tuple[Item, ...] = ()
    cohorts: tuple[str, ...] = ()
    source_format: Literal["api-v2-json", "legacy-xml", "classic-json", "text"]
    source: str | None = None

    @property
    def inclusion(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.kind == "inclusion")

    @property
    def exclusion(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.kind == "exclusion")

    def comparable(self) -> dict[str, object]:
        """The fields that do not depend on the format: what two loaders must agree on.

        Left out: where it came from, the raw text layout, and the item markers and
        nesting (the classic JSON API flattened bullets into bare lines, so they
        cannot be recovered from it).
        """
        data = self.model_dump(exclude={"source", "source_format", "criteria_text", "items"})
        data["items"] = [(i.kind, i.text, i.heading, i.cohort) for i in self.items]
        return data
