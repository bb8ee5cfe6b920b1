"""``eligimatch fmt``: canonical text, the same criteria, every comment kept, and a second run changes nothing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import eligimatch
from eligimatch.fmt import format_text

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "trials").glob("*.elig"))

COMMENTED = '''# Header comment

trial "F1"   # the id
title "Fmt"
anchors screening,
   # inside anchors
   apheresis

# general rules
inclusion:   # incl
  # before I1
  - I1 "Age 18-70": age between 18 and 70 years  # trailing I1
  - I2 "ANC": # on head
      anc >= 1.5 x10^9/L   # on expr
  - I3 "multi":
      ecog <= 1   # one
      and pregnant  # two
      # inside
      or breastfeeding

# ---- exclusions ----
exclusion:
  # first exclusion
  - E1 "Pregnant": pregnant or breastfeeding
cohort sle "SLE": # cohort trailing
  # before section
  inclusion:
    - S1 "x": ecog <= 2
# the end
'''


def comments(text: str) -> Counter:
    return Counter(line[line.index("#"):].rstrip() for line in text.splitlines() if "#" in line)


def test_same_criteria_same_comments_and_stable():
    out = format_text(COMMENTED)
    assert eligimatch.compile_trial(out).ast == eligimatch.compile_trial(COMMENTED).ast
    assert comments(out) == comments(COMMENTED)
    assert format_text(out) == out


def test_comments_stay_where_they_belong():
    lines = format_text(COMMENTED).splitlines()
    assert lines[0] == "# Header comment"
    assert lines[1] == ""  # the blank line after it is kept
    assert 'trial "F1"  # the id' in lines
    assert "      age between 18 and 70 years  # trailing I1" in lines
    assert '  - I2 "ANC":  # on head' in lines
    assert "      anc >= 1.5 x10^9/L  # on expr" in lines
    assert lines.index("# ---- exclusions ----") == lines.index("exclusion:") - 1
    assert lines.index("  # first exclusion") == lines.index("exclusion:") + 1
    assert 'cohort sle "SLE":  # cohort trailing' in lines
    assert lines.index("  # before section") == lines.index("  inclusion:") - 1
    assert lines[-1] == "# the end"


def test_a_file_without_comments_is_render_trial():
    from eligimatch.render import render_trial

    text = 'trial "X"\ninclusion:\n  - I1 "a":   ecog<=1\n'
    assert format_text(text) == render_trial(eligimatch.compile_trial(text).ast)


def test_long_expressions_break_at_their_top_operator():
    items = " or ".join(f"condition {c}" for c in ("lupus_nephritis", "hepatitis_b", "hepatitis_c", "hiv_infection",
                                                    "syphilis", "hypogammaglobulinemia"))
    text = f'trial "X"\nexclusion:\n  - E1 "infections": {items}\n'
    out = format_text(text)
    body = out.splitlines()[4:]
    assert body[0] == "      condition lupus_nephritis"
    assert all(line.startswith("      or condition ") for line in body[1:])
    assert eligimatch.compile_trial(out).ast == eligimatch.compile_trial(text).ast


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_keep_their_criteria_and_comments(path):
    text = path.read_text(encoding="utf-8")
    out = format_text(text, filename=str(path))
    assert eligimatch.compile_trial(out).ast == eligimatch.compile_trial(text).ast
    assert comments(out) == comments(text)
    assert format_text(out, filename=str(path)) == out


def test_a_hash_inside_a_string_is_not_a_comment():
    text = 'trial "X #1"\ninclusion:\n  - I1 "item #2":   ecog <= 1  # real\n'
    out = format_text(text)
    assert 'trial "X #1"' in out and '  - I1 "item #2":' in out and "ecog <= 1  # real" in out


def test_text_that_does_not_parse_raises_a_located_error():
    with pytest.raises(eligimatch.CriteriaError) as err:
        format_text('trial "X"\ninclusion:\n  - I1 "a": ecog <=\n', filename="x.elig")
    assert err.value.problems[0].filename == "x.elig"
