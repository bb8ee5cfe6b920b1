"""Every catalog (facts, attributes, analytes, conditions, procedures, drugs) and every site catalog is read by
one reader: a file or TOML text in, located errors out, the same for each."""

from __future__ import annotations

import functools

import pytest

from eligimatch.errors import CatalogError
from eligimatch.knowledge import (
    AnalyteCatalog,
    AttributeCatalog,
    ConceptCatalog,
    DrugCatalog,
    FactCatalog,
    load_site_catalogs,
)

LOADERS = {
    "fact": FactCatalog.from_toml,
    "attribute": AttributeCatalog.from_toml,
    "analyte": AnalyteCatalog.from_toml,
    "condition": functools.partial(ConceptCatalog.from_toml, kind="condition"),
    "procedure": functools.partial(ConceptCatalog.from_toml, kind="procedure"),
    "drug": DrugCatalog.from_toml,
}


@pytest.mark.parametrize("what", LOADERS)
def test_a_missing_file_is_named(what, tmp_path):
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(CatalogError, match=rf"{what} catalog file not found: .*nowhere\.toml"):
        LOADERS[what](missing)


@pytest.mark.parametrize("what", LOADERS)
def test_bad_toml_in_a_file_names_the_file_the_line_and_the_column(what, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('# a comment\n[x\nname = "y"\n', encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        LOADERS[what](bad)
    message = str(info.value)
    assert message.startswith(f"{bad}: {what} catalog is not valid TOML"), message
    assert "line 2" in message and "column" in message, message


@pytest.mark.parametrize("what", LOADERS)
def test_bad_toml_as_text_and_as_bytes(what):
    for text in ("[x\n", b"[x\n"):
        with pytest.raises(CatalogError, match=rf"<text>: {what} catalog is not valid TOML"):
            LOADERS[what](text)


@pytest.mark.parametrize("what", LOADERS)
def test_a_file_that_is_not_utf8_is_refused_naming_it(what, tmp_path):
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "Sjögren"\n'.encode("latin-1"))
    with pytest.raises(CatalogError, match=rf"cannot read {what} catalog .*latin\.toml"):
        LOADERS[what](latin)


def test_a_site_catalog_is_read_by_the_same_reader(tmp_path):
    bad = tmp_path / "site.toml"
    bad.write_text("[facts.x\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=rf"^{bad}: site catalog is not valid TOML: .*line 1"):
        load_site_catalogs([bad])
    with pytest.raises(CatalogError, match=r"no such catalog file"):
        load_site_catalogs([tmp_path / "missing.toml"])


# ---- one name normaliser


def test_every_catalog_compares_names_with_the_one_normaliser():
    from eligimatch.knowledge import Catalogs, normalize_name

    cats = Catalogs.default()
    assert normalize_name("Sjögren's  Syndrome") == normalize_name("sjogren_syndrome") == "sjogrensyndrome"
    assert cats.facts.resolve("E.C.O.G") is cats.facts.resolve("ecog") is not None
    assert cats.analytes.resolve("Absolute-Neutrophil_Count") is cats.analytes.resolve("ANC") is not None
    assert cats.conditions.resolve("Sjögren's syndrome") is cats.conditions.resolve("sjogren syndrome")
    assert cats.drugs.resolve("Pembrolizumab") is cats.drugs.resolve("pembrolizumab") is not None


def test_a_symbol_that_tells_names_apart_is_kept():
    from eligimatch.knowledge import ANALYTE_NAME_SYMBOLS, ATTRIBUTE_VALUE_SYMBOLS, normalize_name

    assert normalize_name("CD4 %", ANALYTE_NAME_SYMBOLS) != normalize_name("CD4", ANALYTE_NAME_SYMBOLS)
    assert normalize_name("2+", ATTRIBUTE_VALUE_SYMBOLS) != normalize_name("2", ATTRIBUTE_VALUE_SYMBOLS)
    assert normalize_name("CD4 %") == normalize_name("CD4")  # without the symbol kept, the two are one key


@pytest.mark.parametrize("text, located", [
    ("[ecog_x]\nname = 'X'\nsynonyms = 'one'\n", "<text>: fact 'ecog_x': synonyms: Input should be a valid list"),
    ("[x]\nname = 'X'\ntype = 'enum'\nvalues = [1, 2]\n", "<text>: fact 'x': values.0: Input should be a valid string"),
    ("[x]\nname = 'X'\nsynonym = ['y']\n", "<text>: fact 'x': synonym: unknown key"),
    ("[x]\nname = 'X'\nmin = '0'\n", "<text>: fact 'x': min: "),
    ("x = 3\n", "<text>: fact 'x': must be a table, not int"),
])
def test_a_fact_entry_of_the_wrong_shape_is_located_by_entry_and_field(text, located):
    with pytest.raises(CatalogError) as info:
        FactCatalog.from_toml(text)
    assert str(info.value).startswith(located), str(info.value)
