"""Run every benchmark module in ``bench/`` (``python -m bench``), each in its own process."""

import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    failed = []
    for script in sorted(here.glob("bench_*.py")):
        print(f"\n### {script.name}", flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{script.stem}"], cwd=here.parent) != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    sys.exit(1 if failed else 0)
