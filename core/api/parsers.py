"""The API's JSON parser: DRF's, bounded in size and in depth.

DRF reads a JSON body straight from the request stream, so Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` never applies to it, and ``json.load`` recurses once per level:
a body nested a few thousand deep raised ``RecursionError`` (a 500) and one nested a few hundred
deep parsed, only to exhaust the stack of whatever walked it next. No request of this API nests
deeper than a handful of levels.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# Deeper than any body of the API (a CTI batch: list → event → value is 3).
MAX_JSON_DEPTH = 32


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether the parsed value nests containers deeper than ``limit`` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parsers.get_encoding(parser_context)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1 if limit is not None else -1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        try:
            text = codecs.decode(raw, encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {type(exc).__name__}") from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        return data
