"""docs/formats.md lists every reason code, with the description the schema carries."""

from pathlib import Path

from eligimatch import ReasonCode

DOC = Path(__file__).resolve().parent.parent / "docs" / "formats.md"


def test_the_formats_page_lists_every_reason_code():
    text = DOC.read_text(encoding="utf-8")
    for code in ReasonCode:
        assert f"| `{code.value}` | {code.description} |" in text, code
