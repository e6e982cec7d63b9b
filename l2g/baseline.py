"""Linear least-squares baseline: any subset of leads -> the 8 independent leads.

For a set of available leads the baseline predicts I, II and V1–V6 as a sum of
time-lagged copies of the available leads (a short non-causal FIR filter per
input/output pair)::

    y_j(t) = sum_p sum_l W[j, p, l] * x_p(t + l)

and the weights are the ridge-regularised least-squares solution. All subsets
are solved from **one** covariance estimate of the training split, so one
fit serves all 4095 subsets; each subset's solve is a small linear system
(at most 8 predictor leads x the number of lags) done on first use and cached.

It is the bar every learned model must beat and the fallback when the model
weights are missing.

Design choices
--------------
Covariance
    Every one of the 12 leads is a fixed linear combination of the 8
    independent ones (``x12 = EXPAND_8_TO_12 @ x8``), so the lagged covariance
    of the 12 leads is exactly ``E C E^T`` with ``C`` the lagged covariance of
    the 8 independent leads. We store ``C`` for every lag in
    ``-M..M`` (``M`` = the largest lag asked for at fit time), shape
    ``(8 * (2M + 1), 8 * (2M + 1))``, float64. It already holds the
    cross-covariance to the lag-0 targets. Any lag set within ``-M..M`` and
    any ridge can later be solved from it without refitting
    (:meth:`LinearBaseline.with_config`).
Weighting and mean
    Each record contributes its own sample covariance with equal weight, so a
    few long recordings (PTB: up to 115 s) do not dominate the 10 s majority.
    No mean is removed and the model has no intercept: the signals are
    high-passed at 0.5 Hz before fitting (mean ~ 0), and a pure linear filter
    is shift-invariant and independent of where a window starts.
Rank deficiency
    Any two limb leads determine all six (Einthoven/Goldberger), so the
    predictors are reduced to an independent set first: the two limb leads
    chosen by :func:`l2g.leads.limb_basis` (or the single available one), plus
    the available chest leads. The remaining solve uses relative Tikhonov
    regularisation ``ridge * mean(diag(C_pp))`` because neighbouring lags of
    a smooth signal are strongly correlated.
Exact leads
    Targets determined by the available leads are not regressed: available
    chest leads pass through, and with two or more limb leads I and II follow
    exactly by Einthoven/Goldberger. With a single limb lead the regressed
    (I, II) are projected so that the available limb lead is reproduced
    exactly (the constrained least-squares solution; it matches
    :func:`l2g.model.enforce_available`).
Edges
    Inputs are zero-padded by ``M`` samples at both ends (as in a
    ``conv1d(padding=M)``); only the first and last ``M`` output samples
    (128 ms at 250 Hz for the default ``M = 32``) see the padding. Zeros
    match the zero-padding of short training windows and the zero mean of
    high-passed signals.
Rate
    The weights are in samples at ``config.fs``; callers resample first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .leads import CHEST_LEADS, EXPAND_8_TO_12, INDEPENDENT_LEADS, LEADS, LIMB_LEADS, limb_basis, parse_lead_list

__all__ = ["LinearConfig", "LinearBaseline", "CovarianceStats", "lagged_cov", "BASELINE_FORMAT", "BASELINE_VERSION"]

BASELINE_FORMAT = "l2g-linear-baseline"
BASELINE_VERSION = 1

_N8 = len(INDEPENDENT_LEADS)
_N12 = len(LEADS)
_E = EXPAND_8_TO_12.astype(np.float64)  # (12, 8)
_CHUNK = 16384  # samples per block when accumulating the covariance (bounds memory)


@dataclass(frozen=True)
class LinearConfig:
    """Settings of the linear baseline.

    The defaults were chosen on the validation split (306 train / 68 val
    records at 250 Hz, 30 random subsets per k = 1..7;
    ``python -m bench.baseline_subsets``). Mean MSE (mV²) on the leads to
    generate, averaged over k: no lag 0.0362, +-2 samples 0.0364, log-spaced
    +-8 0.0348, dense +-8 0.0348, +-16 0.0348, **+-32 (+-128 ms) 0.0341**,
    +-64 0.0338 (under the 1 % gain asked of a longer filter). Pearson r: 0.741
    without lags, 0.778 at +-32. Ridge 1e-4 / 1e-3 / 1e-2 differ by < 1 %.
    """

    # time lags in samples at ``fs``; positive = future samples (non-causal filter).
    # Log-spaced to +-32 samples (+-128 ms at 250 Hz: more than a QRS width either side)
    lags: tuple[int, ...] = (-32, -16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16, 32)
    # Tikhonov term relative to the mean diagonal of the predictor covariance
    ridge: float = 1e-3
    # sampling rate (Hz) the lags refer to; inputs must be at this rate
    fs: float = 250.0

    def __post_init__(self) -> None:
        lags = tuple(sorted({int(v) for v in self.lags}))
        if not lags:
            raise ValueError("LinearConfig: lags must hold at least one lag (in samples)")
        if not (np.isfinite(self.ridge) and self.ridge >= 0):
            raise ValueError(f"LinearConfig: ridge must be a finite number >= 0, got {self.ridge!r}")
        if not (np.isfinite(self.fs) and self.fs > 0):
            raise ValueError(f"LinearConfig: fs must be a positive number in Hz, got {self.fs!r}")
        object.__setattr__(self, "lags", lags)
        object.__setattr__(self, "ridge", float(self.ridge))
        object.__setattr__(self, "fs", float(self.fs))

    @property
    def max_lag(self) -> int:
        """Largest absolute lag ``M`` in samples; weights span ``2M + 1`` taps."""
        return max(abs(v) for v in self.lags)

    def to_dict(self) -> dict[str, Any]:
        """Plain-type form (lists, floats) for checkpoints."""
        d = asdict(self)
        d["lags"] = list(self.lags)
        return d


def lagged_cov(x8: np.ndarray, max_lag: int) -> tuple[np.ndarray, int]:
    """Sum of outer products of the lagged 8-lead vectors of one record.

    Returns the (8K, 8K) float64 sum over ``t = M .. n - M - 1`` of
    ``z(t) z(t)^T`` with ``z(t)[i * K + k] = x8[i, t + k - M]``, and the
    number of terms.
    """
    n = x8.shape[1]
    k_taps = 2 * max_lag + 1
    m = n - 2 * max_lag
    acc = np.zeros((_N8 * k_taps, _N8 * k_taps))
    x = np.asarray(x8, np.float64)
    for a in range(0, m, _CHUNK):
        b = min(m, a + _CHUNK)
        # rows (lead i, tap k) hold x[i, a + k : b + k]
        z = np.stack([x[:, a + k: b + k] for k in range(k_taps)], axis=1).reshape(_N8 * k_taps, b - a)
        acc += z @ z.T
    return acc, m


@dataclass
class CovarianceStats:
    """What :meth:`LinearBaseline.fit` accumulates: the lagged covariance of the 8 independent leads.

    ``cov`` is the (8K, 8K) mean of :func:`lagged_cov` terms over the training records; the rest is bookkeeping.
    """

    cov: np.ndarray  # (8K, 8K) float64, K = 2 * cov_max_lag + 1, index = lead * K + tap
    cov_max_lag: int
    n_records: int
    n_samples: int
    meta: dict[str, Any] = field(default_factory=dict)


class LinearBaseline:
    """Ridge least-squares FIR prediction of the 8 independent leads from any lead subset.

    Build it with :meth:`fit` (or :meth:`load` / :meth:`from_state_dict`),
    then call :meth:`predict` (numpy, one subset) or :meth:`predict_torch`
    (a batch with a different subset per row).

    Parameters
    ----------
    config : LinearConfig
    stats : CovarianceStats
        The fitted covariance and bookkeeping (use :meth:`fit`).
    """

    def __init__(self, config: LinearConfig, stats: CovarianceStats):
        if config.max_lag > stats.cov_max_lag:
            raise ValueError(
                f"LinearBaseline: lags up to {config.max_lag} samples need a covariance fitted with "
                f"max_lag >= {config.max_lag}; this one covers {stats.cov_max_lag}"
            )
        self.config = config
        self._stats = stats
        self._cache: dict[tuple[str, ...], np.ndarray] = {}
        self._torch_cache: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(
        cls,
        arrays: Iterable[np.ndarray],
        config: LinearConfig = LinearConfig(),
        *,
        max_lag: int | None = None,
    ) -> LinearBaseline:
        """Estimate the lagged covariance of the 8 independent leads.

        Parameters
        ----------
        arrays : iterable of ndarray, shape (8, n)
            Training records: leads I, II, V1–V6 in mV at ``config.fs``,
            baseline wander removed (see :func:`l2g.dataset.to_independent`).
            Records shorter than ``2 * max_lag + 1`` samples are skipped.
        config : LinearConfig
        max_lag : int, optional
            Lag range ``-max_lag..max_lag`` (samples) the covariance covers;
            default ``config.max_lag``. A wider range lets
            :meth:`with_config` try longer lag sets without refitting.

        Returns
        -------
        LinearBaseline

        Raises
        ------
        ValueError
            On a wrongly shaped or non-finite record, or when no record is
            long enough.
        """
        cov_max_lag = config.max_lag if max_lag is None else int(max_lag)
        if cov_max_lag < config.max_lag:
            raise ValueError(f"LinearBaseline.fit: max_lag={max_lag} is below the config's {config.max_lag}")
        k_taps = 2 * cov_max_lag + 1
        cov = np.zeros((_N8 * k_taps, _N8 * k_taps))
        n_records = n_samples = 0
        for i, x in enumerate(arrays):
            x = np.asarray(x)
            if x.ndim != 2 or x.shape[0] != _N8:
                raise ValueError(f"LinearBaseline.fit: record {i} has shape {x.shape}; expected (8, n)")
            if not np.isfinite(x).all():
                raise ValueError(f"LinearBaseline.fit: record {i} holds non-finite samples")
            if x.shape[1] < k_taps:
                continue
            acc, m = lagged_cov(x, cov_max_lag)
            cov += acc / m  # equal weight per record
            n_records += 1
            n_samples += x.shape[1]
        if n_records == 0:
            raise ValueError(f"LinearBaseline.fit: no record with at least {k_taps} samples")
        cov /= n_records
        cov = (cov + cov.T) / 2
        stats = CovarianceStats(cov=cov, cov_max_lag=cov_max_lag, n_records=n_records, n_samples=n_samples)
        return cls(config, stats)

    @classmethod
    def mix(cls, parts: Sequence[tuple[LinearBaseline, float]]) -> LinearBaseline:
        """One baseline from several fits, their covariances averaged with the given weights.

        Each fit's covariance is already a mean over its own records, so
        ``mix([(a, 1), (b, 1)])`` gives the records behind ``a`` together as
        much say as those behind ``b`` however many each holds (e.g. 300
        shared records of 7 sources beside 22k PTB-XL ones).

        Parameters
        ----------
        parts : sequence of (LinearBaseline, float)
            Fits with the same config and lag range; non-negative weights, not all 0.

        Returns
        -------
        LinearBaseline

        Raises
        ------
        ValueError
            On an empty list, mismatched configs or lag ranges, or bad weights.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> a = LinearBaseline.fit([rng.normal(size=(8, 500))], LinearConfig(lags=(0,)))
        >>> b = LinearBaseline.fit([2 * rng.normal(size=(8, 500))], LinearConfig(lags=(0,)))
        >>> LinearBaseline.mix([(a, 1.0), (b, 0.0)]).state_dict()["cov"].equal(a.state_dict()["cov"])
        True
        """
        if not parts:
            raise ValueError("LinearBaseline.mix: no fits given")
        w = np.array([float(wt) for _, wt in parts])
        if not (np.all(np.isfinite(w)) and w.min() >= 0 and w.sum() > 0):
            raise ValueError(f"LinearBaseline.mix: weights must be non-negative, not all 0; got {list(w)}")
        first = parts[0][0]
        for lb, _ in parts[1:]:
            if lb.config != first.config or lb._stats.cov_max_lag != first._stats.cov_max_lag:
                raise ValueError("LinearBaseline.mix: fits differ in config or lag range")
        cov = sum(wt * lb._stats.cov for (lb, _), wt in zip(parts, w / w.sum(), strict=True))
        stats = CovarianceStats(cov=cov, cov_max_lag=first._stats.cov_max_lag,
                       n_records=sum(lb.n_records for lb, _ in parts), n_samples=sum(lb.n_samples for lb, _ in parts),
                       meta={"mixed": [{"n_records": lb.n_records, "weight": float(wt)} for (lb, _), wt in
                                       zip(parts, w, strict=True)]})
        return cls(first.config, stats)

    def with_config(self, config: LinearConfig) -> LinearBaseline:
        """The same fitted covariance solved with other lags / ridge (no refit).

        Raises
        ------
        ValueError
            If ``config.fs`` differs from the fitted rate, or the lags exceed
            the fitted lag range.
        """
        if config.fs != self.config.fs:
            raise ValueError(f"with_config: fitted at {self.config.fs:g} Hz, cannot reuse at {config.fs:g} Hz")
        return type(self)(config, self._stats)

    # ---------------------------------------------------------------- solve
    @property
    def n_records(self) -> int:
        """Number of training records in the covariance."""
        return self._stats.n_records

    @property
    def n_samples(self) -> int:
        """Number of training samples (per lead, at ``config.fs``) in the covariance."""
        return self._stats.n_samples

    def weights_for(self, available: Sequence[str] | str) -> np.ndarray:
        """FIR weights mapping the available leads to the 8 independent leads.

        Parameters
        ----------
        available : sequence of str or str
            Available lead names (any spelling :func:`l2g.leads.parse_lead_list`
            accepts), at least one.

        Returns
        -------
        ndarray of float32, shape (8, 12, K), read-only
            ``W[j, p, k]`` multiplies lead ``LEADS[p]`` at time ``t + k - M``
            (``M = config.max_lag``, ``K = 2M + 1``) for output lead
            ``INDEPENDENT_LEADS[j]``. Rows of unavailable or redundant leads and
            taps not in ``config.lags`` are zero. Cached per subset.

        Raises
        ------
        ValueError
            On an unknown lead name or an empty subset.
        """
        key = parse_lead_list(available)
        if not key:
            raise ValueError("LinearBaseline.weights_for: no available leads; give at least one")
        w = self._cache.get(key)
        if w is None:
            w = self._solve(key).astype(np.float32)
            w.setflags(write=False)
            self._cache[key] = w
        return w

    def _solve(self, available: tuple[str, ...]) -> np.ndarray:
        cfg, st = self.config, self._stats
        m_out, m_cov = cfg.max_lag, st.cov_max_lag
        k_cov = 2 * m_cov + 1
        limb_av = [lead for lead in LIMB_LEADS if lead in available]
        basis = limb_basis(available)
        limb_pred = list(basis) if basis is not None else limb_av  # 0, 1 or 2 limb leads
        preds = [LEADS.index(p) for p in limb_pred] + [LEADS.index(c) for c in CHEST_LEADS if c in available]
        lags = cfg.lags
        n_l = len(lags)

        # A maps the lagged 8-lead vector to the lagged predictor vector (p, l)
        a = np.zeros((len(preds) * n_l, _N8 * k_cov))
        for pi, p in enumerate(preds):
            for li, lag in enumerate(lags):
                a[pi * n_l + li, np.arange(_N8) * k_cov + lag + m_cov] = _E[p]
        target_cols = np.arange(_N8) * k_cov + m_cov  # the 8 leads at lag 0
        ca = a @ st.cov
        c_pp = ca @ a.T
        c_pt = ca[:, target_cols]
        lam = cfg.ridge * float(np.mean(np.diag(c_pp)))
        sol = np.linalg.solve(c_pp + lam * np.eye(len(c_pp)), c_pt)  # (P * n_l, 8)

        w = np.zeros((_N8, _N12, 2 * m_out + 1))
        for pi, p in enumerate(preds):
            for li, lag in enumerate(lags):
                w[:, p, lag + m_out] = sol[pi * n_l + li]

        # exact targets: available chest leads pass through
        for c in CHEST_LEADS:
            if c in available:
                j = INDEPENDENT_LEADS.index(c)
                w[j] = 0.0
                w[j, LEADS.index(c), m_out] = 1.0
        if basis is not None:  # two limb leads fix I and II exactly
            ia, ib = (LEADS.index(b) for b in basis)
            inv = np.linalg.inv(_E[[ia, ib], :2])  # rows of (a, b) in terms of (I, II)
            w[:2] = 0.0
            w[:2, ia, m_out] = inv[:, 0]
            w[:2, ib, m_out] = inv[:, 1]
        elif len(limb_av) == 1:  # project (I, II) so the one limb lead is reproduced exactly
            il = LEADS.index(limb_av[0])
            c = _E[il, :2]
            c_pinv = c / float(c @ c)
            proj = np.eye(2) - np.outer(c_pinv, c)
            w[:2] = np.einsum("ij,jpk->ipk", proj, w[:2])
            w[:2, il, m_out] += c_pinv
        return w

    # -------------------------------------------------------------- predict
    def predict(self, x12: np.ndarray, available: Sequence[str] | str) -> np.ndarray:
        """Predict the 8 independent leads from the available ones.

        Parameters
        ----------
        x12 : ndarray, shape (..., 12, T)
            The 12 leads in canonical order, mV, at ``config.fs``. Rows of
            leads not in ``available`` are ignored (they may hold NaN).
        available : sequence of str or str
            The leads to use.

        Returns
        -------
        ndarray of float32, shape (..., 8, T)
            I, II, V1–V6 in mV; available independent leads are copied exactly.
        """
        x12 = np.asarray(x12)
        if x12.ndim < 2 or x12.shape[-2] != _N12:
            raise ValueError(f"LinearBaseline.predict: expected x12 of shape (..., 12, T), got {x12.shape}")
        w = self.weights_for(available)
        used = np.abs(w).sum(axis=(0, 2)) > 0  # (12,)
        x = np.where(used[:, None], x12, 0.0).astype(np.float32)
        m, t_len = self.config.max_lag, x.shape[-1]
        pad = [(0, 0)] * (x.ndim - 1) + [(m, m)]
        xp = np.pad(x, pad)
        out = np.zeros((*x.shape[:-2], _N8, t_len), np.float32)
        for k in range(w.shape[-1]):
            if np.any(w[:, :, k]):
                out += np.einsum("op,...pt->...ot", w[:, :, k], xp[..., k: k + t_len])
        return out

    def _torch_weights(self, code: int) -> tuple[torch.Tensor, torch.Tensor]:
        hit = self._torch_cache.get(code)
        if hit is None:
            leads = [lead for i, lead in enumerate(LEADS) if code >> i & 1]
            w = torch.from_numpy(self.weights_for(leads).copy())
            hit = (w, w.abs().sum(dim=(0, 2)) > 0)
            self._torch_cache[code] = hit
        return hit

    def predict_torch(self, x12: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Batched prediction with a different lead subset per row.

        Parameters
        ----------
        x12 : Tensor, shape (B, 12, T)
            The 12 leads in mV at ``config.fs`` (unavailable rows ignored, may
            hold NaN).
        mask : Tensor of bool, shape (B, 12) or (12,)
            Availability per row; every row needs at least one lead.

        Returns
        -------
        Tensor, shape (B, 8, T)
            I, II, V1–V6 in mV, dtype and device of ``x12``. Differentiable
            with respect to ``x12``; the weights are constants.
        """
        if x12.ndim != 3 or x12.shape[1] != _N12:
            raise ValueError(f"predict_torch: expected x12 of shape (B, 12, T), got {tuple(x12.shape)}")
        b, _, t_len = x12.shape
        mask = mask.to(torch.bool).cpu()
        if mask.ndim == 1:
            mask = mask.expand(b, _N12)
        if mask.shape != (b, _N12):
            raise ValueError(f"predict_torch: mask must be (B, 12) or (12,), got {tuple(mask.shape)}")
        codes = (mask.long() << torch.arange(_N12)).sum(dim=1)
        if bool((codes == 0).any()):
            raise ValueError("predict_torch: a row of mask has no available lead")
        uniq, inverse = torch.unique(codes, return_inverse=True)
        table = [self._torch_weights(int(c)) for c in uniq]
        w = torch.stack([t[0] for t in table])[inverse]  # (B, 8, 12, K)
        used = torch.stack([t[1] for t in table])[inverse]  # (B, 12)
        w = w.to(device=x12.device, dtype=x12.dtype)
        x = x12.masked_fill(~used.to(x12.device)[:, :, None], 0.0)
        m = self.config.max_lag
        out = F.conv1d(x.reshape(1, b * _N12, t_len), w.reshape(b * _N8, _N12, -1), padding=m, groups=b)
        return out.reshape(b, _N8, t_len)

    # ------------------------------------------------------------ save/load
    def state_dict(self) -> dict[str, Any]:
        """Plain dict (tensors and builtins) loadable with ``torch.load(..., weights_only=True)``.

        Keys: ``format``, ``version``, ``config`` (dict), ``cov`` (float64
        tensor (8K, 8K)), ``cov_max_lag``, ``leads`` (the 8 independent
        leads, covariance order), ``n_records``, ``n_samples``, ``meta``.
        """
        st = self._stats
        return {
            "format": BASELINE_FORMAT,
            "version": BASELINE_VERSION,
            "config": self.config.to_dict(),
            "cov": torch.from_numpy(st.cov.copy()),
            "cov_max_lag": int(st.cov_max_lag),
            "leads": list(INDEPENDENT_LEADS),
            "n_records": int(st.n_records),
            "n_samples": int(st.n_samples),
            "meta": dict(st.meta),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], config: LinearConfig | None = None) -> LinearBaseline:
        """Rebuild from :meth:`state_dict`; ``config`` overrides the stored one (same fs)."""
        if state.get("format") != BASELINE_FORMAT:
            raise ValueError(f"not a linear-baseline state (format={state.get('format')!r})")
        if int(state.get("version", 0)) > BASELINE_VERSION:
            raise ValueError(
                f"linear-baseline state version {state['version']} is newer than this code ({BASELINE_VERSION})"
            )
        if list(state["leads"]) != list(INDEPENDENT_LEADS):
            raise ValueError(f"linear-baseline state has leads {state['leads']}; expected {INDEPENDENT_LEADS}")
        stored = LinearConfig(**{**state["config"], "lags": tuple(state["config"]["lags"])})
        cov = state["cov"]
        cov = cov.numpy() if isinstance(cov, torch.Tensor) else np.asarray(cov)
        stats = CovarianceStats(
            cov=np.asarray(cov, np.float64),
            cov_max_lag=int(state["cov_max_lag"]),
            n_records=int(state["n_records"]),
            n_samples=int(state["n_samples"]),
            meta=dict(state.get("meta", {})),
        )
        k = 2 * stats.cov_max_lag + 1
        if stats.cov.shape != (_N8 * k, _N8 * k):
            raise ValueError(f"linear-baseline covariance has shape {stats.cov.shape}; expected {(_N8 * k,) * 2}")
        if config is not None and config.fs != stored.fs:
            raise ValueError(f"linear baseline fitted at {stored.fs:g} Hz; config asks {config.fs:g} Hz")
        return cls(config or stored, stats)

    @property
    def meta(self) -> dict[str, Any]:
        """Free metadata saved with the state (data, split, measured scores...); mutable."""
        return self._stats.meta

    def save(self, path: str | Path) -> None:
        """Write :meth:`state_dict` with ``torch.save``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | Path, config: LinearConfig | None = None) -> LinearBaseline:
        """Read a file written by :meth:`save` (``weights_only=True``)."""
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        return cls.from_state_dict(state, config)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"LinearBaseline(lags={list(c.lags)}, ridge={c.ridge:g}, fs={c.fs:g} Hz, "
            f"records={self.n_records}, samples={self.n_samples})"
        )
