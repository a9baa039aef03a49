"""FOLIO's own JSON schemas (draft-04), loaded from ``shared/reference/folio`` with their $refs.

The files are FOLIO's, verbatim (see that folder's MANIFEST.md); nothing here restates them.
Relative ``$ref``s (``"uuid.json"``, ``"raml-util/schemas/uuid.schema"``) resolve against the
referring file's own URI through a ``referencing`` registry that reads the files from disk.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REFERENCE = Path(
    os.environ.get("ILS_GATEWAY_FOLIO_REFERENCE", "/work/shared/reference/folio")
).resolve()
CIRCULATION = "mod-circulation/ramls"
PATRON = "mod-patron/ramls"
EDGE = "edge-patron/ramls"


def reference_or_skip() -> Path:
    """The reference folder, or skip the test with the reason."""
    if not (REFERENCE / CIRCULATION / "request.json").is_file():
        pytest.skip(f"FOLIO reference schemas not found under {REFERENCE} (shared dir missing)")
    return REFERENCE


def _retrieve(uri: str) -> Resource[Any]:
    if not uri.startswith("file://"):
        raise LookupError(f"refusing to fetch {uri}: only files under {REFERENCE}")
    path = Path(uri.removeprefix("file://"))
    return Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT4)


_REGISTRY: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]


@cache
def validator(relative: str) -> Draft4Validator:
    """A draft-04 validator for one schema file, e.g. ``mod-circulation/ramls/loan.json``."""
    path = reference_or_skip() / relative
    schema = json.loads(path.read_text())
    uri = path.as_uri()
    # Draft 4 names the base URI "id"; our files have none, so give each its own location.
    schema = {**schema, "id": uri}
    return Draft4Validator(schema, registry=_REGISTRY)


def violations(relative: str, instance: Any) -> list[str]:
    """Every way ``instance`` breaks the schema at ``relative`` (empty when it conforms)."""
    return [
        f"{relative}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator(relative).iter_errors(instance)
    ]


def example(relative: str) -> Any:
    """One of the RAML's example files, as JSON."""
    return json.loads((reference_or_skip() / relative).read_text())


def schema(relative: str) -> Any:
    """One schema file, as JSON (for reading its enums)."""
    return json.loads((reference_or_skip() / relative).read_text())
