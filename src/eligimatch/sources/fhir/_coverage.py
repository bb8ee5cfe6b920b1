"""How much of a folder of FHIR bundles eligimatch understands: measured, not claimed.

    eligimatch fhir-report DIR            # or: python bench/fhir_coverage.py DIR

Over every bundle of ``DIR`` (``*.json``, recursively), counts the *clinically
relevant* resources -- Condition; Observation of labs, vital signs, performance
status, tumour markers and staging; MedicationStatement/Request/Administration;
Procedure -- and how many of them were mapped into the profile, by resource type
and by code system, with the codes most often left unmapped.

A resource *skipped* by a status rule (an entered-in-error order, a refuted
diagnosis, another patient's record) is understood and deliberately left out: it
is counted apart and not in the share.  A bundle without a usable Patient is
listed and not counted.  A bundle is *R4* when none of its resources is in the
shape of an older FHIR version (DSTU2/STU3); the headline share is over R4 bundles.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eligimatch.errors import FhirError
from eligimatch.sources.fhir._summary import resource_outcomes

__all__ = ["Coverage", "bundle_paths", "measure", "relevant_kind", "render"]

_MEDS = ("MedicationStatement", "MedicationRequest", "MedicationAdministration", "MedicationOrder")
_OBS_CATEGORIES = {"laboratory": "lab", "vital-signs": "vital", "exam": "exam"}
# LOINC codes of observations that matter for trials whatever their category.
_ONCOLOGY_LOINC = {
    "89247-1": "performance", "89243-0": "performance",  # ECOG, Karnofsky
    "21905-5": "stage", "21906-3": "stage", "21907-1": "stage", "21908-9": "stage", "21902-2": "stage",
    "21899-0": "stage", "21900-6": "stage", "21901-4": "stage",
    "97509-4": "disease status",
    "85337-4": "tumour marker", "85339-0": "tumour marker", "48676-1": "tumour marker", "85319-2": "tumour marker",
    "85318-4": "tumour marker", "16112-5": "tumour marker", "16113-3": "tumour marker", "18474-7": "tumour marker",
    "40557-1": "tumour marker", "31150-6": "tumour marker",
    "85147-7": "tumour marker", "85310-1": "tumour marker", "69548-6": "genomic variant",
    "81247-9": "genomic variant",
}


def relevant_kind(raw: dict) -> str | None:
    """Why a resource is clinically relevant to eligibility ("condition", "lab", ...), or None."""
    rtype = raw.get("resourceType")
    if rtype == "Condition":
        return "condition"
    if rtype in _MEDS:
        return "medication"
    if rtype == "Procedure":
        return "procedure"
    if rtype != "Observation":
        return None
    for coding in (raw.get("code") or {}).get("coding") or ():
        if isinstance(coding, dict) and coding.get("code") in _ONCOLOGY_LOINC:
            return _ONCOLOGY_LOINC[coding["code"]]
    categories = raw.get("category")
    if isinstance(categories, dict):
        categories = [categories]
    for cat in categories or ():
        for coding in (cat.get("coding") if isinstance(cat, dict) else None) or ():
            kind = _OBS_CATEGORIES.get(str(coding.get("code")) if isinstance(coding, dict) else "")
            if kind:
                return kind
    return None


def _codes(raw: dict) -> list[tuple[str, str, str]]:
    """(system, code, display) of the concept a resource is about (code, or the medication)."""
    cc = raw.get("code") or raw.get("medicationCodeableConcept") or {}
    out = []
    for c in (cc.get("coding") if isinstance(cc, dict) else None) or ():
        if isinstance(c, dict) and c.get("code"):
            out.append((_system_name(c.get("system")), str(c["code"]), str(c.get("display") or "")))
    if not out and isinstance(cc, dict) and cc.get("text"):
        out.append(("text", "", str(cc["text"])))
    if not out and isinstance(raw.get("medicationReference"), dict):
        out.append(("medicationReference", "", ""))
    return out


def _system_name(system: Any) -> str:
    from eligimatch.sources._codes import SYSTEMS as _SYSTEMS

    return _SYSTEMS.get(system or "", system or "no system")


@dataclass
class Coverage:
    """Counts over a folder (see :func:`measure`)."""

    files: list[tuple[str, str, str]] = field(default_factory=list)  # (file, R4 | older | rejected, detail)
    # (r4?, resource type, outcome) -> count; outcome: mapped / not mapped / skipped / quarantined
    by_type: collections.Counter = field(default_factory=collections.Counter)
    by_system: collections.Counter = field(default_factory=collections.Counter)  # (r4?, system, outcome)
    by_kind: collections.Counter = field(default_factory=collections.Counter)  # (r4?, kind, outcome)
    unmapped: collections.Counter = field(default_factory=collections.Counter)  # (type, system:code display, why)

    def share(self, r4_only: bool = True) -> tuple[int, int]:
        """(mapped, counted) over the relevant resources (skipped ones not counted)."""
        mapped = counted = 0
        for (r4, _, outcome), n in self.by_type.items():
            if r4_only and not r4:
                continue
            if outcome == "skipped":
                continue
            counted += n
            mapped += n if outcome == "mapped" else 0
        return mapped, counted


def _outcome(lines: list[Any]) -> str:
    outcomes = {l.outcome for l in lines}
    if "quarantined" in outcomes:
        return "quarantined"
    if "mapped" in outcomes:
        return "mapped"
    if outcomes <= {"skipped", "note"} and "skipped" in outcomes:
        return "skipped"
    return "not mapped"


def measure(paths: Iterable[Path], catalogs: Any = None) -> Coverage:
    """Read every bundle and count what became of its clinically relevant resources."""
    from eligimatch.sources.fhir._bundle import patient_from_bundle

    cov = Coverage()
    for path in paths:
        try:
            result = patient_from_bundle(path, catalogs=catalogs)
        except FhirError as exc:
            cov.files.append((str(path), "rejected", str(exc).splitlines()[0]))
            continue
        report = result.report
        older = any("older FHIR version" in l.reason for l in report.lines if l.outcome in ("quarantined", "note"))
        r4 = not older
        cov.files.append((str(path), "R4" if r4 else "older", f"{report.resources} resources"))
        raws = _raw_resources(path)
        for (rtype, rid, where), (_, lines) in resource_outcomes(report).items():
            raw = raws.get(where)
            if raw is None:
                continue
            kind = relevant_kind(raw)
            if kind is None:
                continue
            outcome = _outcome(lines)
            cov.by_type[(r4, rtype, outcome)] += 1
            cov.by_kind[(r4, kind, outcome)] += 1
            codes = _codes(raw)
            systems = sorted({s for s, _, _ in codes}) or ["no code"]
            for system in systems:
                cov.by_system[(r4, system, outcome)] += 1
            if outcome in ("not mapped", "quarantined") and r4:
                why = next((l.reason for l in lines if l.outcome in ("unmapped", "rejected", "quarantined")), "")
                label = ", ".join(f"{s}:{c}" if c else s for s, c, _ in codes[:2]) or "no code"
                display = next((d for _, _, d in codes if d), "")
                cov.unmapped[(rtype, f"{label} {display}".strip(), why[:80])] += 1
    return cov


def _raw_resources(path: Path) -> dict[str, dict]:
    """``{where: resource}`` as the importer locates them (``entry 3``, ``entry 0 > entry 1``)."""
    doc = json.loads(Path(path).read_bytes())
    if doc.get("resourceType") is None and isinstance(doc.get("resource"), dict):
        doc = doc["resource"]
    out: dict[str, dict] = {}

    def walk(bundle: dict, prefix: str, depth: int) -> None:
        for i, entry in enumerate(bundle.get("entry") or ()):
            res = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(res, dict):
                continue
            where = f"{prefix}entry {i}"
            if res.get("resourceType") == "Bundle" and depth < 2 and isinstance(res.get("entry"), list):
                walk(res, f"{where} > ", depth + 1)
            else:
                out[where] = res

    walk(doc, "", 0)
    return out


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} %" if b else "-"


def render(cov: Coverage, top: int = 15) -> str:
    """The coverage as Markdown tables (for docs/fhir.md and the terminal)."""
    out = []
    mapped, counted = cov.share(r4_only=True)
    all_mapped, all_counted = cov.share(r4_only=False)
    r4_files = sum(1 for _, kind, _ in cov.files if kind == "R4")
    older = sum(1 for _, kind, _ in cov.files if kind == "older")
    rejected = [f for f in cov.files if f[1] == "rejected"]
    out.append(f"Bundles: {len(cov.files)} ({r4_files} R4, {older} older FHIR versions, {len(rejected)} without "
               "a usable Patient).")
    out.append(f"Clinically relevant resources mapped: **{mapped} of {counted} ({_pct(mapped, counted)})** in the "
               f"R4 bundles; {all_mapped} of {all_counted} ({_pct(all_mapped, all_counted)}) in all.")
    out.append("")
    for title, counter in (("resource type", cov.by_type), ("kind", cov.by_kind), ("code system", cov.by_system)):
        out.append(f"| {title} (R4 bundles) | mapped | not mapped | quarantined | skipped | share mapped |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        keys = sorted({k for r4, k, _ in counter if r4})
        for key in keys:
            n = {o: counter.get((True, key, o), 0) for o in ("mapped", "not mapped", "quarantined", "skipped")}
            denom = n["mapped"] + n["not mapped"] + n["quarantined"]
            out.append(f"| {key} | {n['mapped']} | {n['not mapped']} | {n['quarantined']} | {n['skipped']} | "
                       f"{_pct(n['mapped'], denom)} |")
        out.append("")
    if cov.unmapped:
        out.append(f"Most frequent codes left unmapped (R4 bundles, top {top}):")
        out.append("")
        out.append("| resources | type | code | why |")
        out.append("| ---: | --- | --- | --- |")
        for (rtype, label, why), count in cov.unmapped.most_common(top):
            out.append(f"| {count} | {rtype} | {label.replace('|', '/')} | {why.replace('|', '/')} |")
        out.append("")
    if rejected:
        out.append("Bundles without a usable Patient (not counted): " + ", ".join(
            Path(f).name for f, _, _ in rejected) + ".")
    return "\n".join(out)


def bundle_paths(folder: str | Path) -> list[Path]:
    """The ``*.json`` files under ``folder``, sorted."""
    return sorted(p for p in Path(folder).rglob("*.json") if p.is_file())
