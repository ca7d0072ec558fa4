"""``make bench``: run every benchmark module in ``bench/`` and print one table.

Each module exposes ``run() -> list[dict]`` with keys ``name``, ``value``, ``unit``,
``baseline`` (the figure its issue names, measured in the same run), ``ratio`` and ``note``.
``python -m bench bench_transfers`` runs one module.
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    rows = []
    only = set(sys.argv[1:])
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("bench_") and (not only or module.name in only):
            rows.extend(importlib.import_module(f"bench.{module.name}").run())
    if not rows:
        print("No benchmarks defined yet.")
        return 0
    print_table(rows)
    return 0


def print_table(rows: list[dict]) -> None:
    print(f"{'benchmark':<52} {'value':>10} {'unit':<6} {'baseline':>10} {'ratio':>7}  note")
    for row in rows:
        print(
            f"{row['name']:<52} {row['value']:>10.1f} {row['unit']:<6} {row['baseline']:>10.1f} "
            f"{row['ratio']:>7.2f}  {row.get('note', '')}"
        )


if __name__ == "__main__":
    sys.exit(main())
