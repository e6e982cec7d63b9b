"""The 1…7-available-lead study on held-out real records.

For every k = 1…7 the same plan of lead subsets is applied to every record:
all 12 single leads for k = 1; for k ≥ 2 the clinical presets of size k
(:data:`l2g.leads.PRESETS`) plus ``subsets_per_k`` subsets drawn uniformly
without replacement from all C(12, k) with a fixed seed. Each (record,
subset) is reconstructed with the real inference path
(:func:`l2g.reconstruct.reconstruct`) by every method, and scored on the
*generated* leads only, at the record's own sampling rate, after the same
0.5 Hz zero-phase high-pass is applied to the real and the generated record
(the generator works on baseline-free signals; exact Einthoven/Goldberger
leads stay exact under a linear filter).

Run it with ``l2g evaluate --data DIR --split test --out reports/``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .leads import LEADS, PRESETS, parse_lead_list
from .metrics import lead_agreement
from .preprocess import remove_baseline
from .record import Record

__all__ = ["StudyConfig", "subset_plan", "run_study", "summarise_by_k", "load_split_records", "k_table_markdown"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyConfig:
    """Which subsets are evaluated, and how."""

    k_values: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)  # numbers of available leads
    subsets_per_k: int = 12  # random subsets per k >= 2, on top of the presets of that size
    include_presets: bool = True  # add the clinical presets of size k
    seed: int = 0  # subset-sampling seed
    highpass_hz: float = 0.5  # applied to real and generated before scoring


def subset_plan(config: StudyConfig = StudyConfig()) -> dict[int, list[tuple[str, ...]]]:
    """The lead subsets evaluated for each k (identical for every record and method)."""
    from itertools import combinations
    from math import comb

    rng = np.random.default_rng(config.seed)
    plan: dict[int, list[tuple[str, ...]]] = {}
    for k in config.k_values:
        if not 1 <= k <= 11:
            raise ValueError(f"k must be in 1..11 (at least one lead must be generated), got {k}")
        chosen: list[tuple[str, ...]] = []
        if config.include_presets:
            chosen += [parse_lead_list(v) for v in PRESETS.values() if len(v) == k]
        if k == 1 or comb(12, k) <= config.subsets_per_k + len(chosen):
            pool = [tuple(c) for c in combinations(LEADS, k)]
            chosen += [s for s in pool if s not in chosen]
        else:
            seen = set(chosen)
            extra: list[tuple[str, ...]] = []
            while len(extra) < config.subsets_per_k:
                idx = sorted(rng.choice(12, size=k, replace=False))
                s = tuple(LEADS[i] for i in idx)
                if s not in seen:
                    seen.add(s)
                    extra.append(s)
            chosen += extra
        plan[k] = chosen
    return plan


def load_split_records(data_dir: str | Path, split_csv: str | Path, split: str) -> list[tuple[str, str, Record]]:
    """``(record_id, source, Record)`` for every readable record of a split.

    Records whose 12 leads are not all recorded, or that have a flat lead
    (disconnected electrode, as :func:`l2g.dataset.to_independent` screens),
    are skipped with a log message: they have no ground truth to score.
    """
    import warnings

    from .catalog import load_split, record_path
    from .dataset import to_independent
    from .io import read_record

    table = load_split(split_csv)
    ids = table.loc[table["split"] == split, "record_id"].tolist()
    if not ids:
        raise ValueError(f"{split_csv}: no records in split {split!r}")
    out = []
    for rid in ids:
        path = record_path(data_dir, rid)
        if path is None:
            log.warning("%s: not found under %s", rid, data_dir)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rec = read_record(path)
            to_independent(rec)  # raises for absent / flat leads
        except ValueError as exc:
            log.warning("%s: skipped (%s)", rid, exc)
            continue
        if len(rec.recorded_leads) != 12:
            continue
        parts = rid.split("/")
        source = parts[1] if parts[0] == "cinc2021" and len(parts) > 2 else parts[0]
        out.append((rid, source, rec))
    return out


def run_study(
    records: Sequence[tuple[str, str, Record]],
    methods: Mapping[str, object],
    config: StudyConfig = StudyConfig(),
    progress: bool = True,
) -> pd.DataFrame:
    """Reconstruct every (record, subset) with every method and score each generated lead.

    Parameters
    ----------
    records : sequence of (record_id, source, Record)
    methods : mapping of name to :class:`l2g.reconstruct.Reconstructor`
    config : StudyConfig

    Returns
    -------
    DataFrame
        One row per (method, record, subset, generated lead): ``method,
        record_id, source, k, subset, lead, mse`` (mV²), ``rmse_uv``, ``r``.
    """
    from tqdm import tqdm

    from .reconstruct import reconstruct

    plan = subset_plan(config)
    rows: list[dict] = []
    total = len(records) * sum(len(v) for v in plan.values()) * len(methods)
    bar = tqdm(total=total, desc="evaluate", disable=not progress)
    for rid, source, rec in records:
        real = remove_baseline(rec, config.highpass_hz)
        for k, subsets in plan.items():
            for subset in subsets:
                key = ",".join(subset)
                for name, model in methods.items():
                    out = remove_baseline(reconstruct(rec, subset, model=model), config.highpass_hz)
                    gen_idx = [i for i, lead in enumerate(LEADS) if lead not in subset]
                    agree = lead_agreement(real.signal[gen_idx], out.signal[gen_idx])
                    for j, i in enumerate(gen_idx):
                        rows.append({"method": name, "record_id": rid, "source": source, "k": k, "subset": key,
                                     "lead": LEADS[i], "mse": float(agree["mse"][j]),
                                     "rmse_uv": float(agree["rmse_uv"][j]), "r": float(agree["r"][j])})
                    bar.update(1)
    bar.close()
    return pd.DataFrame(rows)


def summarise_by_k(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean over subsets and records of the per-(record, subset) mean over generated leads.

    Returns one row per (method, k): ``mse`` (mV²), ``rmse_uv``, ``r``,
    ``mse_median`` (median over record × subset), ``n_subsets``, ``n_records``.
    """
    per = rows.groupby(["method", "k", "subset", "record_id"], as_index=False)[["mse", "rmse_uv", "r"]].mean()
    agg = per.groupby(["method", "k"]).agg(
        mse=("mse", "mean"), rmse_uv=("rmse_uv", "mean"), r=("r", "mean"), mse_median=("mse", "median"),
        n_subsets=("subset", "nunique"), n_records=("record_id", "nunique"),
    )
    return agg.reset_index()


def k_table_markdown(summary: pd.DataFrame, methods: Sequence[str]) -> str:
    """A markdown table: one row per k, MSE and r per method (and which is better)."""
    head = "| k | subsets | " + " | ".join(f"{m} MSE (mV²) | {m} r" for m in methods) + " |"
    sep = "|---|---|" + "---|---|" * len(methods)
    lines = [head, sep]
    for k, grp in summary.groupby("k"):
        g = grp.set_index("method")
        cells = []
        best_mse = g.loc[list(methods), "mse"].min()
        best_r = g.loc[list(methods), "r"].max()
        for m in methods:
            mse_s = f"{g.loc[m, 'mse']:.4f}"
            r_s = f"{g.loc[m, 'r']:.3f}"
            cells.append(f"**{mse_s}**" if g.loc[m, "mse"] == best_mse else mse_s)
            cells.append(f"**{r_s}**" if g.loc[m, "r"] == best_r else r_s)
        lines.append(f"| {k} | {int(g['n_subsets'].iloc[0])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(rows: pd.DataFrame, out_dir: str | Path, config: StudyConfig, meta: dict) -> dict:
    """Write ``evaluation.json``, ``evaluation.md`` and the per-lead rows (``evaluation_rows.csv.gz``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise_by_k(rows)
    methods = list(dict.fromkeys(rows["method"]))
    result = {
        "config": asdict(config),
        "meta": meta,
        "by_k": summary.to_dict(orient="records"),
        "subsets": {str(k): [",".join(s) for s in v] for k, v in subset_plan(config).items()},
    }
    (out / "evaluation.json").write_text(json.dumps(result, indent=1, default=float))
    rows.to_csv(out / "evaluation_rows.csv.gz", index=False, float_format="%.6g")
    md = [
        "# L2G-ECG evaluation",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `{meta.get('command', 'l2g evaluate')}`.",
        f"Split `{meta.get('split')}`: {rows['record_id'].nunique()} records; metrics on generated leads only, "
        f"mean over subsets of the per-record mean over generated leads; both traces high-passed at "
        f"{config.highpass_hz} Hz.",
        "",
        k_table_markdown(summary, methods),
        "",
    ]
    (out / "evaluation.md").write_text("\n".join(md))
    return result
