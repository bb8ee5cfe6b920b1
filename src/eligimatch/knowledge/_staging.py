"""Cancer staging values: AJCC/FIGO stage groups and TNM categories normalised to one value set.

Used by the attribute catalog (the ``stage``, ``t``, ``n``, ``m`` attributes of a condition) and by FHIR input
(:mod:`eligimatch.sources.fhir`, mCODE staging observations).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["STAGE_VALUES", "normalize_stage", "normalize_tnm"]

#: The stage value set: AJCC/FIGO-style groups.
STAGE_VALUES = ("0", "I", "IA", "IA1", "IA2", "IA3", "IB", "IB1", "IB2", "IC", "II", "IIA", "IIA1", "IIA2", "IIB",
                "IIC", "III", "IIIA", "IIIB", "IIIC", "IIIC1", "IIIC2", "IV", "IVA", "IVB", "IVC")
_ARABIC = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV"}
_STAGE_RE = re.compile(r"^(?:(?:AJCC|FIGO|TNM|CLINICAL|PATHOLOGICAL|PATHOLOGIC)\s+)*(?:STAGE\s*(?:GROUP\s*)?)?"
                       r"(0|IV|I{1,3}|[1-4])\s*([ABC])?\s*([12])?$")
_TNM_RE = {
    "t": re.compile(r"^(?:Y?[CPR]|A)?T(X|0|IS|[1-4])([A-D])?(?:\(\w+\))?$"),
    "n": re.compile(r"^(?:Y?[CPR])?N(X|[0-3])([A-C]|MI)?(?:\(\w+\))?$"),
    "m": re.compile(r"^(?:Y?[CPR])?M(X|0|1)([A-D])?(?:\(\w+\))?$"),
}


def normalize_stage(text: Any) -> str | None:
    """``"Stage IIB"``, ``"IIB"``, ``"2B"``, ``"stage 2b"``, ``"American Joint Committee on Cancer stage IIB"``
    -> ``"IIB"``; None for anything else (``"IIE"``, ``"limited"``)."""
    if not isinstance(text, str):
        return None
    t = re.sub(r"\(.*?\)", "", text).upper().replace("AMERICAN JOINT COMMITTEE ON CANCER", "AJCC")
    t = re.sub(r"[\s_\-]+", " ", t).strip()
    m = _STAGE_RE.match(t)
    if not m:
        return None
    group = _ARABIC.get(m.group(1), m.group(1))
    value = group + (m.group(2) or "") + (m.group(3) or "")
    return value if value in STAGE_VALUES else None


def normalize_tnm(kind: str, text: Any) -> str | None:
    """``("t", "cT3")`` -> ``"T3"``; ``("n", "pN1a")`` -> ``"N1a"``; None when not a category of that kind."""
    if not isinstance(text, str):
        return None
    t = re.sub(r"\(qualifier value\)|AMERICAN JOINT COMMITTEE ON CANCER", "", text.upper()).strip().replace(" ", "")
    m = _TNM_RE[kind].match(t)
    if not m:
        return None
    core = m.group(1)
    core = "is" if core == "IS" else core
    suffix = (m.group(2) or "").lower()
    return kind.upper() + core + suffix
