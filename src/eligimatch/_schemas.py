"""JSON Schemas of eligimatch's documents, generated from its pydantic models.

Four documents have a published schema, versioned by :data:`SCHEMA_VERSION`
(a document may carry it as ``schema_version``):

``patient``
    the patient profile (:class:`eligimatch.Patient`), what ``match`` and ``screen`` read;
``result``
    one result (:class:`eligimatch.MatchResult`), what ``match --json`` writes (a list of them) and
    the service returns; its evidence ``code`` is one of the documented reason codes
    (:class:`eligimatch.ReasonCode`);
``record``
    a screening record (:class:`eligimatch.ScreeningRecord`): answers and investigator decisions;
``trial``
    a trial's plan summary (:class:`eligimatch.language._coverage.TrialCoverage`), what ``coverage --json`` writes.

The schemas ship in the package (``eligimatch/schema/NAME.schema.json``, read with
:func:`schema_text`); a test checks that they equal what :func:`generate` produces
from the models.  Print one with ``eligimatch schema NAME``.

    >>> import json
    >>> doc = json.loads(schema_text("patient"))
    >>> doc["title"], doc["properties"]["schema_version"]["anyOf"][0]["const"]
    ('Patient', '1')
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from eligimatch.engine._result import SCHEMA_VERSION

__all__ = ["SCHEMA_NAMES", "SCHEMA_VERSION", "generate", "model_of", "render", "schema_text"]

#: The names of the published schemas.
SCHEMA_NAMES = ("patient", "result", "record", "trial")

_BASE_URI = "https://eligimatch.invalid/schema"


def model_of(name: str) -> type:
    """The pydantic model a schema is generated from."""
    if name == "patient":
        from eligimatch.sources._patient import Patient

        return Patient
    if name == "result":
        from eligimatch.engine._result import MatchResult

        return MatchResult
    if name == "record":
        from eligimatch.screening._decisions import ScreeningRecord

        return ScreeningRecord
    if name == "trial":
        from eligimatch.language._coverage import TrialCoverage

        return TrialCoverage
    raise ValueError(f"no schema called {name!r}; the schemas are {', '.join(SCHEMA_NAMES)}")


def generate(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the document ``name``, from its model.

    Input documents (patient, record) are described as they are read; output documents (result,
    trial) as they are written.

    >>> import eligimatch
    >>> schema = eligimatch.generate_schema("patient")
    >>> schema["$schema"]
    'https://json-schema.org/draft/2020-12/schema'
    """
    model: Any = model_of(name)
    mode = "validation" if name in ("patient", "record") else "serialization"
    schema = _without_examples(model.model_json_schema(mode=mode))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{_BASE_URI}/{SCHEMA_VERSION}/{name}.schema.json",
            "x-schema-version": SCHEMA_VERSION, **schema}


def _without_examples(node: Any) -> Any:
    """The schema with each model's description cut before its docstring example (``>>>`` lines run as
    doctests; they document the Python API, not the document format)."""
    if isinstance(node, dict):
        out = {k: _without_examples(v) for k, v in node.items()}
        text = out.get("description")
        if isinstance(text, str) and ">>>" in text:
            out["description"] = text[:text.index(">>>")].rstrip()
        return out
    if isinstance(node, list):
        return [_without_examples(v) for v in node]
    return node


def render(name: str) -> str:
    """:func:`generate`'s schema as the JSON text shipped in the package.

    >>> import eligimatch
    >>> eligimatch.render_schema("patient") == eligimatch.schema_text("patient")
    True
    """
    return json.dumps(generate(name), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def schema_text(name: str) -> str:
    """The shipped JSON Schema of the document ``name`` (the text ``eligimatch schema NAME`` prints).

    >>> import json, eligimatch
    >>> json.loads(eligimatch.schema_text("patient"))["title"]
    'Patient'
    """
    if name not in SCHEMA_NAMES:
        raise ValueError(f"no schema called {name!r}; the schemas are {', '.join(SCHEMA_NAMES)}")
    return resources.files("eligimatch").joinpath("schema", f"{name}.schema.json").read_text(encoding="utf-8")


def write_all() -> None:  # pragma: no cover - a maintainer's command: python -m eligimatch._schemas
    """Regenerate the shipped schemas from the models (run after changing a model)."""
    folder = resources.files("eligimatch").joinpath("schema")
    for name in SCHEMA_NAMES:
        with resources.as_file(folder.joinpath(f"{name}.schema.json")) as path:
            path.write_text(render(name), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    write_all()
