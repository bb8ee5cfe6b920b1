"""Find catalog concepts (drugs and drug classes, procedures, conditions) named in criterion text.

A phrase index over every id, name and synonym of the shipped catalogs, plus the
registry spellings listed in :data:`REGISTRY_PHRASES`; matched on whole words,
ignoring case, longest phrase first.  Used by the drafter to name what a window
or a history criterion is about; a phrase it cannot place leaves the criterion
to the investigator (``judgment``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from eligimatch.ctgov.vocabulary import per_catalogs
from eligimatch.knowledge._catalogs import Catalogs

__all__ = ["REGISTRY_PHRASES", "Mention", "mentions"]

Kind = Literal["drug", "procedure", "condition"]

# Registry spellings the catalogs do not list as synonyms, resolved to catalog ids
# (kind, id).  Added from the ClinicalTrials.gov corpus; extend with care: a phrase
# here must mean exactly the concept, never something broader or narrower.
REGISTRY_PHRASES: dict[str, tuple[Kind, str]] = {
    "chemotherapy": ("drug", "cytotoxic_chemotherapy"),
    "cytotoxic chemotherapy": ("drug", "cytotoxic_chemotherapy"),
    "cytotoxic therapy": ("drug", "cytotoxic_chemotherapy"),
    "systemic chemotherapy": ("drug", "cytotoxic_chemotherapy"),
    "radiotherapy": ("procedure", "radiotherapy"),
    "radiation therapy": ("procedure", "radiotherapy"),
    "radiation": ("procedure", "radiotherapy"),
    "major surgery": ("procedure", "major_surgery"),
    "major surgeries": ("procedure", "major_surgery"),
    "major surgical procedure": ("procedure", "major_surgery"),
    "hormonal therapy": ("drug", "endocrine_therapy"),
    "endocrine therapy": ("drug", "endocrine_therapy"),
    "immune checkpoint inhibitor": ("drug", "immune_checkpoint_inhibitor"),
    "immune checkpoint inhibitor therapy": ("drug", "immune_checkpoint_inhibitor"),
    "monoclonal antibody": ("drug", "monoclonal_antibody"),
    "therapy with monoclonal antibody": ("drug", "monoclonal_antibody"),
    "live vaccine": ("drug", "live_vaccine"),
    "live vaccines": ("drug", "live_vaccine"),
    "live attenuated vaccine": ("drug", "live_vaccine"),
    "blood transfusion": ("procedure", "blood_transfusion"),
    "hiv": ("condition", "hiv_infection"),
    "hiv infection": ("condition", "hiv_infection"),
    "human immunodeficiency virus": ("condition", "hiv_infection"),
    "hepatitis b": ("condition", "hepatitis_b"),
    "hepatitis b virus": ("condition", "hepatitis_b"),
    "hbv": ("condition", "hepatitis_b"),
    "hepatitis c": ("condition", "hepatitis_c"),
    "hepatitis c virus": ("condition", "hepatitis_c"),
    "hcv": ("condition", "hepatitis_c"),
    "brain metastases": ("condition", "brain_metastases"),
    "brain metastasis": ("condition", "brain_metastases"),
    "cns metastases": ("condition", "brain_metastases"),
    "central nervous system metastases": ("condition", "brain_metastases"),
    "liver metastases": ("condition", "liver_metastases"),
    "liver metastasis": ("condition", "liver_metastases"),
    "hepatic metastases": ("condition", "liver_metastases"),
}


@dataclass(frozen=True)
class Mention:
    kind: Kind
    id: str
    start: int
    end: int
    text: str


def _build_index(cats: Catalogs) -> list[tuple[re.Pattern[str], Kind, str]]:
    phrases: dict[str, tuple[Kind, str]] = {}

    def add(kind: Kind, ident: str, names: tuple[str, ...]) -> None:
        for name in names:
            key = name.strip().lower()
            if len(re.sub(r"\W", "", key)) >= 3:
                phrases.setdefault(key, (kind, ident))

    for d in (*cats.drugs.classes, *cats.drugs.drugs):
        add("drug", d.id, (d.id.replace("_", " "), d.name, *d.synonyms))  # type: ignore[attr-defined]
    for c in cats.procedures:  # the instance (a site catalog extends it), not the shipped classmethod
        add("procedure", c.id, (c.id.replace("_", " "), c.name, *c.synonyms))
    for c in cats.conditions:
        add("condition", c.id, (c.id.replace("_", " "), c.name, *c.synonyms))
    phrases.update(REGISTRY_PHRASES)
    out = []
    for phrase in sorted(phrases, key=len, reverse=True):
        words = r"[\s\-]*".join(re.escape(w) for w in re.split(r"[\s\-]+", phrase))
        kind, ident = phrases[phrase]
        out.append((re.compile(rf"(?<![\w-]){words}(?![\w-])", re.IGNORECASE), kind, ident))
    return out


_index = per_catalogs(_build_index)


def mentions(text: str) -> list[Mention]:
    """The catalog concepts named in ``text``, left to right, longest phrase first, no overlaps."""
    taken: list[tuple[int, int]] = []
    out: list[Mention] = []
    for pat, kind, ident in _index():
        for m in pat.finditer(text):
            if any(m.start() < b and a < m.end() for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            out.append(Mention(kind, ident, m.start(), m.end(), m.group(0)))
    return sorted(out, key=lambda x: x.start)
