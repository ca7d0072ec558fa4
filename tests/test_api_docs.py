"""docs/api.md lists every operation the API serves (its "Endpoints" table), so the document
cannot fall behind the code again."""

from __future__ import annotations

import re
from pathlib import Path

from drf_spectacular.generators import SchemaGenerator

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def test_every_api_operation_is_listed_in_docs_api_md():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    served = {
        (path, method.upper())
        for path, operations in schema["paths"].items()
        for method in METHODS
        if method in operations
    }
    text = API_DOC.read_text(encoding="utf-8")
    listed = {
        (path, method.strip())
        for path, methods in re.findall(r"^\| `(/api/[^`]*)` \| ([A-Z, ]+) \|", text, re.MULTILINE)
        for method in methods.split(",")
    }
    assert served, "the schema lists no operation"
    assert sorted(served - listed) == [], "operations missing from docs/api.md"
    assert sorted(listed - served) == [], "docs/api.md lists operations the API does not serve"
