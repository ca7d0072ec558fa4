"""Start-up guard: configuration and connection problems print one clear line, not a traceback."""

import sys

CONNECTION_HINT = "Check DATABASE_URL (unset it for the embedded SQLite default) and that the server is running."


def run_with_clear_errors(argv: list[str]) -> None:
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(2)
    except Exception as exc:
        from django.db import OperationalError

        if isinstance(exc, OperationalError):
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            sys.stderr.write(f"Cannot connect to the database: {first_line}\n{CONNECTION_HINT}\n")
            sys.exit(2)
        raise
