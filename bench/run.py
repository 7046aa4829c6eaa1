"""``make bench``: run every ``bench/bench_*.py`` in turn (sorted by name) with this Python.

Arguments after ``--`` are passed to every script; ``python bench/run.py NAME...`` runs only the
scripts whose name contains one of NAMEs (``python bench/run.py turns``). Exits non-zero when
a script fails, after running the others.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    here = Path(__file__).resolve().parent
    scripts = sorted(here.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(name in s.stem for name in argv)]
    if not scripts:
        print("bench: no benchmark scripts to run", file=sys.stderr)
        return 1
    failed = []
    for script in scripts:
        print(f"==> {script.name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *extra], cwd=here.parent)
        print(f"<== {script.name}: exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
