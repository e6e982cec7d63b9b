"""Archive-scale throughput: the local process pool against Ray (1 and 2 actors), back to back.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.scale [--data ../shared/data] [--records 96] [--available I]

Each configuration reconstructs the same first ``--records`` records of ``--data`` into a fresh
temporary folder with :func:`l2g.scale.run_reconstruct` (read, reconstruct, band-free grades, lead
check, WFDB export, results table), in the order local 1, Ray 1, local 2, Ray 2, so that the load
of other jobs on this machine falls on all of them alike. Prints, per configuration: records per
second over the whole run (start-up and model loading included) and in the steady state (after the
first row), the mean time inside :func:`l2g.scale.process_record` per record, the overhead per
record outside it, and the peak resident memory of this process and every process below it (Ray's
raylet, GCS and workers included; shared pages counted in each process). Then a projection to N
machines from the per-actor rate. Prints the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from l2g.markdown import md_table
from l2g.scale import RayOptions, ReconstructJob, read_results, run_reconstruct


def _tree_rss_mb(root: int) -> float:
    """Resident memory (MB) of process ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(d), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack += children.get(p, [])
    return total / 2**20


class PeakMemory:
    """Samples :func:`_tree_rss_mb` of this process every ``every`` seconds; ``peak`` after ``stop``."""

    def __init__(self, every: float = 0.25):
        self.every, self.peak, self._stop = every, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mb(os.getpid()))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def measure(data: Path, n: int, available: tuple[str, ...], engine: str, size: int) -> dict:
    """One configuration: ``engine`` with ``size`` workers or actors over the first ``n`` records."""
    with tempfile.TemporaryDirectory() as tmp:
        job = ReconstructJob(data, Path(tmp), available)
        first: list[float] = []
        t0 = time.perf_counter()

        def on_row(row: dict) -> None:
            if not first:
                first.append(time.perf_counter() - t0)

        with PeakMemory() as mem:
            summary = run_reconstruct(job, engine=engine, workers=size, limit=n, progress=False, on_row=on_row,
                                      ray_options=RayOptions(actors=size, cpus_per_actor=0.5, batch_size=4))
        wall = time.perf_counter() - t0
        table = read_results(job.out)
    inside = float(table["seconds"].mean())
    steady = (n - 1) / (wall - first[0]) if first and wall > first[0] else float("nan")
    return {"engine": engine, "workers": size, "records": n, "failed": summary.failed, "wall_s": wall,
            "first_row_s": first[0] if first else float("nan"), "rec_per_s": n / wall, "steady_rec_per_s": steady,
            "in_record_ms": inside * 1000, "overhead_ms": (1000 * size / steady - inside * 1000),
            "peak_mb": mem.peak, "model": summary.model_digest}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--records", type=int, default=96)
    ap.add_argument("--available", default="I")
    ap.add_argument("--machines", type=int, nargs="*", default=[1, 10, 100])
    ap.add_argument("--cores-per-machine", type=int, default=16)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    available = tuple(args.available.split(","))
    print(f"cpus {os.cpu_count()}, load average before {os.getloadavg()}")
    rows = [measure(args.data, args.records, available, engine, size)
            for size in (1, 2) for engine in ("local", "ray")]
    print(f"load average after {os.getloadavg()}; model {rows[0]['model']}")
    print(md_table(__import__("pandas").DataFrame(rows).drop(columns=["model"]),
                   {"wall_s": ".1f", "first_row_s": ".1f", "rec_per_s": ".2f", "steady_rec_per_s": ".2f",
                    "in_record_ms": ".0f", "overhead_ms": ".0f", "peak_mb": ".0f"}))
    by = {(r["engine"], r["workers"]): r for r in rows}
    for size in (1, 2):
        ratio = by[("ray", size)]["steady_rec_per_s"] / by[("local", size)]["steady_rec_per_s"]
        whole = by[("ray", size)]["rec_per_s"] / by[("local", size)]["rec_per_s"]
        print(f"Ray / local with {size}: steady {ratio:.2f}x, whole run {whole:.2f}x")
    per_actor = 1000.0 / by[("ray", 1)]["in_record_ms"]  # records/s of one actor on one core, busy all the time
    print(f"per-actor rate {per_actor:.2f} records/s (1 / mean time inside process_record, 1-actor Ray run)")
    for m in args.machines:
        rate = per_actor * args.cores_per_machine * m
        print(f"{m} machine(s) x {args.cores_per_machine} actors: {rate:.0f} records/s, "
              f"1 million records in {1e6 / rate / 3600:.2f} h")


if __name__ == "__main__":
    main()
