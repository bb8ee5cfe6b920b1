"""The one name normaliser: the key under which catalog names, synonyms and coded values are compared.

``normalize_name`` removes accents (``Sjögren`` = ``Sjogren``), folds case, drops a possessive ``'s``
(``Sjögren's syndrome`` = ``Sjogren syndrome``) and removes every character that is not a letter or a digit
(spaces, ``_``, ``-``, apostrophes, brackets), so that an id ``systemic_lupus_erythematosus``, the name
``Systemic lupus erythematosus`` and ``systemic-lupus  erythematosus`` are one key.

A catalog whose names differ by a symbol keeps that symbol (``keep``): analytes keep ``%``, ``+`` and ``/``
(``CD4%`` is not ``CD4``, ``CD4+`` not ``CD4``); attribute values keep ``+`` (HER2 ``2+`` is not ``2``).
Each catalog refuses two entries with one key when it is loaded, so a looser key can never merge two
entries silently.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_name", "ANALYTE_NAME_SYMBOLS", "ATTRIBUTE_VALUE_SYMBOLS"]

#: Symbols that tell analyte names apart (kept in their keys).
ANALYTE_NAME_SYMBOLS = "%+/"
#: Symbols that tell coded attribute values apart (kept in their keys).
ATTRIBUTE_VALUE_SYMBOLS = "+"

_POSSESSIVE = re.compile(r"['\u2019\u02bc`\u00b4]s(?![^\W_])")  # "Bowen's_disease" too: '_' ends a word here


def normalize_name(text: str, keep: str = "") -> str:
    """The key under which a name is compared (see the module docstring); ``keep``: symbols that stay.

    >>> normalize_name("Sjögren's syndrome"), normalize_name("systemic-lupus  erythematosus")
    ('sjogrensyndrome', 'systemiclupuserythematosus')
    >>> normalize_name("CD4 %", keep=ANALYTE_NAME_SYMBOLS)
    'cd4%'
    """
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c))
    t = _POSSESSIVE.sub("", t.casefold())
    return "".join(c for c in t if c.isalnum() or c in keep)
