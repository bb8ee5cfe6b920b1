"""How criteria and records name drugs beyond their names: RxNorm codes and molecular-target selectors.

* an RxNorm ingredient code is written ``RXNORM:121191`` (also ``RxCUI:``, ``RXN:``) or bare ``121191``
  (:func:`rxcui`);
* a target selector names every drug with a molecular target: ``target:cd19``, ``cd19_targeted``,
  ``CD19-targeted therapy``, ``CD19-directed``, ``anti-CD19`` (:func:`target_of`); only targets some
  catalog drug has are recognised (the caller passes them).

A catalog target is spelt in lowercase letters and digits, words joined by ``-`` (:data:`TARGET_RE`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from eligimatch.knowledge._names import normalize_name

__all__ = ["TARGET_PREFIX", "TARGET_RE", "RXCUI_RE", "rxcui", "target_of"]

#: Prefix of the id of a synthetic target class: ``"target:cd19"``.
TARGET_PREFIX = "target:"

TARGET_RE = re.compile(r"^[a-z0-9][a-z0-9]*(?:-[a-z0-9]+)*$")
RXCUI_RE = re.compile(r"^[1-9][0-9]{0,9}$")
_RXNORM_SYSTEMS = {"RXNORM", "RXCUI", "RXN"}
_TARGET_SUFFIXES = (
    "targetedtherapies",
    "targetedtherapy",
    "targetedagents",
    "targetedagent",
    "targetedtreatment",
    "targeted",
    "directedtherapy",
    "directed",
)
_ANTI_SUFFIXES = ("antibodies", "antibody", "therapy", "therapies", "agent", "agents", "treatment", "")


def rxcui(text: str) -> str | None:
    """The RxNorm concept id a code names (``"RXNORM:121191"``, ``"121191"``), or None."""
    if ":" in text:
        system, _, code = text.partition(":")
        if re.sub(r"[^A-Z]", "", system.upper()) not in _RXNORM_SYSTEMS:
            return None
        code = code.strip()
    else:
        code = text
    return code if RXCUI_RE.match(code) else None


def target_of(text: str, targets: Mapping[str, str]) -> str | None:
    """The canonical target a target selector names, or None; ``targets``: normalised key -> spelling."""
    lowered = text.strip().casefold()
    if lowered.startswith(TARGET_PREFIX):
        return targets.get(normalize_name(lowered[len(TARGET_PREFIX):]))
    key = normalize_name(text)
    for suffix in _TARGET_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            hit = targets.get(key[: -len(suffix)])
            if hit is not None:
                return hit
    if key.startswith("anti"):
        rest = key[4:]
        for suffix in _ANTI_SUFFIXES:
            if rest.endswith(suffix) and len(rest) > len(suffix):
                hit = targets.get(rest[: len(rest) - len(suffix)] if suffix else rest)
                if hit is not None:
                    return hit
    return None
