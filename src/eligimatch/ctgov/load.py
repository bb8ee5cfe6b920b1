"""Read a ClinicalTrials.gov record in any of its three formats into a :class:`RegistryRecord`.

* API v2 JSON (``protocolSection.eligibilityModule.eligibilityCriteria``; the text is
  Markdown, so ``\\>=`` is unescaped to ``>=``);
* the legacy XML (``clinical_study``, ``eligibility/criteria/textblock``), read with the
  standard library's parser after refusing any DTD or entity declaration (no entity
  expansion, no external fetch) and anything over :data:`MAX_RECORD_BYTES`;
* the classic JSON API (``FullStudiesResponse`` … ``ProtocolSection``, PascalCase);
* the study page of the classic web site saved as text (``.txt``: the seeds in
  ``shared/seeds/``), read from its "ClinicalTrials.gov Identifier", "Ages/Sexes
  Eligible for Study" and "Inclusion Criteria:" … lines.

A dict is recognised by its shape.  The id is taken from the content, never from the
file name (the corpus has files named after one trial holding another).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eligimatch.ctgov.items import split_items
from eligimatch.ctgov.model import Age, Intervention, RegistryRecord
from eligimatch.errors import RegistryError

__all__ = ["MAX_RECORD_BYTES", "load_record", "parse_age"]

MAX_RECORD_BYTES = 20_000_000
"""Largest record accepted (the biggest in the corpus, NCI-MATCH, is 0.8 MB)."""

_AGE = re.compile(r"^\s*(\d{1,3})\s*(year|month|week|day|hour|minute)s?\s*$", re.IGNORECASE)
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>=~|^])")


def parse_age(text: str | None) -> Age | None:
    """``"18 Years"`` → ``Age(18, "years")``; ``None``, ``""`` and ``"N/A"`` → ``None``."""
    if text is None or not text.strip() or text.strip().upper() in ("N/A", "NA", "NONE"):
        return None
    m = _AGE.match(text)
    if not m:
        raise RegistryError(f"age limit {text!r} is not a number of years, months, weeks, days, hours or minutes")
    return Age(value=int(m.group(1)), unit=m.group(2).lower() + "s")  # type: ignore[arg-type]


def _sex(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    t = text.strip().lower()
    if t in ("all", "both"):
        return "all"
    if t in ("female", "male"):
        return t
    raise RegistryError(f"sex {text!r} is not ALL, FEMALE or MALE")


def _healthy(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    t = str(value).strip().lower()
    if t in ("yes", "true", "accepts healthy volunteers"):
        return True
    if t in ("no", "false"):
        return False
    raise RegistryError(f"healthy volunteers {value!r} is not yes or no")


def _phases(values: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        if v.strip().upper() in ("N/A", "NA", "NOT APPLICABLE"):
            out.append("NA")
            continue
        for part in re.split(r"\s*[/,]\s*", v):
            t = re.sub(r"[\s_]+", "", part).upper()
            if not t:
                continue
            if t in ("N/A", "NA", "NOTAPPLICABLE"):
                t = "NA"
            elif t.startswith("EARLYPHASE"):
                t = "EARLY_PHASE" + t[len("EARLYPHASE"):]
            out.append(t)
    return tuple(dict.fromkeys(out))


def _status(text: str | None) -> str | None:
    return re.sub(r"[\s,]+", "_", text.strip()).upper() if text and text.strip() else None


def _clean_text(text: str | None) -> str | None:
    return text if text and text.strip() else None


def _record(*, markdown: str | None = None, **fields: Any) -> RegistryRecord:
    """The record; its items split from ``markdown`` (the registry's Markdown, escapes kept) when given,
    else from the criteria text."""
    text = fields.get("criteria_text")
    wrapped = fields["source_format"] == "legacy-xml"
    if markdown:
        items, cohorts = split_items(markdown, markdown=True)
    else:
        items, cohorts = split_items(text, wrapped=wrapped) if text else ((), ())
    return RegistryRecord(items=items, cohorts=cohorts, **fields)


# ---- API v2 JSON ---------------------------------------------------------------------
def _from_v2(data: Mapping[str, Any], source: str | None) -> RegistryRecord:
    p = data["protocolSection"]
    ident = p.get("identificationModule", {})
    elig = p.get("eligibilityModule", {})
    arms = p.get("armsInterventionsModule", {})
    text = elig.get("eligibilityCriteria")
    return _record(
        id=ident.get("nctId") or _missing("protocolSection.identificationModule.nctId"),
        title=ident.get("briefTitle"), official_title=ident.get("officialTitle"),
        conditions=tuple(p.get("conditionsModule", {}).get("conditions", ())),
        interventions=tuple(Intervention(type=str(i.get("type", "")).upper().replace(" ", "_"), name=i["name"])
                            for i in arms.get("interventions", ())),
        phases=_phases(p.get("designModule", {}).get("phases", [])),
        status=_status(p.get("statusModule", {}).get("overallStatus")),
        sex=_sex(elig.get("sex")), minimum_age=parse_age(elig.get("minimumAge")),
        maximum_age=parse_age(elig.get("maximumAge")), healthy_volunteers=_healthy(elig.get("healthyVolunteers")),
        criteria_text=_clean_text(_MD_ESCAPE.sub(r"\1", text) if text else None),
        markdown=text if _clean_text(text) else None, source_format="api-v2-json", source=source)


# ---- classic JSON API --------------------------------------------------------------------
def _from_classic(data: Mapping[str, Any], source: str | None) -> RegistryRecord:
    if "FullStudiesResponse" in data:
        studies = data["FullStudiesResponse"].get("FullStudies") or []
        if len(studies) != 1:
            raise RegistryError(f"a classic API response with {len(studies)} studies; give one study per record")
        data = studies[0]["Study"]
    p = data["ProtocolSection"]
    ident = p.get("IdentificationModule", {})
    elig = p.get("EligibilityModule", {})
    arms = p.get("ArmsInterventionsModule", {})
    interventions = arms.get("InterventionList", {}).get("Intervention", [])
    return _record(
        id=ident.get("NCTId") or _missing("ProtocolSection.IdentificationModule.NCTId"),
        title=ident.get("BriefTitle"), official_title=ident.get("OfficialTitle"),
        conditions=tuple(p.get("ConditionsModule", {}).get("ConditionList", {}).get("Condition", ())),
        interventions=tuple(Intervention(type=str(i.get("InterventionType", "")).upper().replace(" ", "_"),
                                         name=i["InterventionName"]) for i in interventions),
        phases=_phases(p.get("DesignModule", {}).get("PhaseList", {}).get("Phase", [])),
        status=_status(p.get("StatusModule", {}).get("OverallStatus")),
        sex=_sex(elig.get("Gender")), minimum_age=parse_age(elig.get("MinimumAge")),
        maximum_age=parse_age(elig.get("MaximumAge")), healthy_volunteers=_healthy(elig.get("HealthyVolunteers")),
        criteria_text=_clean_text(elig.get("EligibilityCriteria")), source_format="classic-json", source=source)


# ---- legacy XML -------------------------------------------------------------------------
def _xml_root(raw: bytes, source: str | None) -> ET.Element:
    head = raw[:4096].lower()
    if b"<!doctype" in raw.lower() or b"<!entity" in head or b"<!entity" in raw.lower():
        raise RegistryError(f"{source or 'record'}: XML with a DTD or entity declarations is refused "
                            "(registry records have none)")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise RegistryError(f"{source or 'record'}: not well-formed XML: {exc}") from None


def _from_xml(root: ET.Element, source: str | None) -> RegistryRecord:
    if root.tag != "clinical_study":
        raise RegistryError(f"{source or 'record'}: XML root <{root.tag}> is not <clinical_study>")

    def text(path: str) -> str | None:
        el = root.find(path)
        return el.text.strip() if el is not None and el.text and el.text.strip() else None

    criteria = root.find("eligibility/criteria/textblock")
    phase = text("phase")
    return _record(
        id=text("id_info/nct_id") or _missing("clinical_study/id_info/nct_id"),
        title=text("brief_title"), official_title=text("official_title"),
        conditions=tuple(e.text.strip() for e in root.findall("condition") if e.text and e.text.strip()),
        interventions=tuple(Intervention(type=(i.findtext("intervention_type") or "").strip().upper().replace(" ", "_"),
                                         name=(i.findtext("intervention_name") or "").strip())
                            for i in root.findall("intervention")),
        phases=_phases([phase] if phase else []), status=_status(text("overall_status")),
        sex=_sex(text("eligibility/gender")), minimum_age=parse_age(text("eligibility/minimum_age")),
        maximum_age=parse_age(text("eligibility/maximum_age")),
        healthy_volunteers=_healthy(text("eligibility/healthy_volunteers")),
        criteria_text=_clean_text(criteria.text if criteria is not None else None),
        source_format="legacy-xml", source=source)


# ---- the study page saved as text --------------------------------------------------------------
_PAGE_ID = re.compile(r"ClinicalTrials\.gov\s+Identifier\s*:\s*\|?\s*(NCT\d{8})")
_PAGE_AGES = re.compile(r"Ages\s+Eligible\s+for\s+Study\s*:\s*\|\s*(?P<v>[^|(\n]*)")
_PAGE_SEX = re.compile(r"Sexes\s+Eligible\s+for\s+Study\s*:\s*\|\s*(?P<v>[^|\n]*)")
_PAGE_HEALTHY = re.compile(r"Accepts\s+Healthy\s+Volunteers\s*:\s*\|\s*(?P<v>[^|\n]*)")
_PAGE_END = re.compile(r"^\s*(?:To learn more about this study|Contacts and Locations|Layout table for location)|"
                       r"^\s*(?:Study & Design|Minimum Eligible Age|Maximum Eligible Age|Eligible Sex|Study Design|"
                       r"Outcome Measures|Trial Locations|Sponsors?|Primary purpose|Interventional model|"
                       r"Central trial contact)\s*$", re.MULTILINE | re.IGNORECASE)
# the newer page layouts: a field's label alone on its line, its value on the next non-empty line
# ("Minimum Eligible Age" / "18 Years", "- Sex" / "- All")


def _page_field(text: str, labels: str) -> str | None:
    m = re.search(rf"^[ \t]*-?[ \t]*(?:{labels})[ \t]*:?[ \t]*\n(?:[ \t]*\n)*[ \t]*-?[ \t]*(?P<v>[^\n]+?)[ \t]*$",
                  text, re.IGNORECASE | re.MULTILINE)
    return m.group("v") if m else None


def _page_value(text: str, labels: str, read: Any) -> Any:
    """The field read by ``read``, or None when the page does not give it or gives something else
    (a fragment's "Sex" followed by the next label, "Ages")."""
    v = _page_field(text, labels)
    if v is None:
        return None
    try:
        return read(v)
    except RegistryError:
        return None


_FILE_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+){0,4}")


def _from_page(text: str, source: str | None) -> RegistryRecord:
    """The ClinicalTrials.gov study page (classic web layout) saved as plain text."""
    m = _PAGE_ID.search(text) or re.search(r"\b(NCT\d{8})\b", text)
    if m:
        trial_id = m.group(1)
    elif source and _FILE_ID.fullmatch(Path(source).stem):
        trial_id = Path(source).stem  # a page naming no registry number: the file's name is all there is
    else:
        raise RegistryError(f"{source or 'record'}: a text record without an NCT number")
    start = re.search(r"^\s*(?:Key\s+)?Inclusion\s+Criteria\s*:?\s*$", text, re.IGNORECASE | re.MULTILINE)
    if not start:
        raise RegistryError(f"{source or 'record'}: no 'Inclusion Criteria' line: which items include and which "
                            "exclude cannot be told from the rest of the page (a page that lists the criteria "
                            "without their headings is not drafted)")
    criteria = None
    if start:
        end = _PAGE_END.search(text, start.start())
        criteria = text[start.start():end.start() if end else len(text)].strip()
    low = high = None
    ages = _PAGE_AGES.search(text)
    if ages:
        v = ages.group("v").strip()
        if " to " in v:
            a, b = v.split(" to ", 1)
            low, high = parse_age(a), parse_age(b)
        elif v.lower().endswith("and older"):
            low = parse_age(v[: -len("and older")])
        elif v.lower().startswith("up to"):
            high = parse_age(v[len("up to"):])
    else:
        low = _page_value(text, r"Minimum\s+(?:Eligible\s+)?Age", parse_age)
        high = _page_value(text, r"Maximum\s+(?:Eligible\s+)?Age", parse_age)
    sex_m = _PAGE_SEX.search(text)
    sex = _sex(sex_m.group("v")) if sex_m else _page_value(text, r"(?:Eligible\s+)?Sex(?:es)?", _sex)
    healthy_m = _PAGE_HEALTHY.search(text)
    healthy = (_healthy(healthy_m.group("v").strip()) if healthy_m
               else _page_value(text, r"Accepts\s+Healthy\s+Volunteers", _healthy))
    title = next((ln.strip() for ln in text.splitlines() if ln.strip()), None)
    markdown = criteria if criteria and _MD_ESCAPE.search(criteria) else None  # the registry's Markdown, kept
    return _record(id=trial_id, title=title, sex=sex, minimum_age=low, maximum_age=high, healthy_volunteers=healthy,
                   criteria_text=_MD_ESCAPE.sub(r"\1", criteria) if markdown else criteria, markdown=markdown,
                   source_format="text", source=source)


def _missing(path: str) -> str:
    raise RegistryError(f"the record has no trial id ({path})")


def _from_mapping(data: Mapping[str, Any], source: str | None) -> RegistryRecord:
    try:
        if "protocolSection" in data:
            return _from_v2(data, source)
        if "FullStudiesResponse" in data or "ProtocolSection" in data:
            return _from_classic(data, source)
    except (KeyError, TypeError, AttributeError) as exc:
        raise RegistryError(f"{source or 'record'}: a registry record of unexpected shape ({exc!r})") from None
    raise RegistryError(f"{source or 'record'}: neither an API v2 study (protocolSection) nor a classic "
                        "API study (FullStudiesResponse / ProtocolSection)")


def load_record(record: str | Path | Mapping[str, Any]) -> RegistryRecord:
    """Read one registry record: a path to a ``.json``/``.xml`` file, or an already parsed dict.

    Raises :class:`~eligimatch.errors.RegistryError` with the reason for anything it
    cannot read.  A record without criteria text loads (with no items): drafting it
    is what fails, with a clear message.
    """
    if isinstance(record, Mapping):
        return _from_mapping(record, None)
    path = Path(record)
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise RegistryError(f"{path}: {size:,} bytes is over the limit of {MAX_RECORD_BYTES:,}")
        raw = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read: {exc.strerror or exc}") from None
    stripped = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if path.suffix.lower() in (".txt", ".text"):
        try:
            return _from_page(raw.decode("utf-8-sig"), str(path))
        except UnicodeDecodeError as exc:
            raise RegistryError(f"{path}: not UTF-8 text: {exc}") from None
    if stripped.startswith(b"<"):
        try:
            return _from_xml(_xml_root(raw, str(path)), str(path))
        except (AttributeError, TypeError) as exc:
            raise RegistryError(f"{path}: unexpected XML shape ({exc!r})") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegistryError(f"{path}: neither XML nor JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise RegistryError(f"{path}: the JSON is not an object")
    return _from_mapping(data, str(path))
