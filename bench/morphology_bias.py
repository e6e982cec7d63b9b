"""Why is the generated Lead II's PR shorter than the real one? (issue #4, evaluation)

The evaluation's morphology table (``l2g evaluate``, Lead II hidden) shows the generated
Lead II's PR about 40 ms shorter than the real one, for the model and the linear baseline
alike. This bench takes that path apart on the test split:

1. **Controls.** Real Lead II; the real lead I, the input of the one-lead subset, scored as if
   it were Lead II (physiology: how much of the difference lead I already has); and a
   *perfect reconstruction*: the real leads fed through
   the exact output path of :func:`l2g.reconstruction.reconstruct` (resampled to the model
   rate, high-passed, expanded from the 8 independent leads, resampled back) in place of a
   model. If the pipeline (filters, resampling, delineation at another rate, pairing of
   beats) shifted anything, the perfect reconstruction would show it.
2. **Which end moves.** Per record, the median offset from the R peak of each fiducial point
   (P on / peak / off, QRS on / off, T off) of each trace, minus the real trace's: a PR
   change from a later P onset and one from an earlier QRS onset look the same in the table.
3. **Waveform, not delineator.** On the median beat (aligned on the real Lead II's R peaks),
   the least-squares gain of the generated trace on the real one over the first half of the
   real P wave's upstroke (P onset to midway to the P peak) and over the same length after
   the P peak. A delineator fooled by a weak P wave would leave the two gains alike.
4. **LUDB.** On the split's LUDB records, the P onset of each trace against the
   cardiologists' lead-II P onsets: by the delineator, and by two threshold-only
   definitions (the P wave's median beat first reaching 10 % / 20 % of its amplitude).

Reproduce (about 2 minutes on one shared core)::

    .venv/bin/python -m bench.morphology_bias --data ../shared/data

Prints Markdown tables; ``--out`` also writes them there (e.g. ``reports/morphology_bias.md``).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from l2g.evaluate import StudyConfig, load_split_records
from l2g.leads import INDEPENDENT_LEADS
from l2g.morphology import Delineation, delineate, intervals
from l2g.preprocess import HIGHPASS_HZ, remove_baseline, resample
from l2g.reconstruction import load_reconstructor, reconstruct
from l2g.record import Record

ROOT = Path(__file__).resolve().parents[1]

POINTS = ("p_on", "p_peak", "p_off", "qrs_on", "qrs_off", "t_off")
BEAT_PRE_S, BEAT_POST_S = 0.5, 0.1  # median-beat window around R for the P-wave gains


class PerfectReconstructor:
    """Duck-typed :class:`l2g.reconstruction.Reconstructor` whose "prediction" is the truth.

    It returns the real independent leads, resampled and high-passed as the model's inputs
    are, so :func:`l2g.reconstruction.reconstruct` puts them through its own output path.
    """

    method, version = "perfect", "perfect"

    def __init__(self, record: Record, fs: float = 250.0, highpass_hz: float = HIGHPASS_HZ) -> None:
        self.fs, self.highpass_hz = fs, highpass_hz
        x = remove_baseline(resample(record, fs), highpass_hz)
        self.x8 = np.stack([x.lead(lead) for lead in INDEPENDENT_LEADS]).astype(np.float32)

    def predict_independent(self, x12: np.ndarray, available) -> np.ndarray:
        return self.x8[:, : x12.shape[1]]


def point_offsets_ms(d) -> dict[str, float]:
    """Median offset (ms) from the R peak of each fiducial point over the beats where it was found."""
    out = {}
    for name in POINTS:
        v = (getattr(d, name) - d.r_peaks) * 1000.0 / d.fs
        v = v[np.isfinite(v)]
        out[name] = float(np.median(v)) if v.size else float("nan")
    return out


def median_beat(x: np.ndarray, r: np.ndarray, fs: float) -> tuple[np.ndarray, int]:
    a, b = int(BEAT_PRE_S * fs), int(BEAT_POST_S * fs)
    r = r[(r >= a) & (r + b <= x.size)].astype(int)
    return np.median(np.stack([x[i - a: i + b] for i in r]), axis=0), a


def p_gains(real: np.ndarray, gen: np.ndarray, d_real, fs: float) -> tuple[float, float]:
    """Least-squares gain of ``gen`` on ``real`` over the early P upstroke and after the P peak."""
    ok = np.isfinite(d_real.p_on) & np.isfinite(d_real.p_peak)
    if ok.sum() < 3:
        return float("nan"), float("nan")
    r = d_real.r_peaks[ok]
    mr, c = median_beat(real, r, fs)
    mg, _ = median_beat(gen, r, fs)
    on = c + int(np.median((d_real.p_on - d_real.r_peaks)[ok]))
    pk = c + int(np.median((d_real.p_peak - d_real.r_peaks)[ok]))
    if not 0 < on < pk:
        return float("nan"), float("nan")
    iso = slice(max(on - int(0.03 * fs), 0), max(on - int(0.01 * fs), 1))
    mr, mg = mr - np.median(mr[iso]), mg - np.median(mg[iso])

    def gain(s: slice) -> float:
        den = float(np.sum(mr[s] ** 2))
        return float(np.sum(mg[s] * mr[s]) / den) if den > 0 else float("nan")

    return gain(slice(on, (on + pk) // 2)), gain(slice(pk, pk + (pk - on)))


def ludb_p_onsets(path: Path, traces: dict[str, np.ndarray], fs: float,
                  delineations: dict[str, Delineation]) -> dict[str, dict[str, float]]:
    """Per trace: P-onset error (ms) against the cardiologists, by the delineator and by 10 % / 20 % amplitude.

    ``delineations[name]`` is ``delineate(traces[name], fs)``, computed once by the caller.
    """
    from bench.delineation_ludb import read_annotation_waves

    waves = read_annotation_waves(path, "ii")
    qrs = np.array(waves["qrs"], dtype=np.float64).reshape(-1, 3)
    beats = []
    for on, pk, off in waves["p"]:
        nxt = qrs[qrs[:, 1] > pk]
        if np.isfinite(on) and np.isfinite(off) and len(nxt):
            beats.append((on, pk, off, nxt[0, 1]))
    if len(beats) < 3:
        return {}
    beats = np.array(beats)
    ms = 1000.0 / fs
    out = {}
    for name, x in traces.items():
        d = delineations[name]
        err = []
        for on, _, _, r in beats:
            j = int(np.argmin(np.abs(d.r_peaks - r))) if d.n_beats else -1
            if j >= 0 and abs(d.r_peaks[j] - r) < 0.1 * fs and np.isfinite(d.p_on[j]):
                err.append((d.p_on[j] - on) * ms)
        row = {"delineator": float(np.median(err)) if err else float("nan")}
        mb, c = median_beat(x, beats[:, 3], fs)
        on, off = (c + int(np.median(beats[:, k] - beats[:, 3])) for k in (0, 2))
        lead_in = int(0.04 * fs)
        seg = mb[on - lead_in: off] - np.median(mb[on - lead_in: on - int(0.01 * fs)])
        pk = int(np.argmax(np.abs(seg)))
        for frac in (0.1, 0.2):
            below = np.flatnonzero(np.sign(seg[pk]) * seg[:pk] < frac * abs(seg[pk]))
            row[f"{frac:.0%}"] = float((below[-1] - lead_in) * ms) if below.size else float("nan")
        out[name] = row
    return out


def _f(x: float, spec: str = "+.1f") -> str:
    return "–" if not np.isfinite(x) else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--split-csv", type=Path, default=ROOT / "splits" / "split.csv")
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None, help="also write the Markdown here")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    cfg = StudyConfig()
    methods = {"model": load_reconstructor(method="model", device="cpu"), "linear": load_reconstructor(method="linear")}
    records = load_split_records(args.data, args.split_csv, args.split)[: args.limit]
    traces_of = ["real lead I", "perfect"] + [f"{m} {{{','.join(s)}}}" for m in methods for s in cfg.morphology_subsets]
    diffs: dict[str, dict[str, list[float]]] = {t: {k: [] for k in ("pr", *POINTS)} for t in traces_of}
    gains: dict[str, list[tuple[float, float]]] = {t: [] for t in traces_of}
    ludb: dict[str, list[dict[str, float]]] = {}
    for rid, _, rec in records:
        if rec.duration > cfg.max_seconds:
            rec = rec.crop(0.0, cfg.max_seconds)
        real = remove_baseline(rec, cfg.highpass_hz)
        x = real.lead("II")
        traces = {"real lead I": real.lead("I"), "perfect": remove_baseline(reconstruct(rec, cfg.morphology_subsets[0],
                                                         model=PerfectReconstructor(rec)), cfg.highpass_hz).lead("II")}
        for m, model in methods.items():
            for s in cfg.morphology_subsets:
                out = remove_baseline(reconstruct(rec, s, model=model), cfg.highpass_hz)
                traces[f"{m} {{{','.join(s)}}}"] = out.lead("II")
        d_real = delineate(x, rec.fs)
        iv_real, off_real = intervals(d_real), point_offsets_ms(d_real)
        found = {"real": d_real}
        for name, g in traces.items():
            d = found[name] = delineate(g, rec.fs)
            diffs[name]["pr"].append(intervals(d)["pr_ms"] - iv_real["pr_ms"])
            off = point_offsets_ms(d)
            for k in POINTS:
                diffs[name][k].append(off[k] - off_real[k])
            gains[name].append(p_gains(x, g, d_real, rec.fs))
        if rid.startswith("ludb/"):
            for name, row in ludb_p_onsets(args.data / rid, {"real": x, **traces}, rec.fs, found).items():
                ludb.setdefault(name, []).append(row)
    lines = [
        "# Generated vs real Lead II: where the PR difference comes from",
        "",
        f"`bench/morphology_bias.py`, split `{args.split}` ({len(records)} records), "
        f"{', '.join(f'{m}: `{r.version}`' for m, r in methods.items())}; {time.strftime('%Y-%m-%d')}, "
        f"{time.perf_counter() - t0:.0f} s. Lead II hidden; real and generated high-passed at "
        f"{cfg.highpass_hz} Hz and delineated alone with the default delineator, as in `l2g evaluate`.",
        "",
        "## Mean shift of each point against the real Lead II (ms; records where both exist)",
        "",
        "Point times are the per-record median offsets from the R peak. PR = QRS on - P on.",
        "",
        "| trace | PR | P on | P peak | P off | QRS on | QRS off | T off | early-P gain | late-P gain |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in traces_of:
        cells = []
        for k in ("pr", *POINTS):
            v = np.asarray(diffs[name][k], dtype=np.float64)
            v = v[np.isfinite(v)]
            cells.append(f"{_f(v.mean() if v.size else np.nan)} ({v.size})")
        g = np.asarray(gains[name], dtype=np.float64).reshape(-1, 2)
        cells += [_f(np.nanmedian(g[:, 0]), ".2f"), _f(np.nanmedian(g[:, 1]), ".2f")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Gains: median over records of the least-squares gain of the trace on the real Lead II's median beat, "
        "over the first half of the real P upstroke (early) and the same length after the P peak (late); "
        "1 = reproduced, 0 = absent.",
        "",
        "## LUDB records of the split: P onset against the cardiologists' lead-II P onset (ms)",
        "",
        "Median over records of: the delineator's per-record median error; the time the P wave's median beat "
        "first reaches 10 % / 20 % of its amplitude, from the annotated onset.",
        "",
        "| trace | records | delineator | 10 % amplitude | 20 % amplitude |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rows in ludb.items():
        cols = {k: np.array([r[k] for r in rows], dtype=np.float64) for k in ("delineator", "10%", "20%")}
        lines.append(f"| {name} | {np.isfinite(cols['delineator']).sum()} | "
                     + " | ".join(_f(np.nanmedian(v), "+.0f") for v in cols.values()) + " |")
    md = "\n".join(lines) + "\n"
    print(md)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
