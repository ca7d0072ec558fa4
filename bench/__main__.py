"""``make bench``: run every benchmark module in ``bench/`` and print one table.

Each module exposes ``run() -> list[dict]`` with keys ``name``, ``value``, ``unit``,
``baseline`` (the figure its issue names) and ``ratio``. None exist yet.
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    rows = []
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("bench_"):
            rows.extend(importlib.import_module(f"bench.{module.name}").run())
    if not rows:
        print("No benchmarks defined yet.")
        return 0
    print(f"{'benchmark':<48} {'value':>12} {'unit':<8} {'baseline':>12} {'ratio':>8}")
    for row in rows:
        print(f"{row['name']:<48} {row['value']:>12.1f} {row['unit']:<8} {row['baseline']:>12.1f} {row['ratio']:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
