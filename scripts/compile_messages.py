"""Compile every ``locale/*/LC_MESSAGES/*.po`` to ``.mo`` with polib (no GNU gettext needed).

``make`` runs this before serving or testing, so a fresh machine with only Python works.
"""

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    compiled = 0
    for po_path in sorted(ROOT.glob("locale/*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        catalog = polib.pofile(str(po_path))
        catalog.save_as_mofile(str(mo_path))
        compiled += 1
    sys.stdout.write(f"compiled {compiled} message catalog(s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
