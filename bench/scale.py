"""Archive-scale throughput: the local process pool against Ray (1 and 2 actors), back to back.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.scale [--data ../shared/data] [--records 32] [--rounds 2]
    .venv/bin/python -m bench.scale --summary OUT      # what an earlier run's results table holds

Each configuration reconstructs the same first ``--records`` records of ``--data`` into a fresh
temporary folder with :func:`l2g.scale.run_reconstruct` (read, reconstruct, band-free grades, lead
check, WFDB export, results table), in the order local 1, Ray 1, local 2, Ray 2, ``--rounds`` times,
so that the changing load of other jobs on this machine falls on all of them alike. Prints, per run
and as the median of the rounds: records per second over the whole run (start-up and model loading
included) and in the steady state (after the first row), the CPU seconds per record of this process
and every process below it (Ray's raylet, GCS and workers included: load-independent, unlike the
rates), and their peak resident memory (shared pages counted in each process). Then a projection to
N machines from the CPU per record. Prints the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from l2g.markdown import md_table
from l2g.scale import RayOptions, ReconstructJob, read_results, run_reconstruct


def _tree() -> dict[int, tuple[int, float, float]]:
    """``pid -> (parent pid, resident MB, CPU seconds user + system)`` of every process, from /proc."""
    page, tick = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(d)] = (int(f[1]), int(f[21]) * page / 2**20, (int(f[11]) + int(f[12])) / tick)
    return out


def _below(root: int, procs: dict[int, tuple[int, float, float]]) -> list[int]:
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        p = stack.pop()
        found.append(p)
        stack += kids.get(p, [])
    return found


class TreeSampler:
    """Every ``every`` s: the resident memory of this process and all below it (Ray's raylet, GCS and
    workers included; shared pages counted in each), and the CPU seconds each of them has used."""

    def __init__(self, every: float = 0.25):
        self.every, self.peak_mb, self._stop = every, 0.0, threading.Event()
        self.cpu: dict[int, float] = {}
        self.start = {pid: c for pid, (_, _, c) in _tree().items()}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            procs = _tree()
            pids = _below(os.getpid(), procs)
            self.peak_mb = max(self.peak_mb, sum(procs[p][1] for p in pids if p in procs))
            for p in pids:
                if p in procs:
                    self.cpu[p] = procs[p][2] - self.start.get(p, 0.0)
            self._stop.wait(self.every)

    @property
    def cpu_s(self) -> float:
        """CPU seconds used by the tree while sampled (a process that ended loses its last < 0.25 s)."""
        return sum(self.cpu.values())

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def measure(data: Path, n: int, available: tuple[str, ...], engine: str, size: int) -> dict:
    """One configuration: ``engine`` with ``size`` workers or actors over the first ``n`` records."""
    with tempfile.TemporaryDirectory() as tmp:
        job = ReconstructJob(data, Path(tmp), available)
        first: list[float] = []  # seconds and CPU seconds at the first row
        t0 = time.perf_counter()

        def on_row(row: dict) -> None:
            if not first:
                first.extend((time.perf_counter() - t0, tree.cpu_s))

        with TreeSampler() as tree:
            summary = run_reconstruct(job, engine=engine, workers=size, limit=n, progress=False, on_row=on_row,
                                      ray_options=RayOptions(actors=size, cpus_per_actor=0.5, batch_size=4))
        wall = time.perf_counter() - t0
        failed = int((read_results(job.out)["status"] != "ok").sum())
    steady = (n - 1) / (wall - first[0]) if first and wall > first[0] else float("nan")
    return {"engine": engine, "workers": size, "records": n, "failed": failed, "wall_s": wall,
            "first_row_s": first[0] if first else float("nan"), "rec_per_s": n / wall, "steady_rec_per_s": steady,
            "startup_cpu_s": first[1], "cpu_ms_per_rec": 1000 * tree.cpu_s / n,
            "steady_cpu_ms_per_rec": 1000 * (tree.cpu_s - first[1]) / (n - 1), "peak_mb": tree.peak_mb,
            "model": summary.model_digest}


def summarise(out: Path) -> None:
    """Print what the results table of an earlier run in ``out`` holds, per top folder of the archive."""
    from collections import Counter

    from l2g.scale import summarise_results

    t = read_results(out)
    print(f"{out}: {summarise_results(t)}")
    ok = t[t["status"] == "ok"].assign(dataset=lambda d: d["record_id"].str.split("/").str[0])
    per = ok.groupby("dataset").agg(
        records=("record_id", "size"), fs_hz=("fs", lambda x: ", ".join(f"{v:g}" for v in sorted(set(x)))),
        min_s=("duration_s", "min"), max_s=("duration_s", "max"),
        worst_B=("worst_grade", lambda x: int((x == "B").sum())),
        worst_C=("worst_grade", lambda x: int((x == "C").sum())),
        leadcheck_flagged=("leadcheck_flags", lambda x: sum(len(f) > 0 for f in x)),
        model=("model_digest", "first")).reset_index()
    print(md_table(per, {"min_s": ".1f", "max_s": ".1f"}))
    print("grades of the generated leads:", dict(Counter(g for gs in ok["grades"] for g in gs)))
    print("lead-check faults:", dict(Counter(f for fs in ok["leadcheck_faults"] for f in fs)))
    print("failed:", t.loc[t["status"] == "failed", ["record_id", "error"]].to_dict("records"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--records", type=int, default=32)
    ap.add_argument("--available", default="I")
    ap.add_argument("--machines", type=int, nargs="*", default=[1, 10, 100])
    ap.add_argument("--cores-per-machine", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2, help="rounds of the four configurations, interleaved")
    ap.add_argument("--summary", type=Path, default=None, metavar="OUT",
                    help="only summarise the results table of an earlier run into OUT")
    args = ap.parse_args()
    if args.summary is not None:
        summarise(args.summary)
        return
    import torch

    torch.set_num_threads(1)
    available = tuple(args.available.split(","))
    print(f"cpus {os.cpu_count()}, load average before {os.getloadavg()}")
    runs = [measure(args.data, args.records, available, engine, size)
            for _ in range(args.rounds) for size in (1, 2) for engine in ("local", "ray")]
    print(f"load average after {os.getloadavg()}; model {runs[0]['model']}")
    table = pd.DataFrame(runs).drop(columns=["model"])
    formats = {"wall_s": ".1f", "first_row_s": ".1f", "rec_per_s": ".2f", "steady_rec_per_s": ".2f",
               "startup_cpu_s": ".1f", "cpu_ms_per_rec": ".0f", "steady_cpu_ms_per_rec": ".0f", "peak_mb": ".0f"}
    print("every run, in the order run:")
    print(md_table(table, formats))
    med = table.groupby(["engine", "workers"], sort=False).median(numeric_only=True).reset_index()
    med[["records", "failed"]] = med[["records", "failed"]].astype(int)
    print(f"median of {args.rounds} rounds:")
    print(md_table(med, formats))
    by = {(r["engine"], r["workers"]): r for r in med.to_dict("records")}
    for size in (1, 2):
        ray_, loc = by[("ray", size)], by[("local", size)]
        print(f"{size}: Ray / local rate: whole run {ray_['rec_per_s'] / loc['rec_per_s']:.2f}x, steady "
              f"{ray_['steady_rec_per_s'] / loc['steady_rec_per_s']:.2f}x; CPU per record after the first "
              f"{ray_['steady_cpu_ms_per_rec']:.0f} / {loc['steady_cpu_ms_per_rec']:.0f} ms (Ray's overhead "
              f"{ray_['steady_cpu_ms_per_rec'] - loc['steady_cpu_ms_per_rec']:.0f} ms of CPU per record); start-up "
              f"{ray_['startup_cpu_s']:.1f} / {loc['startup_cpu_s']:.1f} CPU s")
    cpu = by[("ray", 2)]["steady_cpu_ms_per_rec"] / 1000  # core-seconds per record, Ray's own processes included
    print(f"projection from {cpu * 1000:.0f} ms of CPU per record (Ray, 2 actors, after start-up), every core busy, "
          "one actor "
          f"and one torch thread per core, reading and writing not the bottleneck:")
    for m in args.machines:
        rate = args.cores_per_machine * m / cpu
        print(f"  {m} machine(s) x {args.cores_per_machine} cores: {rate:.0f} records/s, "
              f"1 million records in {1e6 / rate / 3600:.2f} h, {cpu * 1e6 / 3600:.0f} core-hours")


if __name__ == "__main__":
    main()
