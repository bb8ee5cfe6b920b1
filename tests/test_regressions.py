"""Named regression tests for defects the property tests found where the conformance format does not fit.

Each test names the property that found the defect (docs/reliability.md, "What the tests found").
"""

from __future__ import annotations

import pytest

import eligimatch
from eligimatch import Catalogs, CriteriaSyntaxError, compile_trial


def test_possessive_before_underscore_resolves():
    """test_resolution_ignores_case_and_separators (tests/test_concepts.py): "Bowen's_disease" did not resolve
    because the possessive 's was only dropped before a word boundary, and '_' is a word character."""
    conditions = Catalogs.default().conditions
    assert conditions.resolve("Bowen's_disease") is conditions.resolve("Bowen's disease") is not None
    assert conditions.resolve("BOWEN'S-DISEASE") is not None


@pytest.mark.parametrize("text,message,line,column", [
    ("inclusion:\n  - C1: at least 0 of (pregnant)", "needs a whole number from 1 to 1", 2, 18),
    ("inclusion:\n  - C1: at least 99999999999999999999 of (pregnant)", "needs a whole number", 2, 18),
    ("inclusion:\n  - C1: pregnant\n  - C1: breastfeeding", "criterion id 'C1' is used twice", 3, 3),
    ("inclusion:\n  - C1: pregnant\ninclusion:\n  - C2: pregnant", "a second 'inclusion' section", 3, 1),
    ('trial "a"\ntrial "b"\ninclusion:\n  - C1: pregnant', "'trial' is given twice", 2, 1),
    ("anchors screening, screening\ninclusion:\n  - C1: pregnant", "anchor 'screening' is listed twice", 1, 20),
])
def test_errors_of_the_transformer_are_criteria_errors(text, message, line, column):
    """Hostile-input probe (issue 6): errors raised in the transformer's rule methods reached callers wrapped
    in lark's VisitError, not as CriteriaSyntaxError."""
    with pytest.raises(CriteriaSyntaxError) as info:
        compile_trial(text)
    assert message in str(info.value)
    assert (info.value.line, info.value.column) == (line, column)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0c", "\x1c", "\x85", "\x0b"])
def test_the_source_line_is_the_line_the_problem_is_on(separator):
    """test_mutated_trial_files_compile_or_raise_located_error: with a character that str.splitlines() treats
    as a line break (but the lexer does not) earlier in the file, the source line shown under a problem was
    another line than the one it points into."""
    text = f"# a comment{separator}with a separator\ninclusion:\n  - C1: pregnant andd breastfeeding\n"
    with pytest.raises(eligimatch.CriteriaError) as info:
        compile_trial(text)
    p = info.value.problems[0]
    assert p.line == 3
    assert p.source_line == "  - C1: pregnant andd breastfeeding"


def test_an_unexpected_end_points_after_the_last_character():
    with pytest.raises(CriteriaSyntaxError) as info:
        compile_trial("inclusion:\n  - C1: pregnant and\n\n\n")
    assert (info.value.line, info.value.column) == (2, len("  - C1: pregnant and") + 1)


def test_a_file_with_a_byte_order_mark_loads(tmp_path):
    """test_mutated_trial_files (a BOM inserted at the start) showed `unexpected character '\\ufeff'` at 1:1:
    a file saved by an editor that writes a UTF-8 byte-order mark could not be loaded."""
    path = tmp_path / "bom.elig"
    path.write_bytes(b"\xef\xbb\xbfinclusion:\n  - C1: pregnant\n")
    assert eligimatch.load_trial(path).criteria[0].id == "C1"
    with pytest.raises(CriteriaSyntaxError):  # inside the text (not at its start) it stays an error
        compile_trial("inclusion:\n  - C1: \ufeffpregnant\n")
