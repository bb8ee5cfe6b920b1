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

from eligimatch.errors import CatalogError

__all__ = ["TEXT_SOURCE", "read_catalog", "bundled_catalog_text"]

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
