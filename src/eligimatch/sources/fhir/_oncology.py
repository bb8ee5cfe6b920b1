"""Oncology in FHIR (mCODE, IPS): cancer conditions, staging, tumour markers, disease status.

Read by :mod:`eligimatch.sources.fhir._bundle` into the profile:

* a cancer Condition's **histology** (mCODE ``histology-morphology-behavior``
  extension, or an ICD-O-3 morphology coding), **laterality** (mCODE laterality
  extension on ``bodySite``, or a sided body structure) and **body site** become
  condition attributes ``histology``, ``laterality``, ``body_site``;
* **TNM staging** (LOINC 21908-9/21902-2 stage group, 21905-5/21906-3/21907-1 and
  21899-0/21900-6/21901-4 categories, or their SNOMED CT observables) becomes the
  attributes ``stage``, ``clinical_stage``, ``pathological_stage``, ``t``, ``n``,
  ``m`` of the Condition the observation is about (``focus``, the stage group's
  ``hasMember``, or ``Condition.stage.assessment``); ``Condition.stage.summary``
  too.  Stages are normalised to one value set: ``"Stage IIB"``, ``"IIB"``,
  ``"2B"``, cancerstaging.org ``"2B"``, SNOMED CT 1222769001 (and its display
  "American Joint Committee on Cancer stage IIB") all become ``IIB``;
* **tumour markers** ER, PR, HER2 (LOINC 85337-4, 85339-0, 48676-1...) with a
  coded result become the enum facts ``er``, ``pr``, ``her2`` (positive,
  negative, equivocal); a HER2 immunohistochemistry score (0, 1+, 2+, 3+)
  becomes ``her2_ihc``;
* **disease status** (LOINC 97509-4) becomes ``cancer_disease_status``;
* **genomic variants** (LOINC 69548-6 with the gene studied) become
  ``<gene>_variant`` = present / absent for the genes the fact catalog lists.

A value eligimatch cannot place in its value set is reported, never guessed.
"""

from __future__ import annotations

import re
from typing import Any

from eligimatch.knowledge._staging import STAGE_VALUES, normalize_stage, normalize_tnm

__all__ = ["STAGE_VALUES", "OncologyMixin", "normalize_stage", "normalize_tnm"]

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
HISTOLOGY_URL = MCODE + "mcode-histology-morphology-behavior"
LATERALITY_URL = MCODE + "mcode-laterality"

# LOINC observables -> (what, clinical | pathological)
_STAGING_LOINC = {
    "21908-9": ("stage", "clinical"), "21902-2": ("stage", "pathological"),
    "21905-5": ("t", "clinical"), "21906-3": ("n", "clinical"), "21907-1": ("m", "clinical"),
    "21899-0": ("t", "pathological"), "21900-6": ("n", "pathological"), "21901-4": ("m", "pathological"),
}
_STAGING_SNOMED = {
    "399537006": ("stage", "clinical"), "399588009": ("stage", "pathological"),
    "399504009": ("t", "clinical"), "399534004": ("n", "clinical"), "399387003": ("m", "clinical"),
    "384625004": ("t", "pathological"), "371494008": ("n", "pathological"), "371497001": ("m", "pathological"),
}
# SNOMED CT AJCC qualifier values seen in mCODE (display: "American Joint Committee on Cancer stage IIB").
_SNOMED_STAGE_VALUES = {
    "1222769001": "IIB", "1222806003": "IIIC", "1228938002": "T3", "1229859000": "T3", "1229967007": "N0",
    "1229947003": "N0", "1229984001": "N3", "1229901006": "M0",
}
# SNOMED CT disorders that state their stage (Synthea): the stage becomes an attribute.
_STAGED_DISORDERS = {"424132000": "I"}  # Non-small cell carcinoma of lung, TNM stage 1

_MARKERS = {  # LOINC -> fact
    "85337-4": "er", "16112-5": "er", "85339-0": "pr", "16113-3": "pr",
    "48676-1": "her2", "85319-2": "her2", "85318-4": "her2", "18474-7": "her2",
}
_POSITIVE = {("LOINC", "LA6576-8"), ("SNOMED", "10828004"), ("LOINC", "LA9633-4")}
_NEGATIVE = {("LOINC", "LA6577-6"), ("SNOMED", "260385009"), ("LOINC", "LA9634-2")}
_EQUIVOCAL = {("LOINC", "LA4259-3"), ("SNOMED", "42425007")}
_IHC_RE = re.compile(r"^(?:HER2\s*)?(?:IHC\s*)?(?:SCORE\s*)?([0-3])\s*(\+)?$")

_DISEASE_STATUS = {
    ("SNOMED", "268910001"): "improving", ("SNOMED", "359746009"): "stable",
    ("SNOMED", "271299001"): "worsening", ("SNOMED", "709137006"): "undetermined",
    ("SNOMED", "260415000"): "no_evidence_of_disease",
    ("http://hl7.org/fhir/us/mcode/CodeSystem/snomed-requested-cs", "USCRS-352236"): "complete_remission",
}
_GENOMIC_VARIANT_LOINC = "69548-6"
_GENE_STUDIED_LOINC = "48018-6"
_GENES = {  # HGNC id -> fact prefix (the fact catalog declares <prefix>_variant)
    "1100": "brca1", "1101": "brca2", "26144": "palb2", "3236": "egfr", "6407": "kras", "1097": "braf",
    "11998": "tp53", "8975": "pik3ca", "427": "alk",
}

_LATERALITY = {"7771000": "left", "24028007": "right", "51440002": "bilateral"}
_SIDED_SITES = {"80248007": "left", "73056007": "right"}  # left / right breast structure
_HISTOLOGY = {  # morphology -> attribute value
    ("SNOMED", "82711006"): "infiltrating_ductal_carcinoma", ("ICDO3", "8500/3"): "infiltrating_ductal_carcinoma",
    ("SNOMED", "89740008"): "lobular_carcinoma", ("ICDO3", "8520/3"): "lobular_carcinoma",
    ("SNOMED", "35917007"): "adenocarcinoma", ("SNOMED", "1187332001"): "adenocarcinoma",
    ("ICDO3", "8140/3"): "adenocarcinoma", ("SNOMED", "28899001"): "squamous_cell_carcinoma",
    ("ICDO3", "8070/3"): "squamous_cell_carcinoma", ("SNOMED", "77284006"): "lobular_carcinoma_in_situ",
}


class OncologyMixin:
    """The oncology part of :class:`eligimatch.sources.fhir._bundle._Mapper` (see the module docstring)."""

    # provided by the mapper
    add: Any
    facts: Any
    resolve: Any
    items: Any
    catalogs_facts: Any
    fact_candidate: Any  # (name, value, date, item, label): a fact of the profile, the latest one wins

    def oncology_setup(self) -> None:
        # condition item id -> {attribute: [(value, date, source item, origin)]}
        self.stage_values: dict[int, dict[str, list[tuple[str, Any, Any, str]]]] = {}
        # staging observation item id -> the Condition item it is about
        self.stage_targets: dict[int, Any] = {}
        self.staging_lines: list[tuple[Any, Any, str, tuple, str, str]] = []
        for item in self.items:
            if not item.usable or item.model is None:
                continue
            if item.rtype == "Condition":
                for stage in item.model.stage or ():
                    for ref in stage.assessment or ():
                        target = self.resolve(getattr(ref, "reference", None))
                        if target is not None:
                            self.stage_targets[id(target)] = item
        for _ in range(2):  # a stage group's members inherit its condition
            for item in self.items:
                if not item.usable or item.model is None or item.rtype != "Observation":
                    continue
                cond = self.stage_targets.get(id(item))
                for ref in item.model.focus or ():
                    target = self.resolve(getattr(ref, "reference", None))
                    if target is not None and target.rtype == "Condition":
                        cond = target
                if cond is None:
                    continue
                self.stage_targets[id(item)] = cond
                for ref in item.model.hasMember or ():
                    member = self.resolve(getattr(ref, "reference", None))
                    if member is not None:
                        self.stage_targets.setdefault(id(member), cond)

    # ---- which observations are oncology
    @staticmethod
    def oncology_kind(codings: list[tuple[Any, str, Any]]) -> tuple[str, str] | None:
        for system, code, _ in codings:
            if system == "LOINC" and code in _STAGING_LOINC:
                return _STAGING_LOINC[code]
            if system == "SNOMED" and code in _STAGING_SNOMED:
                return _STAGING_SNOMED[code]
            if system == "LOINC" and code in _MARKERS:
                return ("marker", _MARKERS[code])
            if system == "LOINC" and code == "97509-4":
                return ("disease_status", "")
            if system == "LOINC" and code == _GENOMIC_VARIANT_LOINC:
                return ("variant", "")
        return None

    def oncology_observation(self, item: Any, o: Any, kind: tuple[str, str], when: Any, codes: tuple,
                             codings_of: Any, labels_of: Any) -> None:
        what, detail = kind
        value_cc = o.valueCodeableConcept
        answers = codings_of(value_cc) if value_cc is not None else []
        texts = [t for t in ([getattr(value_cc, "text", None)] + [d for _, _, d in answers]) if t] if value_cc else []
        if o.valueString:
            texts.append(o.valueString)
        if what in ("stage", "t", "n", "m"):
            self.staging_observation(item, what, detail, answers, texts, when, codes, labels_of(value_cc))
        elif what == "marker":
            self.marker_observation(item, o, detail, answers, texts, when, codes, labels_of(value_cc))
        elif what == "disease_status":
            status = next((_DISEASE_STATUS.get((s, c)) for s, c, _ in answers if (s, c) in _DISEASE_STATUS), None)
            if status is None:
                self.add("rejected", item, "cancer disease status answer not in its value set (improving, stable, "
                                           "worsening, undetermined, no evidence of disease)",
                         codes + labels_of(value_cc))
                return
            self.fact_candidate("cancer_disease_status", status, when, item, "cancer disease status")
        else:
            self.variant_observation(item, o, answers, when, codes, codings_of, labels_of)

    def staging_observation(self, item: Any, what: str, detail: str, answers: list, texts: list, when: Any,
                            codes: tuple, value_labels: tuple) -> None:
        value, how = self.stage_value(what, answers, texts)
        if value is None:
            self.add("rejected", item, f"{'stage group' if what == 'stage' else what.upper() + ' category'} "
                                       "value not understood", codes + value_labels)
            return
        cond = self.stage_targets.get(id(item))
        if cond is None:
            self.add("unmapped", item, f"staging ({what} {value}) without a focus Condition: which cancer it "
                                       "stages cannot be told", codes)
            return
        attr = f"{detail}_stage" if what == "stage" else what
        self.stage_values.setdefault(id(cond), {}).setdefault(attr, []).append((value, when, item, detail))
        label = f"{detail} {'stage group' if what == 'stage' else what.upper()} {value}{how}"
        self.staging_lines.append((item, cond, label, codes, attr, value))

    def finish_staging(self, mapped: set[int]) -> None:
        """Report the staging observations, now that it is known which Conditions were mapped."""
        for item, cond, label, codes, attr, value in self.staging_lines:
            if id(cond) in mapped:
                self.add("mapped", item, label, codes,
                         target=f"conditions: the Condition of {cond.where} gets {attr} = {value}")
            else:
                self.add("unmapped", item, f"{label}: the Condition it stages ({cond.where}) is not in the profile",
                         codes)

    @staticmethod
    def stage_value(what: str, answers: list, texts: list) -> tuple[str | None, str]:
        norm = normalize_stage if what == "stage" else (lambda t: normalize_tnm(what, t))
        for system, code, _ in answers:
            if system == "SNOMED" and code in _SNOMED_STAGE_VALUES:
                known = _SNOMED_STAGE_VALUES[code]
                if (what == "stage") == (known[0] not in "TNM"):
                    return known, ""
            if system == "AJCC":
                value = norm(code)
                if value:
                    return value, ""
        for text in texts:
            value = norm(text)
            if value:
                return value, f" (read from the text {text!r})"
        return None, ""

    def marker_observation(self, item: Any, o: Any, fact: str, answers: list, texts: list, when: Any,
                           codes: tuple, value_labels: tuple) -> None:
        keys = {(s, c) for s, c, _ in answers}
        value = ("positive" if keys & _POSITIVE else "negative" if keys & _NEGATIVE else
                 "equivocal" if keys & _EQUIVOCAL else None)
        if len({bool(keys & _POSITIVE), bool(keys & _NEGATIVE), bool(keys & _EQUIVOCAL)} - {False}) > 1:
            value = None
        if value is None and fact == "her2":
            for text in texts:
                m = _IHC_RE.match(text.strip().upper())
                if m:
                    self.fact_candidate("her2_ihc", f"{m.group(1)}+" if m.group(1) != "0" else "0", when, item,
                                        "HER2 immunohistochemistry score")
                    return
        if value is None:
            for text in texts:
                word = text.strip().lower()
                if word in ("positive", "negative", "equivocal"):
                    value = word
                    break
        if value is None:
            kind = "a quantity" if o.valueQuantity is not None else "no coded value"
            self.add("rejected", item, f"{fact.upper()} result not understood ({kind}; expected positive, negative "
                                       "or equivocal)", codes + value_labels)
            return
        self.fact_candidate(fact, value, when, item, f"{fact.upper()} status")

    def variant_observation(self, item: Any, o: Any, answers: list, when: Any, codes: tuple, codings_of: Any,
                            labels_of: Any) -> None:
        keys = {(s, c) for s, c, _ in answers}
        present = True if keys & _POSITIVE else False if keys & _NEGATIVE else None
        genes = []
        for comp in o.component or ():
            if any(s == "LOINC" and c == _GENE_STUDIED_LOINC for s, c, _ in codings_of(comp.code)) or \
                    comp.valueCodeableConcept is not None:
                for s, c, d in codings_of(comp.valueCodeableConcept):
                    hgnc = c.split(":")[-1]
                    if (s or "").endswith("genenames.org") or s == "HGNC" or "hgnc" in (s or "").lower():
                        genes.append((hgnc, d))
        facts = [_GENES[g] for g, _ in genes if g in _GENES and self.catalogs_facts.resolve(f"{_GENES[g]}_variant")]
        if present is None or len(facts) != 1:
            why = ("the variant is neither present nor absent" if present is None else
                   "no gene the fact catalog lists" if not facts else "several genes")
            self.add("unmapped", item, f"genomic variant not mapped: {why}",
                     codes + tuple(f"HGNC:{g}" for g, _ in genes))
            return
        self.fact_candidate(f"{facts[0]}_variant", "present" if present else "absent", when, item,
                            f"{facts[0].upper()} variant")

    # ---- Condition attributes
    def condition_attributes(self, item: Any, c: Any, codings_of: Any) -> tuple[dict[str, Any], list[str]]:
        """Histology, laterality, body site and a stage written in the Condition itself."""
        attrs: dict[str, Any] = {}
        notes: list[str] = []
        for ext in c.extension or ():
            if ext.url == HISTOLOGY_URL and ext.valueCodeableConcept is not None:
                self.histology(ext.valueCodeableConcept, codings_of, attrs)
        for system, code, _ in codings_of(c.code):
            if system == "ICDO3":
                self.histology(c.code, codings_of, attrs)
            if system == "SNOMED" and code in _STAGED_DISORDERS:
                attrs["stage"] = _STAGED_DISORDERS[code]
                notes.append(f"stage {attrs['stage']} read from the diagnosis code SNOMED:{code}")
        sides = set()
        for site in c.bodySite or ():
            for ext in site.extension or ():
                if ext.url == LATERALITY_URL and ext.valueCodeableConcept is not None:
                    sides |= {_LATERALITY[cd] for s, cd, _ in codings_of(ext.valueCodeableConcept)
                              if s == "SNOMED" and cd in _LATERALITY}
            for s, cd, d in codings_of(site):
                if s == "SNOMED" and cd in _SIDED_SITES:
                    sides.add(_SIDED_SITES[cd])
                if s == "SNOMED" and "body_site" not in attrs:
                    attrs["body_site"] = f"SNOMED:{cd}"
        if len(sides) == 1:
            attrs["laterality"] = sides.pop()
        elif sides:
            notes.append(f"laterality recorded as {', '.join(sorted(sides))}: not used")
        for stage in c.stage or ():
            if stage.summary is not None:
                value, _ = self.stage_value("stage", codings_of(stage.summary),
                                              [t for t in [stage.summary.text] + [d for _, _, d in
                                                                                 codings_of(stage.summary)] if t])
                if value:
                    self.stage_values.setdefault(id(item), {}).setdefault("summary_stage", []).append(
                        (value, None, item, "summary"))
                else:
                    notes.append("Condition.stage.summary not understood: stage not recorded")
        return attrs, notes

    @staticmethod
    def histology(cc: Any, codings_of: Any, attrs: dict[str, Any]) -> None:
        for s, cd, _ in codings_of(cc):
            name = _HISTOLOGY.get((s, cd))
            if name:
                attrs["histology"] = name
                return
        for s, cd, _ in codings_of(cc):
            if s in ("SNOMED", "ICDO3"):
                attrs.setdefault("histology", f"{s}:{cd}")

    def staged_attributes(self, item: Any) -> tuple[dict[str, Any], list[str]]:
        """The staging attributes gathered for one Condition: the latest of each, and ``stage``
        when the summary and the stage groups agree (pathological before clinical)."""
        found = self.stage_values.get(id(item), {})
        out: dict[str, Any] = {}
        notes: list[str] = []
        for attr, values in found.items():
            dated = [v for v in values if v[1] is not None]
            pool = dated or values
            latest = max((v[1] for v in dated), default=None)
            top = {v[0] for v in pool if v[1] == latest}
            if len(top) > 1:
                notes.append(f"{attr}: different values on the same date ({', '.join(sorted(top))}): not recorded")
                continue
            out[attr] = top.pop()
        for kind in ("t", "n", "m"):
            if kind in found:
                pathological = [v for v in found[kind] if v[3] == "pathological"]
                if pathological and kind in out:
                    out[kind] = max(pathological, key=lambda v: (v[1] is not None, v[1] or ""))[0]
        group = out.get("pathological_stage") or out.get("clinical_stage")
        summary = out.pop("summary_stage", None)
        candidates = {v for v in (summary, group) if v}
        if len(candidates) == 1:
            out.setdefault("stage", candidates.pop())
        elif len(candidates) > 1:
            notes.append(f"stage: Condition.stage.summary says {summary}, the stage group observation {group}: "
                         "stage not recorded (clinical_stage / pathological_stage are)")
            out.pop("stage", None)
        return out, notes

