"""Access logs never carry a card or account number: the gunicorn config's logger and the uvicorn
log config (``make run``, docs/deployment.md) redact runs of 12+ digits in what they write."""

from __future__ import annotations

import json
import logging
import logging.config
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.accesslog import REDACTED, redact

ROOT = Path(__file__).resolve().parent.parent
CARD = "6228480100000001"


@pytest.mark.parametrize(
    "line",
    [
        f"GET /api/banking/customers/?q={CARD} HTTP/1.1",
        f"GET /api/banking/customers/?q={CARD}&call_id=1 HTTP/1.1",
        "GET /api/banking/customers/?q=6228%204801%200000%200001 HTTP/1.1",
        "GET /api/x/?q=%36%32%32%38%34%38%30%31%30%30%30%30%30%30%30%31 HTTP/1.1",
        "GET /api/banking/accounts/?n=6228-4801-0000-0001 HTTP/1.1",
        "GET /risk/?account=622848010000 HTTP/1.1",
    ],
)
def test_runs_of_twelve_or_more_digits_are_redacted(line):
    redacted = redact(line)
    assert REDACTED in redacted
    assert not any(run in redacted for run in ("62284801", "0000 0001", "%36%32"))


@pytest.mark.parametrize(
    "line", ["GET /api/tickets/123/ HTTP/1.1", "GET /api/tickets/?date_from=2026-01-05 HTTP/1.1", "POST /api/x/ 201"]
)
def test_short_numbers_and_dates_stay(line):
    assert redact(line) == line


def test_the_gunicorn_config_uses_the_redacting_logger():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["logger_class"] == "core.accesslog.RedactingGunicornLogger"

    from gunicorn.config import Config

    from core.accesslog import RedactingGunicornLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    logger = RedactingGunicornLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/banking/customers/?q={CARD}",
        "PATH_INFO": "/api/banking/customers/",
        "QUERY_STRING": f"q={CARD}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"http://cc/agent/?q={CARD}",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request = SimpleNamespace(headers=[("REFERER", f"http://cc/agent/?q={CARD}")])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))
    written = cfg.access_log_format % logger.atoms_wrapper_class(atoms)
    assert CARD not in written and REDACTED in written
    assert CARD not in " ".join(str(value) for value in atoms.values())


def test_the_uvicorn_log_config_redacts_the_request_line(capsys):
    config = json.loads((ROOT / "uvicorn-logging.json").read_text())
    assert "redact_digits" in config["loggers"]["uvicorn.access"]["filters"]
    logging.config.dictConfig(config)
    try:
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/api/banking/customers/?q={CARD}", "1.1", 200
        )
        out = capsys.readouterr().out
    finally:
        from django.conf import settings

        logging.config.dictConfig(settings.LOGGING)
    assert CARD not in out and REDACTED in out


def test_make_run_and_the_deployment_doc_use_the_configs():
    assert "--log-config uvicorn-logging.json" in (ROOT / "Makefile").read_text()
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    assert "-c gunicorn.conf.py" in deployment and "--log-config uvicorn-logging.json" in deployment
