"""Check the recorded leads of a record: do they agree with each other, and were electrodes misplaced?

:func:`check_leads` returns one row per recorded lead: the agreement of the
recording with its leave-one-out prediction from the other recorded leads
(the linear baseline, :mod:`l2g.baseline`, at its own rate: exact, fast, and
as sensitive as the generator here; see ``docs/MODEL.md``), a flag and a plain
reason.

Electrode faults (limb-electrode reversals LA/RA, LA/LL, RA/LL; adjacent
precordial swaps V1/V2 … V5/V6) are named by a small 1-D CNN,
:mod:`l2g.leadnet` (``weights/leadcheck.pt``, 58 k parameters, 100 Hz, the
first 10 s), trained on these faults simulated exactly (:func:`l2g.faults.apply_fault`)
on the training records; it sees the recorded leads only (a mask for the
others), so it works on the ticked subset as on the 12 leads, and a fault is
only named when the leads it moves are recorded (a limb reversal: two limb
leads; a swap: both chest leads). A limb reversal keeps Einthoven's and
Goldberger's laws, so the limb leads cannot betray it to each other; the
network sees what can (lead I with an inverted P wave and QRS, an upright
aVR; limb leads that do not fit the chest leads, which the Wilson terminal,
the mean of the three limb electrodes, keeps unchanged).
The most probable fault is flagged when its probability exceeds
``THRESHOLDS.net_p`` (LA/LL and V4/V5 have their own thresholds:
:meth:`Thresholds.net_threshold`).

One bad lead (noise, loose or misplaced electrode) is flagged, when no
electrode fault is, by two statistics: a leave-one-out error many times the
error the baseline expects for that subset (:func:`l2g.uncertainty.linear_sigma`;
limb leads are predicted from the chest leads), or an RMS above 40 Hz many
times its peers'.

Without the network file the electrode faults fall back to the linear
hypothesis tests the check used before it: each candidate fault is *undone*
(every fault is a swap, its own inverse) and flagged when the leads then
agree markedly better (``limb_ratio``, ``chest_ratio``). These are computed
and returned by :func:`lead_check_stats` either way.

The thresholds (:data:`THRESHOLDS`) were set on simulated faults applied to
the validation split so that untouched records are flagged rarely
(``python -m bench.leadcheck_eval report --tune``; the leave-one-out z
depends on the linear baseline stored in the generator checkpoint, so re-tune
after replacing that baseline: ``docs/MODEL.md``); sensitivity and
specificity on the test split are in ``reports/leadcheck.md``.

Nothing here is fitted to the generator's outputs, so, unlike the band
calibration (``interval.json``, :mod:`l2g.uncertainty`, "Bound to its
generator"), neither the thresholds nor the network name a generator digest:
the network ``leadcheck.pt`` sees recorded leads only and was trained on
simulated faults, independently of the generator; the statistics use the
checkpoint's linear baseline, not the generator (the shipped and the previous
``l2g.pt`` hold the same baseline).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .faults import CHEST_SWAPS, LIMB_FAULTS, apply_fault
from .leads import CHEST_LEADS, EXPAND_8_TO_12, LEADS, LIMB_LEADS, complete_limb_leads, limb_basis, parse_lead_list
from .record import RECORDED, Record

__all__ = ["LIMB_FAULTS", "CHEST_SWAPS", "THRESHOLDS", "apply_fault", "check_leads", "lead_check_stats",
           "LeadCheckStats", "NotEnoughLeadsError", "Thresholds", "decide", "network_view"]

_LIMB_REASON = {
    "LA/RA": "I and aVR look inverted: left/right arm electrodes reversed?",
    "LA/LL": "I and II look swapped, III inverted: left arm/left leg electrodes reversed?",
    "RA/LL": "II looks inverted, aVR and aVF swapped: right arm/left leg electrodes reversed?",
}


@dataclass(frozen=True)
class Thresholds:
    """Flagging thresholds (dimensionless).

    Attributes
    ----------
    limb_ratio : float
        Flag a limb reversal when undoing it divides the chest-to-limb
        prediction error by more than this.
    chest_ratio : float
        Flag an adjacent chest swap when undoing it divides the chest
        leave-one-out error by more than this.
    lead_z : float
        Flag a lead whose leave-one-out RMS error exceeds this many times the
        baseline's expected RMS error for that lead and subset.
    hf_ratio : float
        Flag a lead whose RMS above 40 Hz exceeds this many times the median
        of the other recorded leads'.
    net_p : float
        Flag the lead-check network's most probable fault when its
        probability exceeds this (with the network, ``limb_ratio`` and
        ``chest_ratio`` are not used).
    net_p_la_ll : float
        The same for the LA/LL reversal, stricter: it swaps I and II and
        inverts III, which a leftward axis, a normal variant, resembles.
    net_p_fault : tuple of (str, float)
        Other faults' own thresholds in place of ``net_p``, as ``(fault,
        threshold)`` pairs (e.g. ``(("V4/V5", 0.55),)``): for a fault the
        network rarely sees in untouched records.
    """

    limb_ratio: float = 2.0
    chest_ratio: float = 1.5
    lead_z: float = 4.0
    hf_ratio: float = 4.0
    net_p: float = 0.5
    net_p_la_ll: float = 0.99
    net_p_fault: tuple[tuple[str, float], ...] = ()

    def net_threshold(self, fault: str) -> float:
        """The network probability ``fault`` must exceed to be flagged (``net_p_la_ll``, ``net_p_fault`` or ``net_p``).

        Examples
        --------
        >>> th = Thresholds(net_p=0.8, net_p_fault=(("V4/V5", 0.55),))
        >>> th.net_threshold("V4/V5"), th.net_threshold("V5/V6"), th.net_threshold("LA/LL")
        (0.55, 0.8, 0.99)
        """
        if fault == "LA/LL":
            return self.net_p_la_ll
        return dict(self.net_p_fault).get(fault, self.net_p)


#: Thresholds set on the validation split (``python -m bench.leadcheck_eval report --tune``): over the
#: untouched validation checks (12 leads and the ticked subset pooled), ``net_p`` is the 98 % quantile of the
#: network's largest fault probability, ``lead_z`` and ``hf_ratio`` the 99.5 % quantiles of the bad-lead
#: statistics; ``limb_ratio`` and ``chest_ratio`` (used only without the network) the 98.5 % quantiles;
#: ``net_p_la_ll`` by hand (``bench/leadcheck_eval.py``'s ``NET_P_LA_LL``: the synthetic demo record scores 0.97);
#: V4/V5's own 0.55 by hand on validation (``NET_P_FAULT``: untouched checks give it at most 0.10).
#: ``lead_z`` re-tuned for each generator's linear baseline (l2g.pt@53ebf9281621: 5.53 -> 5.48; the
#: feature-matching generator l2g.pt@bd2e947fd304, whose prior is the shared + PTB-XL mix: 5.48 -> 5.63).
THRESHOLDS = Thresholds(limb_ratio=1.75, chest_ratio=1.35, lead_z=5.63, hf_ratio=5.26, net_p=0.814,
                        net_p_la_ll=0.99, net_p_fault=(("V4/V5", 0.55),))


class NotEnoughLeadsError(ValueError):
    """A lead check needs at least three recorded leads."""


@dataclass(frozen=True)
class LeadCheckStats:
    """The raw numbers behind :func:`check_leads`.

    Attributes
    ----------
    leads : tuple of str
        Recorded leads checked.
    r, rmse_uv, z : dict of str to float
        Per lead: Pearson r and RMS error (µV) of the recording vs its
        leave-one-out prediction, and RMS error / expected RMS error.
    limb_ratio : dict of str to float
        Per testable limb fault: error as recorded / error with it undone.
    chest_ratio : dict of str to float
        Per testable adjacent swap ``"Va/Vb"``: the same for the chest leads.
    hf : dict of str to float
        Per lead: RMS above 40 Hz over the median of that RMS over the other
        recorded leads (a noisy lead stands far above its peers).
    net : dict of str to float
        The lead-check network's probability of each class
        (:data:`l2g.leadnet.CLASSES`: ``"none"`` and every fault, 0 for the
        untestable ones); empty without a network.
    """

    leads: tuple[str, ...]
    r: dict
    rmse_uv: dict
    z: dict
    limb_ratio: dict
    chest_ratio: dict
    hf: dict = field(default_factory=dict)
    net: dict = field(default_factory=dict)


def _prepare(record: Record, max_seconds: float, fs: float) -> tuple[np.ndarray, tuple[str, ...]]:
    """The recorded leads at ``fs`` Hz, high-passed: (12, T) with zeros elsewhere, limb leads completed."""
    from .preprocess import HIGHPASS_HZ, remove_baseline, resample

    rec = record.standardize()
    recorded = tuple(lead for lead in LEADS if rec.status_of(lead) == RECORDED)
    rec = rec.select(recorded)
    if rec.duration > max_seconds:
        rec = rec.crop(0.0, max_seconds)
    if rec.fs != fs:
        rec = resample(rec, fs)
    rec = remove_baseline(rec, HIGHPASS_HZ)
    x = np.zeros((12, rec.n_samples))
    for lead, row in zip(rec.leads, rec.signal, strict=True):
        x[LEADS.index(lead)] = row
    if limb_basis(recorded) is not None:  # two limb leads fix all six (for the reversal hypotheses)
        limb = complete_limb_leads({lead: x[LEADS.index(lead)] for lead in recorded if lead in LIMB_LEADS})
        for lead in LIMB_LEADS:
            x[LEADS.index(lead)] = limb[lead]
    return x, recorded


def _hf_ratio(record: Record, recorded: Sequence[str], max_seconds: float) -> dict[str, float]:
    """Per recorded lead: RMS above 40 Hz (at the record's own rate) / median of the others' (see LeadCheckStats)."""
    from .preprocess import bandlimit

    rec = record.standardize().select(recorded)
    if rec.duration > max_seconds:
        rec = rec.crop(0.0, max_seconds)
    if rec.fs < 100.0:  # no band above 40 Hz worth measuring
        return {}
    hf = np.sqrt(np.mean(bandlimit(rec, low_hz=40.0, high_hz=None).signal.astype(np.float64) ** 2, axis=1))
    out = {}
    for i, lead in enumerate(recorded):
        peers = np.median(np.delete(hf, i))
        out[lead] = float(hf[i] / peers) if peers > 0 else float("nan")
    return out


class _Predictor:
    """Leave-k-out linear predictions of single leads from lagged copies of a 12-lead array.

    The weights of each (predictors, target) pair are worked out once per check, and a
    prediction is one matrix-vector product over the lagged array (n_lags * 12, T). A lead
    swap is tested by permuting the weights, not the data (``perm``: every swap is its own
    inverse, so ``x[perm]`` under weights ``w`` equals ``x`` under ``w[:, perm]``).
    """

    def __init__(self, linear, x: np.ndarray):
        self.linear = linear
        self.m = linear.config.max_lag
        self.n = x.shape[1]
        self.e = EXPAND_8_TO_12.astype(np.float64)
        self.lags = [lag + self.m for lag in linear.config.lags]
        self._w: dict[tuple[tuple[str, ...], str], np.ndarray] = {}

    def lagged(self, x: np.ndarray) -> np.ndarray:
        """The lagged copies as one (n_lags * 12, T) array, lag-major."""
        m = self.m
        xp = np.pad(x, ((0, 0), (m, m)))
        return np.concatenate([xp[:, k: k + self.n] for k in self.lags])  # (n_lags * 12, T)

    def weights(self, predictors: Sequence[str], target: str) -> np.ndarray:
        """(n_lags, 12) weights of ``target`` on the lagged 12-lead array, given ``predictors``."""
        key = (tuple(predictors), target)
        if key not in self._w:
            w = self.linear.weights_for(predictors)  # (8, 12, K)
            self._w[key] = np.einsum("j,jpk->kp", self.e[LEADS.index(target)], w[:, :, self.lags])
        return self._w[key]

    def predict(self, xl: np.ndarray, predictors: Sequence[str], target: str,
                perm: np.ndarray | None = None) -> np.ndarray:
        """Prediction of ``target`` (T,) from ``xl`` (:meth:`lagged`), its leads permuted by ``perm`` if given."""
        w = self.weights(predictors, target)
        if perm is not None:
            w = w[:, perm]
        return w.reshape(-1) @ xl


def lead_check_stats(record: Record, *, model=None, detector=None, max_seconds: float = 10.0) -> LeadCheckStats:
    """The agreement and fault-hypothesis numbers of :func:`check_leads` (no thresholds applied).

    Parameters
    ----------
    record : Record
    model : l2g.reconstruction.Reconstructor, optional
        Whose linear baseline predicts (``r``, ``rmse_uv``, ``z`` and the
        ratios); default the shipped one.
    detector : l2g.leadnet.LeadNet or False, optional
        The lead-check network; default the shipped ``weights/leadcheck.pt``
        (none when that file is absent); ``False``: statistics only.
    max_seconds : float

    Returns
    -------
    LeadCheckStats

    Raises
    ------
    NotEnoughLeadsError
        With fewer than three recorded leads.
    """
    from .reconstruction import _default
    from .uncertainty import linear_sigma

    linear = (model if model is not None else _default("model")).linear
    x, recorded = _prepare(record, max_seconds, linear.config.fs)
    if len(recorded) < 3:
        raise NotEnoughLeadsError(
            f"{record.name}: a lead check needs at least 3 recorded leads; this record has "
            f"{len(recorded)} ({', '.join(recorded) or 'none'})")
    pred = _Predictor(linear, x)
    xl = pred.lagged(x)
    hf = _hf_ratio(record, recorded, max_seconds)
    chest = [c for c in CHEST_LEADS if c in recorded]
    limb = [lead for lead in LIMB_LEADS if lead in recorded]

    def sources(lead: str) -> list[str]:
        if lead in LIMB_LEADS:
            return chest if chest else [o for o in limb if o != lead]
        return [o for o in recorded if o != lead]

    r, rmse, z = {}, {}, {}
    for lead in recorded:
        src = sources(lead)
        if not src:
            continue
        p = pred.predict(xl, src, lead)
        a = x[LEADS.index(lead)]
        err = float(np.sqrt(np.mean((a - p) ** 2)))
        sd = float(np.std(a) * np.std(p))
        r[lead] = float(np.mean((a - a.mean()) * (p - p.mean())) / sd) if sd > 0 else float("nan")
        rmse[lead] = err * 1000.0
        expected = float(linear_sigma(linear, src)[LEADS.index(lead)])
        z[lead] = err / expected if expected > 0 else float("nan")

    chest_ratio = {}
    if len(chest) >= 2 and len(recorded) >= 3:
        def chest_err(perm: np.ndarray | None = None) -> float:
            xx = x if perm is None else x[perm]
            return float(sum(np.sum((xx[LEADS.index(c)] - pred.predict(xl, sources(c), c, perm)) ** 2)
                             for c in chest))

        base = chest_err()
        for a, b in CHEST_SWAPS:
            if a in recorded and b in recorded:
                perm = np.arange(12)
                ia, ib = LEADS.index(a), LEADS.index(b)
                perm[[ia, ib]] = [ib, ia]
                chest_ratio[f"{a}/{b}"] = base / max(chest_err(perm), 1e-12)
    limb_ratio = {}
    if limb_basis(recorded) is not None:
        limb = list(LIMB_LEADS)  # completed exactly in _prepare
    if chest and limb:
        p_limb = {lead: pred.predict(xl, chest, lead) for lead in limb}

        def limb_err(xx: np.ndarray) -> float:
            return float(sum(np.sum((xx[LEADS.index(lead)] - p_limb[lead]) ** 2) for lead in limb))

        base = limb_err(x)
        for fault, perm in LIMB_FAULTS.items():
            if all(perm[lead][1] in limb for lead in limb):
                xx = x.copy()
                for lead in limb:
                    sign, src = perm[lead]
                    xx[LEADS.index(lead)] = sign * x[LEADS.index(src)]
                limb_ratio[fault] = base / max(limb_err(xx), 1e-12)

    return LeadCheckStats(recorded, r, rmse, z, limb_ratio, chest_ratio, hf,
                          _net_probabilities(x, linear.config.fs, recorded, detector))


def _default_detector():
    """The shipped lead-check network, or None when ``leadcheck.pt`` is not there."""
    from .leadnet import load_leadnet

    try:
        return load_leadnet()
    except FileNotFoundError:  # includes WeightsNotFoundError: no weights folder at all
        return None


def _net_probabilities(x: np.ndarray, fs: float, recorded: Sequence[str], detector) -> dict[str, float]:
    """:func:`l2g.leadnet.fault_probabilities` of :func:`_prepare`'s array ``x`` at ``fs`` ({} without a network).

    ``x`` is resampled to the network's rate (as in training: high-passed at the baseline's
    rate, then resampled) and cut to its ``seconds``.
    """
    from .leadnet import fault_probabilities

    net = _default_detector() if detector is None else (detector or None)
    if net is None:
        return {}
    return fault_probabilities(net, *_net_view(x, fs, recorded, net.config))


def _net_view(x: np.ndarray, fs: float, recorded: Sequence[str], config) -> tuple[np.ndarray, list[str]]:
    """:func:`_prepare`'s array ``x`` (at ``fs`` Hz) as the network (:class:`l2g.leadnet.LeadNetConfig`
    ``config``) sees it: cut to ``config.seconds``, at ``config.fs``; and the leads it counts as present
    (the recorded ones, all six limb leads when two fix them)."""
    from .preprocess import resample_array

    x = x[:, : int(round(config.seconds * fs))]
    if fs != config.fs:
        x = resample_array(x, fs, config.fs)
    present = [lead for lead in LEADS if lead in recorded or (lead in LIMB_LEADS and limb_basis(recorded))]
    return x, present


def network_view(record: Record, fs: float, config, *, max_seconds: float = 10.0) -> tuple[np.ndarray, list[str]]:
    """The recorded leads of ``record`` as :func:`check_leads` hands them to the lead-check network.

    Parameters
    ----------
    record : Record
    fs : float
        The rate the statistics work at (the linear baseline's, ``Reconstructor.linear.config.fs``).
    config : l2g.leadnet.LeadNetConfig
        The network's rate and seconds.
    max_seconds : float
        The first seconds of the record that are checked.

    Returns
    -------
    ndarray, list of str
        (12, samples) at ``config.fs`` (zeros for leads not recorded, limb leads completed when two fix
        them), and the leads the network counts as present; :func:`l2g.leadnet.net_input` takes both.
    """
    x, recorded = _prepare(record, max_seconds, fs)
    return _net_view(x, fs, recorded, config)


def decide(stats: LeadCheckStats, thresholds: Thresholds = THRESHOLDS) -> list[str]:
    """The suspected faults of :func:`lead_check_stats` numbers: limb reversal, chest swap, or one bad lead.

    At most one electrode fault: with the network (``stats.net``), its most
    probable fault among those whose probability exceeds its threshold
    (:meth:`Thresholds.net_threshold`: ``net_p``, ``net_p_la_ll`` for LA/LL,
    or the fault's own in ``net_p_fault``); without
    it, the limb reversal or chest swap whose undoing passes its ratio
    threshold by the larger factor (either kind also disturbs the other's
    test). A single bad lead only when no electrode fault is found (a swap
    also raises the leave-one-out error of the leads it moves).
    """
    faults: list[str] = []
    if stats.net:
        over = {f: p for f, p in stats.net.items() if f != "none" and p > thresholds.net_threshold(f)}
        if over:
            faults.append(max(over, key=over.get))
    else:
        margin = {}  # how far past its threshold each kind's best hypothesis is
        if stats.limb_ratio:
            best = max(stats.limb_ratio, key=stats.limb_ratio.get)
            margin[best] = stats.limb_ratio[best] / thresholds.limb_ratio
        if stats.chest_ratio:
            best = max(stats.chest_ratio, key=stats.chest_ratio.get)
            margin[best] = stats.chest_ratio[best] / thresholds.chest_ratio
        passed = [f for f, m in margin.items() if m > 1.0]
        if passed:
            faults.append(max(passed, key=margin.get))
    if not faults:
        hf = {lead: v for lead, v in stats.hf.items() if np.isfinite(v)}
        zs = {lead: v for lead, v in stats.z.items() if np.isfinite(v)}
        if hf and max(hf.values()) > thresholds.hf_ratio:
            faults.append(f"bad {max(hf, key=hf.get)}")
        elif zs:
            worst = max(zs, key=zs.get)
            if zs[worst] > thresholds.lead_z:
                faults.append(f"bad {worst}")
    return faults


def check_leads(record: Record, *, leads: Iterable[str] | None = None, model=None,
                thresholds: Thresholds = THRESHOLDS, max_seconds: float = 10.0) -> pd.DataFrame:
    """Check the recorded leads: agreement with the other leads, and suspected electrode faults.

    Parameters
    ----------
    record : Record
        At least three recorded leads (the whole 12-lead record, or the subset
        the user ticked).
    leads : iterable of str, optional
        Check only these recorded leads as if the others were missing (e.g.
        the ticked subset); default every recorded lead.
    model : l2g.reconstruction.Reconstructor, optional
        Whose linear baseline predicts; default the shipped one.
    thresholds : Thresholds
    max_seconds : float
        Only the first ``max_seconds`` are checked (speed; faults persist).

    Returns
    -------
    DataFrame
        One row per recorded lead, canonical order: ``lead``, ``r`` and
        ``rmse_uv`` (recording vs its leave-one-out prediction; limb leads are
        predicted from the chest leads when there are any), ``z`` (RMS error /
        the error expected for that lead and subset), ``flag`` (bool) and
        ``reason`` (plain words, "" when not flagged). ``attrs["faults"]``
        lists the suspected faults, e.g. ``["LA/RA"]``.

    Raises
    ------
    NotEnoughLeadsError
        (a ValueError) with fewer than three recorded leads.

    Examples
    --------
    >>> from l2g.demo import demo_record
    >>> rec = demo_record()
    >>> table = check_leads(rec)
    >>> len(table), table.attrs["faults"]
    (12, [])
    >>> check_leads(apply_fault(rec, "LA/RA")).attrs["faults"]
    ['LA/RA']
    """
    if leads is not None:
        record = record.standardize().mask(parse_lead_list(leads))
    st = lead_check_stats(record, model=model, max_seconds=max_seconds)
    faults = decide(st, thresholds)
    reasons: dict[str, list[str]] = {lead: [] for lead in st.leads}
    for fault in faults:
        if fault in LIMB_FAULTS:
            for lead in LIMB_LEADS:
                if lead in reasons and LIMB_FAULTS[fault][lead] != (1, lead):
                    reasons[lead].append(_LIMB_REASON[fault])
        elif fault.startswith("bad "):
            worst = fault[4:]
            what = "its neighbours" if worst in CHEST_LEADS else "the chest leads"
            reasons[worst].append(f"{worst} disagrees with {what}: noise or misplacement")
        else:
            a, b = fault.split("/")
            for lead in (a, b):
                reasons[lead].append(f"{a} and {b} look swapped")
    rows = [{"lead": lead, "r": st.r.get(lead, np.nan), "rmse_uv": st.rmse_uv.get(lead, np.nan),
             "z": st.z.get(lead, np.nan), "flag": bool(reasons[lead]), "reason": "; ".join(reasons[lead])}
            for lead in st.leads]
    out = pd.DataFrame(rows, columns=["lead", "r", "rmse_uv", "z", "flag", "reason"])
    out.attrs["faults"] = faults
    return out
