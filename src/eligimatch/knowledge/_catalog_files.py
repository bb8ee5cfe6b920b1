"""Reading catalog TOML files: one reader for every catalog, bundled or a site's, with located errors.

Every catalog (``catalog/*.toml``: facts, attributes, analytes, conditions, procedures, drugs) and every
site catalog file (:mod:`eligimatch.knowledge._sitecatalog`) is read by :func:`read_catalog`: a file
or TOML text in, the parsed tables and a label of where they came from out; a file that cannot be read or
is not TOML is a :class:`~eligimatch.errors.CatalogError` naming the file (and, for TOML, the line and column).
What the tables must hold is then checked by each catalog, naming the entry and the field.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from eligimatch.errors import CatalogError

__all__ = ["TEXT_SOURCE", "read_catalog", "bundled_catalog_text", "Entry", "validate_entry"]

#: The label of a catalog given as TOML text rather than a file.
TEXT_SOURCE = "<text>"


def _is_path(source: str | os.PathLike[str] | bytes) -> bool:
    """A path-like object is a file; a string is TOML text when it holds a newline or ``=``, starts with ``[``
    or is blank; any other string is a file path."""
    if isinstance(source, os.PathLike):
        return True
    if isinstance(source, str):
        return bool(source.strip()) and "\n" not in source and "=" not in source \
            and not source.lstrip().startswith("[")
    return False


def read_catalog(source: str | os.PathLike[str] | bytes, what: str) -> tuple[dict[str, Any], str]:
    """The tables of one catalog file or text, and where they came from (the path, or ``<text>``).

    ``what`` names the catalog in messages ("fact", "analyte", "drug", ...).  ``bytes`` are UTF-8 TOML text.

    :raises CatalogError: the file does not exist, cannot be read, is not UTF-8, or is not TOML.
    """
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CatalogError(f"{TEXT_SOURCE}: {what} catalog is not UTF-8 text: {exc}") from None
    if _is_path(source):
        path = Path(source)
        where = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CatalogError(f"{what} catalog file not found: {where}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"cannot read {what} catalog {where}: {exc}") from None
    elif isinstance(source, str):
        text, where = source, TEXT_SOURCE
    else:
        raise CatalogError(f"expected a path or TOML text for the {what} catalog, got {type(source).__name__}")
    try:
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{where}: {what} catalog is not valid TOML: {exc}") from None


def bundled_catalog_text(name: str) -> str:
    """The text of a catalog shipped in the package (``eligimatch/catalog/NAME.toml``)."""
    return resources.files("eligimatch").joinpath("catalog", f"{name}.toml").read_text(encoding="utf-8")


class Entry(BaseModel):
    """The shape of one catalog entry (a TOML table): each catalog's entry model derives from it.

    Unknown keys are refused (a misspelt ``synonym`` is an error, not an entry without synonyms), and values
    are not coerced between kinds (``values = [1, 2]`` where texts are expected is an error).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def validate_entry(model: type[Entry], table: Any, where: str) -> Any:
    """``table`` checked against ``model``; a :class:`CatalogError` naming ``where`` (file and entry) and the
    field for each problem otherwise."""
    if not isinstance(table, dict):
        raise CatalogError(f"{where}: must be a table, not {type(table).__name__}")
    try:
        return model.model_validate(table)
    except ValidationError as exc:
        problems: dict[str, list[str]] = {}
        for err in exc.errors(include_url=False):
            loc = list(err["loc"])
            if len(loc) > 1 and loc[-1] in _UNION_TAGS:  # one branch of `int | float`: one problem per field
                loc.pop()
            field = ".".join(str(part) for part in loc) or "(entry)"
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.setdefault(field, []).append(message)
        raise CatalogError(f"{where}: " + "; ".join(f"{field}: {' or '.join(dict.fromkeys(msgs))}"
                                                     for field, msgs in problems.items())) from None


_UNION_TAGS = frozenset({"int", "float", "str", "bool"})
