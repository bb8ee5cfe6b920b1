"""Reading FHIR leniently: each resource validated on its own with fhir.resources (R4B models).

An invalid resource is *quarantined* (set aside, with its path and reason) unless its only errors are in elements
eligimatch does not read, which are then dropped (noted); values marked absent (data-absent-reason) are cleared.
``strict`` refuses the whole input at the first invalid resource instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from eligimatch.errors import FhirError
from eligimatch.sources.fhir._lenient import READ_ELEMENTS, absent_elements, drop, droppable, older_version, placeholder

__all__ = ["R4_ONLY", "USED_TYPES"]

#: R4 resource types that R4B removed: valid R4, but fhir.resources.R4B has no model to validate them.
R4_ONLY = frozenset({
    "MedicinalProduct", "MedicinalProductAuthorization", "MedicinalProductContraindication",
    "MedicinalProductIndication", "MedicinalProductIngredient", "MedicinalProductInteraction",
    "MedicinalProductManufactured", "MedicinalProductPackaged", "MedicinalProductPharmaceutical",
    "MedicinalProductUndesirableEffect", "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein",
    "SubstanceReferenceInformation", "SubstanceSourceMaterial", "SubstanceSpecification",
    "EffectEvidenceSynthesis", "RiskEvidenceSynthesis",
})


@dataclass
class _Item:
    """One resource of the input, before and after validation."""

    raw: Any  # the resource (a JSON object), or None for an entry without one
    where: str
    index: int | None
    file: str | None = None
    full_url: str | None = None
    model: Any = None
    rtype: str = ""
    rid: str | None = None
    usable: bool = True
    quarantine: str | None = None  # why the resource is set aside (lenient reading)
    notes: tuple[str, ...] = ()  # caveats found while validating (dropped elements, absent values)


def _fhir_models() -> Any:
    try:
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError:
        raise FhirError(
            "reading FHIR needs the optional dependency fhir.resources: pip install 'eligimatch[fhir]'"
        ) from None
    return get_fhir_model_class


def _loc_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _validation_error(exc: ValidationError, rtype: str, rid: Any, index: int | None, where: str,
                      file: str | None) -> FhirError:
    errors = exc.errors(include_url=False)
    label = f"{rtype}/{rid if rid.isprintable() else repr(rid)}" if isinstance(rid, str) and rid else rtype
    lines = [f"invalid FHIR in {where} ({label}): {len(errors)} problem{'s' if len(errors) != 1 else ''}:"]
    if file:
        lines[0] = f"{file}: " + lines[0]
    first_path = None
    for err in errors:
        path = rtype + ("." + _loc_path(err["loc"]) if err["loc"] else "")
        first_path = first_path or path
        msg = re.sub(r"^Value error, ", "", str(err.get("msg", "invalid")))
        given = err.get("input")
        shown = "" if isinstance(given, (dict, list)) or given is None else f" (got {given!r:.60})"
        if placeholder(given):
            msg, shown = "a template's placeholder, not a date", f" (got {given!r})"
        lines.append(f"  {path}: {msg}{shown}")
    clean = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in errors]
    return FhirError("\n".join(lines), clean, resource_type=rtype, resource_id=rid if isinstance(rid, str) else None,
                     index=index, path=first_path, file=file)


#: The resource types eligimatch reads; ``validate="used"`` validates only these.
USED_TYPES = frozenset({"Patient", "Observation", "Condition", "Procedure", "MedicationStatement",
                        "MedicationRequest", "MedicationAdministration", "Medication"})


def _error_summary(error: FhirError, limit: int = 3) -> str:
    """The problems of a validation error on one line: ``path: why; path: why``."""
    problems = [line.strip() for line in str(error).splitlines()[1:]]
    if not problems:
        return str(error).split(": ", 1)[-1]
    shown = "; ".join(problems[:limit])
    return shown + (f"; and {len(problems) - limit} more" if len(problems) > limit else "")


def _set_aside(item: _Item, error: FhirError, strict: bool, reason: str) -> None:
    if strict:
        raise error
    item.quarantine = reason
    item.usable = False
    item.model = None


def _validate(items: list[_Item], validate: str = "all", strict: bool = False) -> None:
    """Validate each resource on its own.

    ``strict``: the first invalid resource raises :class:`FhirError` (all or nothing).
    Otherwise an invalid resource is quarantined (``item.quarantine`` says why) unless its
    only errors are in elements eligimatch does not read, which are then dropped (noted).
    """
    if validate not in ("all", "used"):
        raise ValueError(f"validate must be 'all' or 'used', got {validate!r}")
    model_class = _fhir_models()
    from fhir.resources.R4B.resource import Resource

    for item in items:
        raw = item.raw
        if raw is None:
            continue
        prefix = f"{item.file}: " if item.file else ""
        if not isinstance(raw, dict):
            _set_aside(item, FhirError(f"{prefix}{item.where}: the resource must be a JSON object", index=item.index,
                                       file=item.file), strict, "the resource is not a JSON object")
            continue
        rtype = raw.get("resourceType")
        rid = raw.get("id")
        item.rid = rid if isinstance(rid, str) else None
        if not isinstance(rtype, str) or not rtype:
            _set_aside(item, FhirError(f"{prefix}{item.where}: the resource has no resourceType (a string naming its "
                                       "type)", index=item.index, path="resourceType", file=item.file),
                       strict, "no resourceType: what this resource is cannot be told")
            continue
        item.rtype = rtype
        if rtype in R4_ONLY:
            continue  # reported later as not mapped (and not validated)
        try:
            cls = model_class(rtype)
        except (ValueError, KeyError, AttributeError):
            cls = None
        if cls is None or not issubclass(cls, Resource) or rtype in ("Resource", "DomainResource"):
            old = older_version(raw)
            _set_aside(item, FhirError(f"{prefix}{item.where}: {rtype!r} is not a FHIR R4 resource type"
                                       + (f" ({old})" if old else ""), resource_type=rtype,
                                       resource_id=item.rid, index=item.index, path="resourceType", file=item.file),
                       strict, old or f"{rtype!r} is not a FHIR R4 resource type")
            continue
        if validate == "used" and rtype not in USED_TYPES:
            continue
        try:
            item.model = cls.model_validate(raw)
        except ValidationError as exc:
            error = _validation_error(exc, rtype, rid, item.index, item.where, item.file)
            old = older_version(raw)
            if strict:
                if old:
                    error = FhirError(f"{error}\n  (the resource is {old})", error.errors,
                                      resource_type=error.resource_type, resource_id=error.resource_id,
                                      index=error.index, path=error.path, file=error.file)
                raise error from None
            _salvage(item, cls, exc, error, old)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:  # a validator that raised outside pydantic
            _set_aside(item, FhirError(f"{prefix}invalid FHIR in {item.where} ({rtype}): {exc}", resource_type=rtype,
                                       resource_id=item.rid, index=item.index, file=item.file),
                       strict, f"invalid FHIR: {exc}")
            continue
        if item.model is not None:
            _absent_values(item)


def _salvage(item: _Item, cls: Any, exc: ValidationError, error: FhirError, old: str | None) -> None:
    """Keep a resource whose errors are all in elements eligimatch does not read; else quarantine it."""
    raw = item.raw
    summary = _error_summary(error)
    # A resource in an older version's shape is not read as R4, except the Patient's demographics
    # (birthDate, gender, deceased), which every FHIR version writes alike.
    if old and item.rtype != "Patient":
        _set_aside(item, error, False, f"{old}: not read as R4 ({summary})")
        return
    tops = droppable(item.rtype, raw, [tuple(e["loc"]) for e in exc.errors(include_url=False)])
    if tops:
        try:
            item.model = cls.model_validate(drop(raw, tops))
        except (ValidationError, ValueError, TypeError, KeyError):
            item.model = None
        if item.model is not None:
            shown = ", ".join(item.rtype + "." + _loc_path(t) for t in tops)
            item.notes += (f"invalid element(s) {shown} dropped: eligimatch does not read them ({summary})"
                           + (f"; the resource is {old}" if old else ""),)
            return
    _set_aside(item, error, False, f"invalid FHIR R4: {summary}" + (f" (the resource is {old})" if old else ""))


def _absent_values(item: _Item) -> None:
    """Values marked absent (data-absent-reason) are not used: the model's element is cleared."""
    absent = absent_elements(item.raw)
    if not absent:
        return
    read = READ_ELEMENTS.get(item.rtype, frozenset())
    update: dict[str, Any] = {}
    for element, reason in absent.items():
        if element not in read:
            continue
        present = getattr(item.model, element, None) is not None
        if present:
            update[element] = None
            item.notes += (f"{element} is given with a data-absent-reason ({reason}): the value is not used",)
        else:
            item.notes += (f"{element} is absent (data-absent-reason: {reason})",)
    if update:
        item.model = item.model.model_copy(update=update)
