"""Syntax errors are for people: located at the word at fault, with a did-you-mean where a keyword is near."""

from __future__ import annotations

import pytest

import eligimatch


@pytest.mark.parametrize("criterion, word, hint", [
    ("histroy of diabetes", "histroy", "history"),           # read as a fact's name: 'of' is what fails
    ("hisotry of malignancy within 5 years", "hisotry", "history"),
    ("ecog <= 1 adn age >= 18 years", "adn", "and"),          # two letters swapped
    ("condition diabetes whithin 6 months", "whithin", "within"),
])
def test_a_misspelt_keyword_gets_a_did_you_mean_at_the_word(criterion, word, hint):
    """A keyword misspelt may be read as a name, and the error then falls on the next word: the error is
    put at the misspelt word, with the keyword that makes the text parse on."""
    text = f'trial "B"\ninclusion:\n  - I1 "x": {criterion}\n'
    with pytest.raises(eligimatch.CriteriaSyntaxError) as info:
        eligimatch.compile_trial(text)
    exc = info.value
    assert (exc.line, exc.column) == (3, text.splitlines()[2].index(word) + 1)
    assert f"did you mean '{hint}'?" in str(exc)


@pytest.mark.parametrize("criterion", ["ecog <= 1 zzz", "ecog <= 1 ecog", "age >= 18 yeers", "foo bar"])
def test_a_syntax_error_far_from_any_keyword_gets_no_suggestion(criterion):
    with pytest.raises(eligimatch.CriteriaSyntaxError) as info:
        eligimatch.compile_trial(f'trial "B"\ninclusion:\n  - I1 "x": {criterion}\n')
    assert "did you mean" not in str(info.value)
