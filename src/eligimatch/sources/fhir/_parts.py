"""What the FHIR record mixins (:mod:`._observations`, :mod:`._records`, :mod:`._medications`) may use of the
mapper they are mixed into (:class:`eligimatch.sources.fhir._mapper._Mapper`): the shared
:class:`~eligimatch.sources._collect.Collector`, and, for type checking only, the mapper's and the oncology mixin's
own attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eligimatch.sources._collect import Collector

__all__ = ["FhirParts"]


class FhirParts(Collector):
    """The base of the FHIR record mixins."""

    if TYPE_CHECKING:
        items: list[Any]
        condition_items: list[Any]
        medication_users: dict[int, list[str]]

        def resolve(self, reference: str | None) -> Any: ...

        def med_indication(self, m: Any) -> str | None: ...

        @staticmethod
        def oncology_kind(codings: list[tuple[Any, str, Any]]) -> tuple[str, str] | None: ...

        def oncology_observation(self, item: Any, o: Any, kind: tuple[str, str], when: Any, codes: tuple,
                                 codings_of: Any, labels_of: Any) -> None: ...

        def condition_attributes(self, item: Any, c: Any, codings_of: Any) -> tuple[dict[str, Any], list[str]]: ...
