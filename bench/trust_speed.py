"""What the confidence band, the trust grade and the lead check add to a 10-s record.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.trust_speed [--runs 30] [--app 20] [--out FILE.md]

On the demo record and a few 10-s, 500-Hz test-split records of ../shared/data (skipped when
absent), with the shipped generator and one torch thread (the dashboard's setting on a 2-CPU
machine), the median over ``--runs`` warm runs of:

* ``reconstruct``            - :func:`l2g.reconstruct` without a band;
* ``reconstruct + band``     - the same with ``interval=0.9``;
* ``band``                   - the band step alone (:func:`l2g.uncertainty.interval_for`, what
  ``interval=0.9`` adds to ``reconstruct``; timed directly, as the difference of the two
  columns above is within their run-to-run noise);
* ``trust_table``            - :func:`l2g.trust.trust_table` of the banded reconstruction;
* ``st_halfwidth``           - :func:`l2g.uncertainty.st_halfwidth` (R peaks of Lead II);
* ``check_leads``            - :func:`l2g.leadcheck.check_leads` of the 12 recorded leads.

"band + check" = band + check_leads: the issue's target (<= 30 ms). "all added" = band +
trust_table + st_halfwidth + check_leads: everything the dashboard computes beyond the
reconstruction for a new record (the lead check runs once per record, the rest once per
lead selection). Leads given: the dashboard's default preset I, II, V1, V3, V5. The load
average before and after is printed (other work on the machine slows every number).

``--app N``: also N whole reruns of the viewer page (Streamlit AppTest, same process) on the
demo record, each after changing the ticked leads to a selection not seen before (so the
reconstruction, band, trust table and ST half-width are computed, not read from the cache);
target <= 1 s per change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from l2g.demo import demo_record
from l2g.io import read_record
from l2g.leadcheck import check_leads
from l2g.reconstruction import load_reconstructor, reconstruct
from l2g.trust import trust_table
from l2g.uncertainty import interval_for, st_halfwidth

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: 10-s, 500-Hz, 12-lead records of the test split (splits/split.csv).
TEST_RECORDS = ("ptbxl_cinc2024/01612_hr", "ludb/data/10", "cinc2021/georgia/E00008")
AVAILABLE = ("I", "II", "V1", "V3", "V5")
STEPS = ("reconstruct", "reconstruct + band", "band", "trust_table", "st_halfwidth", "check_leads")


def median_ms(fn, runs: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(times)


def app_reruns(n: int) -> list[float]:
    """Seconds of ``n`` viewer reruns, each after ticking a lead selection not seen before."""
    from itertools import combinations

    from streamlit.testing.v1 import AppTest

    from l2g.leads import LEADS

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300).run()
    subsets = [c for k in (2, 3, 4) for c in combinations(("I", "II", "V1", "V2", "V3", "V4", "V5"), k)][:n]
    times = []
    for subset in subsets:
        for lead in LEADS:
            box = at.checkbox(key=f"lead_{lead}")
            box.check() if lead in subset else box.uncheck()
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        if at.exception:
            raise RuntimeError(at.exception)
    return times


def records() -> list[tuple[str, object]]:
    out = [("demo (synthetic)", demo_record())]
    split = Path(__file__).resolve().parents[1] / "splits" / "split.csv"
    test = {line.split(",")[0] for line in split.read_text().splitlines()[1:] if line.endswith(",test")}
    for rel in TEST_RECORDS:
        path = SHARED / f"{rel}.hea"
        if rel not in test or not path.exists():
            print(f"skipped {rel}: {'not in the test split' if rel not in test else 'not found'}", file=sys.stderr)
            continue
        rec = read_record(path)
        if rec.fs == 500.0 and abs(rec.duration - 10.0) < 0.01:
            out.append((rel, rec))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--out", type=Path, default=None, help="also write the table as Markdown here")
    ap.add_argument("--app", type=int, default=0, metavar="N", help="also time N viewer reruns (AppTest)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    load_before = os.getloadavg()
    model = load_reconstructor(method="model")
    rows = []
    for name, rec in records():
        full = reconstruct(rec, AVAILABLE, model=model, interval=0.9)
        plain = reconstruct(rec, AVAILABLE, model=model)
        ms = {
            "reconstruct": median_ms(lambda rec=rec: reconstruct(rec, AVAILABLE, model=model), args.runs),
            "reconstruct + band": median_ms(lambda rec=rec: reconstruct(rec, AVAILABLE, model=model, interval=0.9),
                                            args.runs),
            "band": median_ms(lambda plain=plain: interval_for(plain, AVAILABLE, 0.9, model.linear), args.runs),
            "trust_table": median_ms(lambda full=full: trust_table(full, model=model), args.runs),
            "st_halfwidth": median_ms(lambda full=full: st_halfwidth(full), args.runs),
            "check_leads": median_ms(lambda rec=rec: check_leads(rec, model=model), args.runs),
        }
        target = ms["band"] + ms["check_leads"]
        added = target + ms["trust_table"] + ms["st_halfwidth"]
        rows.append((name, ms, target, added))
        print(f"{name}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in ms.items())
              + f"; band + check {target:.1f} ms, all added {added:.1f} ms", flush=True)
    app = app_reruns(args.app) if args.app else []
    load_after = os.getloadavg()
    lines = [
        f"model {model.version}; torch {torch.__version__}, 1 thread; {os.cpu_count()} CPUs; "
        f"median of {args.runs} warm runs; leads given: {', '.join(AVAILABLE)}",
        f"load average (1, 5, 15 min) before {', '.join(f'{v:.2f}' for v in load_before)}, "
        f"after {', '.join(f'{v:.2f}' for v in load_after)}",
        "",
        "| record | " + " | ".join(f"{s} (ms)" for s in STEPS) + " | band + check (ms) | all added (ms) |",
        "|---|" + "---:|" * (len(STEPS) + 2),
    ]
    lines += [f"| {name} | " + " | ".join(f"{ms[s]:.1f}" for s in STEPS) + f" | **{target:.1f}** | {added:.1f} |"
              for name, ms, target, added in rows]
    if app:
        lines += ["", f"Viewer rerun after a new lead selection (AppTest, demo record, band, grades, ST warning on): "
                      f"median {statistics.median(app) * 1000:.0f} ms, max {max(app) * 1000:.0f} ms over {len(app)} "
                      "selections (target <= 1000 ms)"]
    print("\n".join(lines))
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
