"""Long (Holter) records: streamed in chunks (l2g.stream) against the whole-file path, peak RSS and seconds.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.holter [--hours 1 4] [--method linear|model]
                                                       [--modes stream whole] [--chunk 300]

For each length a synthetic 12-lead 500 Hz WFDB record (format 16; the 10-s demo ECG tiled with 10 µV of
noise, written chunk by chunk with :class:`l2g.stream.SpooledWfdb`) goes through
:func:`l2g.scale.process_record` (read, reconstruct from lead I, grades, lead check, WFDB export) once
streamed (``stream_over`` 600 s, ``--chunk`` s chunks) and once whole (``stream_over=None``), each in a
fresh process: its peak resident memory (``ru_maxrss``), wall and CPU seconds. Prints a Markdown table,
the per-hour rates, and whether the two exports are the same bytes.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from l2g.markdown import md_table

FS = 500.0


def write_synthetic(folder: Path, hours: float, name: str = "holter") -> Path:
    """A ``hours``-long 12-lead 500 Hz WFDB record in ``folder`` (written in 10-min pieces); its ``.hea``."""
    from l2g.demo import demo_record
    from l2g.stream import SpooledWfdb

    demo = demo_record()
    folder.mkdir(parents=True, exist_ok=True)
    piece = np.tile(demo.signal, (1, 60))  # 10 min
    writer = SpooledWfdb(folder, name, FS, list(demo.leads), ["synthetic Holter record (bench.holter)"],
                         what=name)
    rng = np.random.default_rng(0)
    n = int(round(hours * 3600 * FS))
    for s in range(0, n, piece.shape[1]):
        m = min(piece.shape[1], n - s)
        writer.append(piece[:, :m] + rng.normal(0.0, 0.01, (12, m)).astype(np.float32))
    writer.finish()
    return folder / f"{name}.hea"


def child(mode: str, hea: Path, out: Path, method: str, chunk_s: float) -> dict:
    """One :func:`l2g.scale.process_record` in this process; what it cost."""
    from l2g.scale import ReconstructJob, load_worker, process_record

    job = ReconstructJob(hea.parent, out, ("I",), method=method, chunk_s=chunk_s,
                         stream_over=600.0 if mode == "stream" else None)
    model, calibration = load_worker(job, threads=1)
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    row = process_record({"record_id": hea.stem, "path": str(hea), "dest": ".", "previous_digest": "",
                          "previous_outputs": []}, job, model, calibration)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"status": row["status"], "error": row["error"], "seconds": time.perf_counter() - t0,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_rss_mb": after.ru_maxrss / 1024, "outputs": row["outputs"], "worst_grade": row["worst_grade"],
            "notes": row["notes"]}


def _run_child(mode: str, hea: Path, out: Path, method: str, chunk_s: float) -> dict:
    cmd = [sys.executable, "-m", "bench.holter", "--child", mode, "--record", str(hea), "--out", str(out),
           "--method", method, "--chunk", str(chunk_s)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"status": "crashed", "error": done.stderr.strip().splitlines()[-1:] or ["?"]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hours", type=float, nargs="+", default=[1.0, 4.0])
    p.add_argument("--method", choices=("linear", "model"), default="linear")
    p.add_argument("--modes", nargs="+", choices=("stream", "whole"), default=["stream", "whole"])
    p.add_argument("--chunk", type=float, default=300.0, help="seconds per chunk")
    p.add_argument("--child", choices=("stream", "whole"), help=argparse.SUPPRESS)
    p.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.record, args.out, args.method, args.chunk)))
        return 0
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = []
    for hours in args.hours:
        with tempfile.TemporaryDirectory(prefix="l2g_holter_") as tmp:
            t0 = time.perf_counter()
            hea = write_synthetic(Path(tmp) / "in", hours)
            size = hea.with_suffix(".dat").stat().st_size
            print(f"{hours:g} h: input written in {time.perf_counter() - t0:.0f} s ({size / 2**20:.0f} MiB .dat)",
                  flush=True)
            found = {}
            for mode in args.modes:
                found[mode] = r = _run_child(mode, hea, Path(tmp) / mode, args.method, args.chunk)
                print(f"  {mode}: {json.dumps(r)}", flush=True)
                nan = float("nan")  # a crashed child has no numbers
                rows.append({"hours": hours, "path": mode, "status": r["status"],
                             "wall s": r.get("seconds", nan), "CPU s": r.get("cpu_s", nan),
                             "CPU s per hour of ECG": r.get("cpu_s", nan) / hours,
                             "peak RSS MB": r.get("peak_rss_mb", nan)})
            if all(found.get(m, {}).get("status") == "ok" for m in ("stream", "whole")):
                same = all(filecmp.cmp(Path(tmp) / "stream" / f, Path(tmp) / "whole" / f, shallow=False)
                           for f in found["stream"]["outputs"])
                print(f"  exports identical (stream vs whole): {same}", flush=True)
    import pandas as pd

    print()
    print(md_table(pd.DataFrame(rows), {"hours": "g", "wall s": ".1f", "CPU s": ".1f", "CPU s per hour of ECG": ".1f",
                                        "peak RSS MB": ".0f"}))
    print(f"\nmethod {args.method}, chunk {args.chunk:g} s; load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
