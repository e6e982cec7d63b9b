"""Wall time of the ``l2g`` command line, hyperfine-style, written to reports/cli_startup.md.

Each command runs ``--runs`` times in a fresh interpreter after one warm-up run (so the
file cache is warm); the report gives the median and the minimum wall time, the load
average before and after (the machine may be shared: a load near or above the number of
cores inflates every number), and what importing each heavy library costs alone::

    nice -n 10 .venv/bin/python -m bench.cli_startup            # 10 runs per command
    nice -n 10 .venv/bin/python -m bench.cli_startup --runs 3 --no-write

The commands, from the repository root: ``python -m l2g --help`` and
``python -m l2g reconstruct l2g/data/demo/demo.hea --available I,II --out TMP`` (one 10-s
record, the shipped model). Targets (issue #16): help <= 1 s, reconstruct <= 4 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS_S = {"help": 1.0, "reconstruct": 4.0}
# what each library costs to import alone, in a fresh interpreter
IMPORTS = ("pass", "import numpy", "import torch", "import scipy.signal", "import pandas", "import wfdb",
           "import neurokit2", "import l2g.cli", "import l2g.reconstruction")


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return wall


def measure(cmd: list[str], runs: int, env: dict[str, str]) -> dict[str, float]:
    """One warm-up run, then ``runs`` timed runs: median, min and max wall time in s."""
    _wall(cmd, env)
    times = [_wall(cmd, env) for _ in range(runs)]
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": runs}


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="timed runs per command (default 10)")
    ap.add_argument("--import-runs", type=int, default=3, help="timed runs per import line (default 3)")
    ap.add_argument("--no-write", action="store_true", help="print only, do not write reports/cli_startup.md")
    args = ap.parse_args(argv)
    py = sys.executable
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}
    env = {k: v for k, v in env.items() if v != ""}
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "help": [py, "-m", "l2g", "--help"],
            "reconstruct": [py, "-m", "l2g", "reconstruct", "l2g/data/demo/demo.hea", "--available", "I,II",
                            "--out", tmp],
        }
        results = {name: measure(cmd, args.runs, env) for name, cmd in commands.items()}
    imports = {line: measure([py, "-c", line], args.import_runs, env) for line in IMPORTS}
    load_after = _load()

    def shown(cmd: list[str]) -> str:
        return " ".join(["python", *cmd[1:]]).replace(commands["reconstruct"][-1], "TMP")

    lines = [
        "# `l2g` command-line start-up",
        "",
        f"Measured by `bench/cli_startup.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"{_cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, niceness {os.nice(0)}. One warm-up run, then "
        f"{args.runs} runs per command in a fresh interpreter, from the repository root.",
        "",
        f"Load average (1 / 5 / 15 min) before: {load_before}; after: {load_after}. "
        f"With {os.cpu_count()} cores, a load near or above {os.cpu_count()} means other jobs shared the "
        "machine and every number below is inflated; re-run on an idle machine for the reference numbers.",
        "",
        "| command | median (s) | min (s) | max (s) | target (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        cmd = shown(commands[name])
        lines.append(f"| `{cmd}` | {r['median']:.2f} | {r['min']:.2f} | {r['max']:.2f} | {TARGETS_S[name]:g} |")
    lines += [
        "",
        f"What an import costs alone (fresh interpreter, min of {args.import_runs} after a warm-up; "
        "includes the ~0.05-0.1 s interpreter start of `pass`):",
        "",
        "| `python -c` | min (s) | median (s) |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{line}` | {r['min']:.2f} | {r['median']:.2f} |" for line, r in imports.items()]
    lines += [
        "",
        "`--help` and building the parser import none of torch, scipy.signal, pandas, neurokit2, "
        "streamlit, wfdb, plotly (tests/test_cli.py checks this). `reconstruct` of a WFDB record "
        "needs torch (the model), scipy.signal (the 0.5 Hz high-pass and resampling of the input) and "
        "wfdb (it reads the input and writes the WFDB output, whatever the input format; it imports pandas "
        "itself); its remaining time is the model's forward pass.",
        "",
    ]
    md = "\n".join(lines)
    print(md)
    if not args.no_write:
        (ROOT / "reports" / "cli_startup.md").write_text(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
