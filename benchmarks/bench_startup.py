"""Start-up time of the CLI: wall time of `python -m ddviz ...` for commands that should answer
at once (median of --repeat runs), and whether torch / PySCF / Panel were imported.

    python benchmarks/bench_startup.py [--repeat 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        cube = Path(tmp) / "water.cube"
        subprocess.run([sys.executable, "-c", (
            "from ase.build import molecule; import numpy as np; import ddviz.io as d; "
            "from ddviz.grid import Grid, Sample; from ddviz.units import ang_to_bohr; "
            "a = molecule('H2O'); g = Grid.around(ang_to_bohr(a.positions), 0.3, 3.0); "
            f"d.write(Sample(a, g, np.full(g.shape, 0.1)), {str(cube)!r})")],
            check=True, env=env)
        cases = {"ddviz --help": ["--help"], "ddviz info --help": ["info", "--help"],
                 "ddviz info FILE.cube": ["info", str(cube)],
                 "ddviz info MODEL.safetensors": ["info", str(ROOT / "models/ethane.safetensors")],
                 "python -c pass (floor)": None}
        print(f"{'command':32s} {'median s':>9s} {'min s':>7s}  heavy modules")
        for name, argv in cases.items():
            cmd = ([sys.executable, "-c", "pass"] if argv is None
                   else [sys.executable, "-X", "importtime", "-m", "ddviz", *argv])
            times, heavy = [], set()
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
                times.append(time.perf_counter() - t0)
                heavy |= {line.split("|")[-1].strip() for line in proc.stderr.splitlines()
                          if line.startswith("import time:")
                          and line.split("|")[-1].strip() in ("torch", "pyscf", "panel")}
            print(f"{name:32s} {statistics.median(times):9.2f} {min(times):7.2f}  "
                  f"{', '.join(sorted(heavy)) or '-'}")


if __name__ == "__main__":
    main()
