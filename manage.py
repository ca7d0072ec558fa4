#!/usr/bin/env python
"""Django's command-line utility, with a readable message for configuration errors."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings.local")
    from core.startup import run_with_clear_errors

    run_with_clear_errors(sys.argv)


if __name__ == "__main__":
    main()
