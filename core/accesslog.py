"""Access logs without card or account numbers (PCI DSS 3.4).

Any run of 12 or more digits in what an access log writes (request line, path, query, referer,
headers) is replaced by ``[REDACTED]``: card numbers are 16–19 digits, account numbers 12 and
more, and no id or date of this API is that long (a Unix time in ms is 13 digits and is redacted
too, which costs nothing). The API itself refuses such a run in a GET query (``number_in_url``);
this is the net for every other client and path, including a percent-encoded run.

Used by ``gunicorn.conf.py`` (``logger_class``) and ``uvicorn-logging.json`` (a filter on
``uvicorn.access``).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from gunicorn.glogging import Logger as GunicornLogger

REDACTED = "[REDACTED]"
# Digits, possibly separated by percent-encoded or literal spaces and dashes (6228 4801 ...).
DIGIT_RUN = re.compile(r"[0-9](?:(?:%20|%2[dD]|[ +-])?[0-9]){11,}")


def redact(text: str) -> str:
    if not isinstance(text, str) or not any(char.isdigit() for char in text):
        return text
    if "%3" in text:  # percent-encoded digits (%30..%39)
        text = re.sub(r"%3[0-9]", lambda match: unquote(match.group(0)), text)
    return DIGIT_RUN.sub(REDACTED, text)


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger with every text atom of the access log redacted."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}


class RedactDigitsFilter(logging.Filter):
    """A filter for any access logger (uvicorn's passes the path in ``record.args``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                key: redact(value) if isinstance(value, str) else value for key, value in record.args.items()
            }
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True
