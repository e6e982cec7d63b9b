"""The 1…7-available-lead study on held-out real records: the computation (plan, reconstruction,
scores, summaries); :mod:`l2g.evaluate` writes its report and re-exports these names.

For every k = 1…7 the same plan of lead subsets is applied to every record:
all 12 single leads for k = 1; for k ≥ 2 the clinical presets of size k
(:data:`l2g.leads.PRESETS`) plus ``subsets_per_k`` subsets drawn uniformly
without replacement from all C(12, k) with a fixed seed. Each (record,
subset) is reconstructed with the real inference path
(:func:`l2g.reconstruction.reconstruct`) by every method, and scored on the
*generated* leads only, at the record's own sampling rate, after the same
0.5 Hz zero-phase high-pass is applied to the real and the generated record
(the generator works on baseline-free signals; exact Einthoven/Goldberger
leads stay exact under a linear filter).

Run it with ``l2g evaluate --data DIR --split test --out reports/``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from .leads import LEADS, PRESETS, parse_lead_list
from .preprocess import HIGHPASS_HZ, remove_baseline
from .record import Record

__all__ = [
    "StudyConfig",
    "StudyResult",
    "PAPER",
    "subset_plan",
    "run_study",
    "score_record",
    "score_reconstruction",
    "summarise_by_k",
    "load_split_records",
    "diagnosis_groups",
    "qrs_peak_to_peak",
    "amplitude_summary",
    "band_coverage",
    "leadcheck_faults",
]

#: The abstract's figures (k = 1 and k = 7 only; other k are not given).
PAPER = {1: {"aup_s": 0.81, "aup_m": 30.96e-5}, 7: {"aup_s": 0.98, "aup_m": 1.18e-5}}

# keyword groups over diagnosis labels (case-insensitive substrings); a record may be in several
_DX_GROUPS = {
    "AF / flutter": ("atrial fibrillation", "atrial flutter", "afib", "afl"),
    "conduction (BBB, AV block, IVCD)": ("bundle branch", "av block", "atrioventricular block", "1st degree",
                                         "first degree", "intraventricular", "conduction", "rbbb", "lbbb"),
    "ischaemia / infarction": ("infarct", "ischemi", "ischaemi", "st depression", "st elevation", "st-t",
                               "t wave abnormal", "mi (", "old mi", "sttc"),
    "hypertrophy": ("hypertroph", "lvh", "rvh", "high qrs voltage", "hyp"),
    "ectopy (PAC, PVC)": ("premature", "extrasystol", "pac", "pvc", "ectopic"),
    "pacemaker": ("pacing", "pacemaker", "paced"),
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyConfig:
    """Which subsets are evaluated, and how."""

    k_values: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)  # numbers of available leads
    subsets_per_k: int = 12  # random subsets per k >= 2, on top of the presets of that size
    include_presets: bool = True  # add the clinical presets of size k
    seed: int = 0  # subset-sampling seed
    highpass_hz: float = HIGHPASS_HZ  # applied to real and generated before scoring
    max_seconds: float = 60.0  # longer records (PTB: up to 115 s) are scored on their first 60 s
    # subsets for the amplitude-tracking check (regression to the mean), per k
    amplitude_subsets: tuple[tuple[str, ...], ...] = (("I",), ("I", "II"), ("I", "II", "V1", "V3", "V5"))
    # subsets for the Lead-II morphology comparison: Lead II is never available (nor derivable exactly)
    morphology_subsets: tuple[tuple[str, ...], ...] = (("I",), ("I", "V2"), ("V1", "V2", "V3", "V4", "V5", "V6"))
    leadcheck: bool = True  # run l2g.check_leads on every record untouched and with simulated faults
    # the paper's "five leads suffice", checked at scale: every 2-limb + 3-chest subset (I, II and three
    # of V1-V6), scored apart from the k = 5 means (StudyResult.claim)
    claim_subsets: tuple[tuple[str, ...], ...] = tuple(
        ("I", "II", *c) for c in combinations(("V1", "V2", "V3", "V4", "V5", "V6"), 3))


def subset_plan(config: StudyConfig = StudyConfig()) -> dict[int, list[tuple[str, ...]]]:
    """The lead subsets evaluated for each k (identical for every record and method)."""
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
    from .catalog import _datasets_and_sources, load_split, record_path
    from .dataset import to_independent
    from .io import read_record

    table = load_split(split_csv)
    ids = table.loc[table["split"] == split, "record_id"].tolist()
    if not ids:
        raise ValueError(f"{split_csv}: no records in split {split!r}")
    # the catalogue's dataset/source rule, over the whole split file so it does not depend on the split
    _, sources = _datasets_and_sources(Path(data_dir), table["record_id"].tolist())
    source_of = dict(zip(table["record_id"], sources, strict=True))
    out = []
    for rid in ids:
        path = record_path(data_dir, rid)
        if path is None:
            log.warning("%s: not found under %s", rid, data_dir)
            continue
        try:
            rec = read_record(path)  # odd findings are in rec.meta.notes; readers do not warn
            to_independent(rec)  # raises for absent / flat leads
        except ValueError as exc:
            log.warning("%s: skipped (%s)", rid, exc)
            continue
        if len(rec.recorded_leads) != 12:
            continue
        out.append((rid, source_of[rid], rec))
    return out


@dataclass
class StudyResult:
    """Everything :func:`run_study` measures.

    Attributes
    ----------
    rows : DataFrame
        One row per (method, record, subset, generated lead): ``mse`` (mV²),
        ``nmse`` (record range = 1), ``rmse_uv``, ``r``, ``ssim``, ``jsd``
        (bits), ``mi`` (bits), ``nmi``, ``coherence``.
    profiles : DataFrame
        One row per (method, record, subset): ``aup_s``, ``aup_m`` over the
        12-lead profile (available leads count as perfect).
    amplitude : DataFrame
        One row per (method, record, subset in ``amplitude_subsets``,
        generated lead): ``qrs_pp_real``, ``qrs_pp_gen`` (mV).
    morphology : DataFrame
        One row per (method, record, subset in ``morphology_subsets``,
        feature): ``real``, ``generated`` (Lead II) — filled when a
        delineator is available.
    records : DataFrame
        ``record_id, source, fs, duration_s, groups, ptbxl_derived`` (a copy
        of a PTB-XL ECG: :func:`l2g.catalog.ptbxl_ecg_id`).
    coverage : DataFrame
        One row per (first method, record, subset, generated lead not fixed
        exactly): ``coverage`` of the 90 % band (:mod:`l2g.uncertainty`),
        ``halfwidth_uv`` (mean), ``pred_rmse_uv`` and ``grade``; empty when no
        band calibration is found.
    leadcheck : DataFrame
        One row per (record, simulated fault): ``fault`` (``none`` = untouched)
        and ``found`` (the faults :func:`l2g.check_leads` names, ``;``-joined).
    claim : DataFrame
        As ``rows``, for the subsets of ``claim_subsets`` (2 limb + 3 chest
        leads), whether or not they are also in the k = 5 plan.
    """

    rows: pd.DataFrame
    profiles: pd.DataFrame
    amplitude: pd.DataFrame
    morphology: pd.DataFrame
    records: pd.DataFrame
    coverage: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    leadcheck: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    claim: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)


def diagnosis_groups(record: Record) -> list[str]:
    """The coarse diagnosis groups (keys of ``_DX_GROUPS``) a record's labels fall in.

    A record with labels but none of the groups' keywords is ``"other / normal"``;
    one with no labels is ``"unlabelled"``.
    """
    labels = " | ".join(d.label().lower() for d in record.meta.diagnoses)
    if not labels:
        return ["unlabelled"]
    found = [g for g, keys in _DX_GROUPS.items() if any(k in labels for k in keys)]
    return found or ["other / normal"]


def qrs_peak_to_peak(signal: np.ndarray, r_peaks: np.ndarray, fs: float, half_window_s: float = 0.06) -> np.ndarray:
    """Median QRS peak-to-peak amplitude (mV) per lead.

    For every beat, max − min of the lead within ±``half_window_s`` of the R
    peak (taken from a reference lead, so real and generated are measured at
    the same instants); median over beats.

    Parameters
    ----------
    signal : ndarray, shape (leads, samples)
    r_peaks : ndarray of int
    fs : float

    Returns
    -------
    ndarray, shape (leads,)
        NaN when no beat is usable.
    """
    h = int(round(half_window_s * fs))
    beats = [r for r in r_peaks if r - h >= 0 and r + h < signal.shape[1]]
    if not beats:
        return np.full(signal.shape[0], np.nan)
    idx = np.asarray(beats)[:, None] + np.arange(-h, h + 1)[None, :]
    seg = signal[:, idx]  # (leads, beats, window)
    return np.median(seg.max(-1) - seg.min(-1), axis=1)


def score_reconstruction(real: Record, generated: Record, available: Sequence[str], *,
                         highpass_hz: float | None = None) -> tuple[list[dict], dict]:
    """Score the generated leads of a reconstruction against the real record (the study's scores).

    :func:`l2g.metrics.compare` with the extended metrics, plus the 12-lead profile.

    Parameters
    ----------
    real, generated : Record
        12 canonical leads each, same fs and length (mV).
    available : sequence of str
        The leads that were given; every other lead is scored.
    highpass_hz : float or None
        High-pass (Hz) applied to both first; None (default) when they are already filtered alike.

    Returns
    -------
    lead_scores : list of dict
        One per generated lead: ``lead, mse`` (mV²), ``nmse`` (record range
        = 1), ``rmse_uv``, ``r``, ``ssim``, ``jsd``, ``mi``, ``nmi``, ``coherence``.
    profile : dict
        ``aup_s`` and ``aup_m`` over the 12-lead profile (available leads perfect).

    Examples
    --------
    >>> from l2g.demo import demo_record
    >>> rec = demo_record()
    >>> scores, profile = score_reconstruction(rec, rec, ["I"], highpass_hz=0.5)
    >>> len(scores), round(profile["aup_s"], 6), round(profile["aup_m"], 6)
    (11, 1.0, 0.0)
    """
    from .metrics import aup, compare

    table = compare(real, generated, available, highpass_hz=highpass_hz, extended=True)
    idx = [LEADS.index(lead) for lead in table["lead"]]
    prof_s, prof_m = np.ones(12), np.zeros(12)
    prof_s[idx] = table["ssim"].to_numpy()
    prof_m[idx] = table["nmse"].to_numpy()
    return table.to_dict("records"), {"aup_s": aup(prof_s), "aup_m": aup(prof_m)}


#: The tables of a :class:`StudyResult` that :func:`score_record` fills, in its field order.
_TABLES = ("rows", "profiles", "amplitude", "morphology", "records", "coverage", "leadcheck", "claim")


@dataclass(frozen=True)
class _StudyPlan:
    """What every record of a study is scored with (the same for all; sent once to each worker)."""

    methods: Mapping[str, object]
    config: StudyConfig
    plan: dict[int, list[tuple[str, ...]]]
    extra: list[tuple[str, ...]]
    band_method: str | None
    morphology: object = None

    @property
    def steps(self) -> int:
        """Progress steps per record: (subset, method) pairs."""
        return (sum(len(v) for v in self.plan.values()) + len(self.extra)) * len(self.methods)


def _study_plan(methods: Mapping[str, object], config: StudyConfig, morphology=None) -> _StudyPlan:
    plan = subset_plan(config)
    extra = list(dict.fromkeys(s for s in (*config.amplitude_subsets, *config.morphology_subsets,
                                           *config.claim_subsets) if s not in plan.get(len(s), [])))
    band_method = next(iter(methods), None)
    if band_method is not None and getattr(methods[band_method], "linear", None) is None:
        band_method = None  # the band needs a Reconstructor's linear prior (a stand-in has none)
    try:
        from .uncertainty import calibration_for

        if band_method is not None:
            calibration_for(methods[band_method].version, methods[band_method].method)
    except ValueError as exc:  # no calibration, or one fitted for another generator: the study runs without the band
        log.warning("no band coverage: %s", exc)
        band_method = None
    return _StudyPlan(methods, config, plan, extra, band_method, morphology)


def score_record(study: _StudyPlan, item: tuple[str, str, Record]) -> dict[str, list[dict]]:
    """Every (subset, method) of one record of a study, scored: the rows of each :data:`_TABLES` table.

    The per-record step of :func:`run_study`, which both of its engines call.
    """
    from .catalog import ptbxl_ecg_id
    from .morphology import detect_r_peaks
    from .reconstruction import reconstruct

    rid, source, rec = item
    config, plan, methods, morphology = study.config, study.plan, study.methods, study.morphology
    out: dict[str, list[dict]] = {name: [] for name in _TABLES}
    claim_set = set(config.claim_subsets)
    ii = LEADS.index("II")
    if rec.duration > config.max_seconds:
        rec = rec.crop(0.0, config.max_seconds)
    real = remove_baseline(rec, config.highpass_hz)
    r_ref = detect_r_peaks(real.signal[ii], rec.fs)
    real_feats = morphology(real.signal[ii], rec.fs, r_peaks=r_ref) if morphology is not None else None
    out["records"].append({"record_id": rid, "source": source, "fs": rec.fs, "duration_s": rec.duration,
                           "groups": "; ".join(diagnosis_groups(rec)), "ptbxl_derived": ptbxl_ecg_id(rid) is not None})
    subsets = [(k, s) for k, v in plan.items() for s in v] + [(len(s), s) for s in study.extra]
    for k, subset in subsets:
        key = ",".join(subset)
        in_plan = subset in plan.get(k, [])
        gen_idx = [i for i, lead in enumerate(LEADS) if lead not in subset]
        for name, model in methods.items():
            banded = in_plan and name == study.band_method
            generated = reconstruct(rec, subset, model=model, interval=0.9 if banded else None)
            base = {"method": name, "record_id": rid, "source": source, "k": k, "subset": key}
            if in_plan or subset in claim_set:
                lead_scores, profile = score_reconstruction(rec, generated, subset, highpass_hz=config.highpass_hz)
                if in_plan:
                    out["rows"].extend({**base, **row} for row in lead_scores)
                    out["profiles"].append({**base, **profile})
                if subset in claim_set:
                    out["claim"].extend({**base, **row} for row in lead_scores)
            if banded:
                out["coverage"].extend({**base, **row} for row in band_coverage(real, generated, subset, model,
                                                                               highpass_hz=config.highpass_hz))
            if subset not in config.amplitude_subsets and subset not in config.morphology_subsets:
                continue
            gen = remove_baseline(generated, config.highpass_hz)  # amplitude and morphology, as scored
            a, b = real.signal[gen_idx], gen.signal[gen_idx]
            if subset in config.amplitude_subsets:
                pp_real = qrs_peak_to_peak(a, r_ref, rec.fs)
                pp_gen = qrs_peak_to_peak(b, r_ref, rec.fs)
                for j, i in enumerate(gen_idx):
                    out["amplitude"].append({"method": name, "record_id": rid, "k": k, "subset": key,
                                             "lead": LEADS[i], "qrs_pp_real": float(pp_real[j]),
                                             "qrs_pp_gen": float(pp_gen[j])})
            if morphology is not None and subset in config.morphology_subsets:
                gen_feats = morphology(gen.signal[ii], rec.fs)
                for feat, val in real_feats.items():
                    out["morphology"].append({"method": name, "record_id": rid, "k": k, "subset": key,
                                              "feature": feat, "real": val, "generated": gen_feats.get(feat, np.nan)})
    if config.leadcheck and study.band_method is not None:
        out["leadcheck"].extend({"record_id": rid, "source": source, **row}
                                for row in leadcheck_faults(rec, methods[study.band_method]))
    return out


def run_study(
    records: Sequence[tuple[str, str, Record]],
    methods: Mapping[str, object],
    config: StudyConfig = StudyConfig(),
    progress: bool = True,
    morphology=None,
    *,
    engine: str = "local",
    ray_options=None,
) -> StudyResult:
    """Reconstruct every (record, subset) with every method and score it.

    Parameters
    ----------
    records : sequence of (record_id, source, Record)
    methods : mapping of name to :class:`l2g.reconstruction.Reconstructor`
    config : StudyConfig
    morphology : callable, optional
        ``f(lead_ii_mv, fs, r_peaks=None) -> dict`` of Lead-II features (ms, bpm, mV),
        used for the morphology comparison. The real Lead II gets the R peaks this
        study has already found on it (:func:`l2g.morphology.detect_r_peaks`), so
        that they are not detected twice; a generated Lead II gets ``None``.
    engine : {"local", "ray"}
        ``"local"``: the records one after the other in this process; ``"ray"``: :func:`score_record`
        of each record in a Ray actor pool (:func:`l2g.scale.ray_map`; the methods sent once to each
        actor), results in the records' order: the same tables.
    ray_options : l2g.scale.RayOptions, optional
        The actor pool of the Ray engine.

    Returns
    -------
    StudyResult
    """
    from tqdm import tqdm

    study = _study_plan(methods, config, morphology)
    bar = tqdm(total=len(records) * study.steps, desc=f"evaluate ({engine})", disable=not progress)
    if engine == "local":
        scored = (score_record(study, item) for item in records)
    elif engine == "ray":
        from .scale import RayOptions, ray_map

        scored = ray_map(score_record, records, study, ray_options or RayOptions())
    else:
        raise ValueError(f"run_study: engine {engine!r} is not known; expected 'local' or 'ray'")
    tables: dict[str, list[dict]] = {name: [] for name in _TABLES}
    for one in scored:
        for name in _TABLES:
            tables[name].extend(one[name])
        bar.update(study.steps)
    bar.close()
    return StudyResult(*(pd.DataFrame(tables[name]) for name in _TABLES))


def band_coverage(real_hp: Record, generated: Record, available: Sequence[str], model, *,
                  highpass_hz: float = HIGHPASS_HZ) -> list[dict]:
    """Coverage and width of the band of ``generated`` against the real (high-passed) record.

    Parameters
    ----------
    real_hp : Record
        The real 12 leads, high-passed as scored.
    generated : Record
        A reconstruction with ``interval`` set.
    available : sequence of str
    model : l2g.reconstruction.Reconstructor
    highpass_hz : float
        The high-pass ``real_hp`` had (:attr:`StudyConfig.highpass_hz`); ``generated`` gets the same.

    Returns
    -------
    list of dict
        One per generated lead not fixed exactly by the available leads:
        ``lead, coverage`` (fraction of samples whose real value lies in the
        band, both high-passed alike), ``halfwidth_uv`` (mean), ``rmse_uv``,
        ``pred_rmse_uv`` and ``grade`` (:func:`l2g.trust.trust_table`).
    """
    from .trust import trust_table

    gen_hp = remove_baseline(generated, highpass_hz).signal
    low, high = generated.interval
    table = trust_table(generated, model=model).set_index("lead")
    out = []
    for i, lead in enumerate(LEADS):
        if lead not in table.index or bool(table.loc[lead, "exact"]):
            continue
        hw = (high[i] - low[i]) / 2
        e = real_hp.signal[i] - gen_hp[i]
        out.append({"lead": lead, "coverage": float(np.mean(np.abs(e) <= hw)),
                    "halfwidth_uv": float(np.mean(hw)) * 1000, "rmse_uv": float(np.sqrt(np.mean(e**2))) * 1000,
                    "pred_rmse_uv": float(table.loc[lead, "predicted_rmse_uv"]), "grade": table.loc[lead, "grade"]})
    return out


def leadcheck_faults(record: Record, model, max_seconds: float = 10.0) -> list[dict]:
    """:func:`l2g.check_leads` on the record untouched and with every simulated electrode fault.

    Returns
    -------
    list of dict
        ``fault`` (``"none"``, ``"LA/RA"`` …, ``"V1/V2"`` …) and ``found``
        (the faults named, ``;``-joined, ``""`` for none).
    """
    from .leadcheck import CHEST_SWAPS, LIMB_FAULTS, apply_fault, check_leads

    rec = record.standardize()
    if rec.duration > max_seconds:
        rec = rec.crop(0.0, max_seconds)
    out = []
    for fault in ["none", *LIMB_FAULTS, *(f"{a}/{b}" for a, b in CHEST_SWAPS)]:
        bad = rec if fault == "none" else apply_fault(rec, fault)
        found = check_leads(bad, model=model).attrs["faults"]
        out.append({"fault": fault, "found": ";".join(found)})
    return out


_METRICS = ["mse", "nmse", "rmse_uv", "r", "ssim", "jsd", "nmi", "coherence"]


def summarise_by_k(rows: pd.DataFrame, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (method, k): mean over subsets and records of the per-(record, subset) mean over generated leads.

    Also ``mse_median`` (median over record × subset), ``n_subsets``,
    ``n_records`` and, with ``profiles``, ``aup_s`` and ``aup_m``.
    """
    cols = [c for c in _METRICS if c in rows]
    per = rows.groupby(["method", "k", "subset", "record_id"], as_index=False)[cols].mean()
    agg = per.groupby(["method", "k"]).agg(
        **{c: (c, "mean") for c in cols}, mse_median=("mse", "median"),
        n_subsets=("subset", "nunique"), n_records=("record_id", "nunique"),
    ).reset_index()
    if profiles is not None and len(profiles):
        aups = profiles.groupby(["method", "k"], as_index=False)[["aup_s", "aup_m"]].mean()
        agg = agg.merge(aups, on=["method", "k"], how="left")
    return agg


def amplitude_summary(amplitude: pd.DataFrame) -> pd.DataFrame:
    """Per (method, subset, lead): correlation of real vs generated QRS p-p across records, and SD ratio."""
    out = []
    for (method, k, subset, lead), g in amplitude.groupby(["method", "k", "subset", "lead"]):
        g = g.dropna(subset=["qrs_pp_real", "qrs_pp_gen"])
        if len(g) < 3:
            continue
        r = float(np.corrcoef(g["qrs_pp_real"], g["qrs_pp_gen"])[0, 1])
        ratio = float(g["qrs_pp_gen"].std() / g["qrs_pp_real"].std())
        out.append({"method": method, "k": k, "subset": subset, "lead": lead, "n": len(g), "pp_corr": r,
                    "spread_ratio": ratio, "pp_real_mean": float(g["qrs_pp_real"].mean()),
                    "pp_gen_mean": float(g["qrs_pp_gen"].mean())})
    return pd.DataFrame(out)


def _morphology_summary(morph: pd.DataFrame) -> pd.DataFrame:
    """Per (method, subset, feature): n, mean absolute difference, bias, SD of differences."""
    if not len(morph):
        return pd.DataFrame()
    m = morph.dropna(subset=["real", "generated"]).assign(diff=lambda d: d["generated"] - d["real"])
    agg = m.groupby(["method", "k", "subset", "feature"]).agg(
        n=("diff", "size"), mad=("diff", lambda x: float(np.mean(np.abs(x)))), bias=("diff", "mean"),
        sd=("diff", "std"))
    measurable = morph.groupby(["method", "k", "subset", "feature"]).apply(
        lambda d: float(d[["real", "generated"]].notna().all(axis=1).mean()), include_groups=False)
    return agg.assign(measurable=measurable).reset_index()
