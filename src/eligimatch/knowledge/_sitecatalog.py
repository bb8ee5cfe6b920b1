"""Site catalogs: a site's own facts, analytes, conditions, procedures, drugs and attributes, as a TOML file.

A site catalog file has one section per bundled catalog, each in the same shape as the bundled file
(``src/eligimatch/catalog/*.toml``; docs/catalogs.md):

.. code-block:: toml

    [catalog]                       # optional: name, version, description
    name = "Breast oncology, site X"

    [facts.menopausal_status]       # as in facts.toml: one table per fact
    name = "Menopausal status"
    type = "enum"
    values = ["premenopausal", "perimenopausal", "postmenopausal"]

    [analytes.bilirubin_direct]     # as in analytes.toml: one table per analyte
    name = "Direct bilirubin"
    unit = "mg/dL"

    [[conditions.concept]]          # as in conditions.toml
    id = "gilbert_syndrome"
    name = "Gilbert syndrome"

    [[drugs.class]]                 # as in drugs.toml
    [[drugs.drug]]

    [attributes.resectable]         # as in attributes.toml: one table per attribute a `where` tests
    kind = "yesno"
    name = "Resectable (surgical assessment)"

An entry whose id is already in the catalogs *replaces* it; any other is added.  Each file is read and
checked by the same code that reads the bundled catalogs, and a mistake is reported with the file, the
section and the entry (:class:`~eligimatch.errors.CatalogError`), never half-applied.

:meth:`eligimatch.Catalogs.load` applies files in order; the command line's ``--catalog FILE`` does
the same.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eligimatch.errors import CatalogError
from eligimatch.knowledge._catalog_files import TEXT_SOURCE, read_catalog

if TYPE_CHECKING:  # pragma: no cover
    from eligimatch.knowledge._catalogs import Catalogs

__all__ = ["SECTIONS", "apply_site_catalog", "load_site_catalogs"]

#: The sections a site catalog may have (besides ``[catalog]``), each named after a catalog of
#: :class:`~eligimatch.Catalogs`.
SECTIONS = ("facts", "analytes", "conditions", "procedures", "drugs", "attributes")

_HEADER_KEYS = {"name", "version", "description"}


def load_site_catalogs(paths: Iterable[str | os.PathLike[str]], base: Catalogs | None = None) -> Catalogs:
    """``base`` (default: the bundled catalogs) with each site catalog file applied, in order."""
    from eligimatch.knowledge._catalogs import Catalogs

    cats = base if base is not None else Catalogs.default()
    for path in paths:
        cats = apply_site_catalog(cats, path)
    return cats


def apply_site_catalog(cats: Catalogs, path: str | os.PathLike[str]) -> Catalogs:
    """``cats`` with the entries of one site catalog file added (or replacing those of the same id)."""
    where = os.fspath(path)
    if not Path(where).exists():
        raise CatalogError(f"{where}: no such catalog file")
    data, _ = read_catalog(Path(where), "site")
    unknown = sorted(set(data) - set(SECTIONS) - {"catalog"})
    if unknown:
        raise CatalogError(f"{where}: unknown section(s) {', '.join(unknown)}; a site catalog has "
                           f"[catalog] and sections {', '.join(SECTIONS)} (docs/catalogs.md)")
    header = data.get("catalog", {})
    if not isinstance(header, dict) or set(header) - _HEADER_KEYS:
        raise CatalogError(f"{where}: catalog: [catalog] is a table of {', '.join(sorted(_HEADER_KEYS))}")
    changes: dict[str, Any] = {}
    for section in SECTIONS:
        if section not in data:
            continue
        body = data[section]
        if not isinstance(body, dict):
            raise CatalogError(f"{where}: {section}: must be a table ([{section}.ID] or [[{section}.…]] entries)")
        try:
            changes[section] = _apply(section, getattr(cats, section), body, where)
        except CatalogError as exc:
            raise CatalogError(_located(str(exc), where, section)) from None
    if not changes:
        return cats
    try:
        return dataclasses.replace(cats, **changes)
    except CatalogError as exc:  # pragma: no cover - a catalog checked across parts
        raise CatalogError(f"{where}: {exc}") from None


def _located(message: str, where: str, section: str) -> str:
    for placeholder in (TEXT_SOURCE,):
        message = message.replace(f"{placeholder}: ", "").replace(placeholder, where)
    return message if message.startswith(f"{where}: ") else f"{where}: {section}: {message}"


def _apply(section: str, current: Any, body: dict[str, Any], where: str) -> Any:
    if section == "facts":
        from eligimatch.knowledge._facts import FactCatalog, FactDef

        allowed = {f.name for f in dataclasses.fields(FactDef)} - {"id"} | {"value_synonyms"}
        for fid, entry in body.items():
            if not isinstance(entry, dict):
                raise CatalogError(f"{fid}: must be a table ([facts.{fid}])")
            extra = sorted(set(entry) - allowed)
            if extra:
                raise CatalogError(f"{fid}: unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")
        return current.extended(FactCatalog.from_toml(_to_toml(body)))
    if section == "analytes":
        from eligimatch.knowledge._analytes import AnalyteCatalog

        return current.extended(AnalyteCatalog.from_toml(_to_toml({"schema_version": 1, **body})))
    if section in ("conditions", "procedures"):
        from eligimatch.knowledge._concepts import ConceptCatalog

        _only(body, {"concept"}, section)
        kind = section[:-1]
        entries = body.get("concept", [])
        if not isinstance(entries, list):
            raise CatalogError(f"concepts must be written as [[{section}.concept]] tables")
        new_ids = {e.get("id") for e in entries if isinstance(e, dict)}
        # parents may be bundled concepts: check the new entries together with the bundled hierarchy
        known = [c for c in current if c.id not in new_ids]
        concepts = ConceptCatalog.from_toml(_to_toml(body, stubs=("concept", known)), kind=kind)
        return current.extended([c for c in concepts if c.id in new_ids], replace=True)
    if section == "drugs":
        from eligimatch.knowledge._drugs import DrugCatalog

        _only(body, {"class", "drug"}, section)
        items = _drug_items(body)
        new_ids = {e.get("id") for e in items}
        # classes the new drugs name may be bundled ones: check the new entries together with the bundled classes
        known = [c for c in current.classes if c.id not in new_ids]
        drugs = DrugCatalog.from_toml(_to_toml(body, stubs=("class", known)))
        mine: list[Any] = [x for x in (*drugs.classes, *drugs.drugs) if getattr(x, "id", None) in new_ids]
        return current.extended(mine, replace=True)
    if section == "attributes":
        from eligimatch.knowledge._attributes import AttributeCatalog

        for aid, entry in body.items():
            if not isinstance(entry, dict):
                raise CatalogError(f"{aid}: must be a table ([attributes.{aid}])")
        return current.extended(AttributeCatalog.from_toml(_to_toml(body)))
    raise AssertionError(section)  # pragma: no cover


def _drug_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for kind in ("class", "drug"):
        entries = body.get(kind, [])
        if not isinstance(entries, list):
            raise CatalogError(f"{kind} entries must be written as [[drugs.{kind}]] tables")
        items.extend(e for e in entries if isinstance(e, dict))
    return items


def _only(body: dict[str, Any], keys: set[str], section: str) -> None:
    extra = sorted(set(body) - keys)
    if extra:
        spelled = " and ".join(f"[[{section}.{k}]]" for k in sorted(keys))
        raise CatalogError(f"unknown key(s) {', '.join(extra)}; entries are written as {spelled}")


# ---- writing a section back as TOML, for the bundled loaders -------------------------------------

def _to_toml(body: dict[str, Any], stubs: tuple[str, Iterable[Any]] = ("", ())) -> str:
    """TOML text for one section's tables (the bundled loaders read text); values as tomllib gave them."""
    lines: list[str] = []
    for key, value in body.items():
        if not isinstance(value, (dict, list)) or (isinstance(value, list) and not all(
                isinstance(v, dict) for v in value)) or (isinstance(value, list) and not value):
            lines.append(f"{_key(key)} = {_value(value, key)}")
    for key, value in body.items():
        if isinstance(value, dict):
            lines.append(f"[{_key(key)}]")
            lines.extend(f"{_key(k)} = {_value(v, f'{key}.{k}')}" for k, v in value.items())
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for n, entry in enumerate(value, 1):
                lines.append(f"[[{_key(key)}]]")
                lines.extend(f"{_key(k)} = {_value(v, f'{key}[{n}].{k}')}" for k, v in entry.items())
    table, known = stubs
    for c in known:  # bundled entries (id, name, parents only), so that new entries may name them
        lines.append(f"[[{table}]]")
        lines.append(f"id = {_value(c.id, 'id')}")
        lines.append(f"name = {_value(c.name, 'name')}")
        if c.parents:
            lines.append(f"parents = {_value(list(c.parents), 'parents')}")
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _value(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CatalogError(f"{path}: must be a finite number, not {value}")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, f"{path}[{i}]") for i, v in enumerate(value, 1)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v, f'{path}.{k}')}" for k, v in value.items()) + "}"
    raise CatalogError(f"{path}: a {type(value).__name__} is not a catalog value")
