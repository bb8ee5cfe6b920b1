"""``eligimatch fmt``: canonical text, the same criteria, every comment kept, and a second run changes nothing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import eligimatch
from eligimatch.language import format_text

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
    from eligimatch.language import render_trial

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


# ---- canonical form (issue 13): brackets kept, lines wrapped, plurals, the bundled trials ---------------

def test_clarifying_brackets_are_kept():
    text = 'trial "X"\ninclusion:\n  - I1 "a": (ecog <= 1 and pregnant) or breastfeeding\n'
    out = format_text(text)
    assert "(ecog <= 1 and pregnant) or breastfeeding" in out
    # and written where they were left out: an `and` among the operands of an `or` is bracketed
    assert "(ecog <= 1 and pregnant) or breastfeeding" in format_text(text.replace("(", "").replace(")", ""))
    assert eligimatch.compile_trial(out).ast == eligimatch.compile_trial(text).ast


@pytest.mark.parametrize("written,canonical", [
    ("within 1 weeks before screening", "within 1 week before screening"),
    ("within 1 week before screening", "within 1 week before screening"),
    ("within 2 week before screening", "within 2 weeks before screening"),
    ("within max(1 day, 1 half-lives) before screening", "within max(1 day, 1 half-life) before screening"),
])
def test_units_agree_with_their_number(written, canonical):
    text = f'trial "X"\nanchors screening\nexclusion:\n  - E1 "a": therapy rituximab {written}\n'
    assert canonical in format_text(text)


def test_long_lines_are_wrapped_and_sentences_split_into_adjacent_strings():
    sentence = " ".join(["word"] * 60)
    drugs = ", ".join(["cyclophosphamide", "fludarabine", "acetaminophen", "diphenhydramine", "human_serum_albumin",
                       "tocilizumab", "cetuximab", "dimethyl_sulfoxide", "dextran_40"])
    text = (f'trial "X"\ntitle "{sentence}"\nexclusion:\n  - E6 "{sentence}":\n'
            f'      history of allergy to ({drugs}) or (history of drug_allergy and judgment)\n')
    out = format_text(text)
    assert max(len(line) for line in out.splitlines()) <= 100
    assert eligimatch.compile_trial(out).ast == eligimatch.compile_trial(text).ast
    assert eligimatch.compile_trial(out).ast.criteria[0].text == sentence
    assert eligimatch.compile_trial(out).ast.title == sentence
    assert format_text(out) == out


def test_a_string_or_bracketed_unit_is_never_broken():
    text = ('trial "X"\ninclusion:\n  - I1 "a": ' + " or ".join(
        ['egfr by ckd_epi_2021 >= 30 [mL/min/1.73 m2]'] + ['condition "systemic lupus erythematosus" where severe'] * 4)
        + "\n")
    out = format_text(text, width=40)
    assert "[mL/min/1.73 m2]" in out and '"systemic lupus erythematosus"' in out
    assert eligimatch.compile_trial(out).ast == eligimatch.compile_trial(text).ast


def test_the_bundled_trials_are_canonical():
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        assert format_text(text, filename=str(path)) == text, f"run `eligimatch fmt {path}`"
        assert max(len(line) for line in text.splitlines()) <= 100, path
