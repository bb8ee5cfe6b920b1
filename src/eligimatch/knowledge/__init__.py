"""Clinical knowledge: the catalogs, units, analytes, drugs, conditions, formulas and dates a trial is read with.

* :class:`Catalogs` bundles the vocabularies a trial is checked and a patient evaluated against:
  :class:`FactCatalog`, :class:`AnalyteCatalog`, :class:`ConceptCatalog` (conditions, procedures),
  :class:`DrugCatalog`, :class:`AttributeCatalog`; :func:`load_site_catalogs` adds a site's own (docs/catalogs.md);
* units (pint, one registry): :func:`parse_unit`, :func:`conversion_factor`, :func:`convert`, :func:`compatible`;
* formulas with their references: :func:`cockcroft_gault`, :func:`ckd_epi_2021`, :func:`bmi`, :func:`bsa_mosteller`;
* dates: :class:`PartialDate` (a date known to the year or month), calendar arithmetic and windows;
  ages from a (partial) birth date: :func:`age_bounds`, :func:`age_value`;
* the one tolerant comparison of numbers (:func:`compare`, :data:`REL_TOL`, :data:`ABS_TOL`);
* plausibility of patient values (:func:`observation_problem` and friends);
* cancer staging values (:func:`normalize_stage`, :func:`normalize_tnm`);
* terminologies beyond the catalogs: :class:`Terminologies` (ICD-10-CM, an OMOP vocabulary).
"""

from __future__ import annotations

from eligimatch.knowledge._ages import age_bounds, age_value, birth_interval, interval_truth, is_whole
from eligimatch.knowledge._analytes import KINDS as ANALYTE_KINDS
from eligimatch.knowledge._analytes import Analyte, AnalyteCatalog, is_valid_loinc
from eligimatch.knowledge._attributes import AttributeCatalog, AttributeDef
from eligimatch.knowledge._catalogs import Catalogs
from eligimatch.knowledge._concepts import CODE_SYSTEMS, Concept, ConceptCatalog, normalize_name
from eligimatch.knowledge._dates import (
    PartialDate,
    PartialDateField,
    add_months,
    add_years,
    completed_months,
    completed_years,
    completed_years_range,
    elapsed_on,
    in_window,
    shift,
    shift_clamped,
    window_end,
    window_start,
)
from eligimatch.knowledge._drugs import CORTICOSTEROID_CLASS, PREDNISONE_REFERENCE_MG, Drug, DrugCatalog, DrugClass
from eligimatch.knowledge._facts import FactCatalog, FactDef
from eligimatch.knowledge._formulas import bmi, bsa_mosteller, ckd_epi_2021, cockcroft_gault
from eligimatch.knowledge._plausibility import (
    MAX_AGE_YEARS,
    age_problem,
    fact_date_problem,
    fact_value_problem,
    observation_problem,
    reference_problem,
)
from eligimatch.knowledge._sitecatalog import apply_site_catalog, load_site_catalogs
from eligimatch.knowledge._terminology import (
    Ancestor,
    Icd10cm,
    OmopVocabulary,
    Terminologies,
    Terminology,
    default_terminology,
)
from eligimatch.knowledge._staging import STAGE_VALUES, normalize_stage, normalize_tnm
from eligimatch.knowledge._tolerance import ABS_TOL, REL_TOL, compare
from eligimatch.knowledge._units import (
    compatible,
    conversion_factor,
    convert,
    dimension_name,
    parse_unit,
    registry,
    unit_label,
)

__all__ = [
    # catalogs
    "Catalogs", "FactCatalog", "FactDef", "AnalyteCatalog", "Analyte", "ANALYTE_KINDS", "is_valid_loinc",
    "ConceptCatalog", "Concept", "CODE_SYSTEMS", "DrugCatalog", "Drug", "DrugClass", "CORTICOSTEROID_CLASS",
    "PREDNISONE_REFERENCE_MG", "AttributeCatalog", "AttributeDef", "normalize_name", "load_site_catalogs",
    "apply_site_catalog",
    # cancer staging
    "STAGE_VALUES", "normalize_stage", "normalize_tnm",
    # units
    "registry", "parse_unit", "unit_label", "conversion_factor", "convert", "compatible", "dimension_name",
    # formulas
    "cockcroft_gault", "ckd_epi_2021", "bmi", "bsa_mosteller",
    # dates and ages
    "PartialDate", "PartialDateField", "add_months", "add_years", "shift", "shift_clamped", "window_start",
    "window_end", "elapsed_on", "in_window", "completed_years", "completed_months", "completed_years_range",
    "age_bounds", "age_value", "birth_interval", "interval_truth", "is_whole",
    # comparison and plausibility
    "compare", "REL_TOL", "ABS_TOL", "observation_problem", "reference_problem", "fact_value_problem",
    "fact_date_problem", "age_problem", "MAX_AGE_YEARS",
    # terminologies
    "Terminologies", "Terminology", "Icd10cm", "OmopVocabulary", "Ancestor", "default_terminology",
]
