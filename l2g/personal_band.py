"""The band and the trust grades of a personalised reconstruction (issue #23 item 4).

A personalised reconstruction (:func:`l2g.personal.personalise`, ``l2g.reconstruct(..., prior=earlier)``)
errs less than the generic one, so the generic band (:mod:`l2g.uncertainty`) would over-cover and its
grades would be too pessimistic. This module holds what was refitted for the personalised mode, on the
personalised residuals of PTB-XL fold-9 same-patient pairs the guard let through
(``python -m bench.personal_band fit``; checked on fold 10 by ``python -m bench.personal_band check``,
``reports/personal.md``), and turns it into an :class:`~l2g.uncertainty.IntervalCalibration` that
:func:`l2g.uncertainty.interval_for` and :func:`l2g.trust.trust_table` use unchanged:

* **band**: the same record-adaptive scale ``s_j(t)`` as the generic band (``interval.json``'s ``beta``,
  ``window_s``, chest-only factor and the linear prior's ``sigma_j(S)``), with the split-conformal
  quantiles of the *personalised* normalised residuals ``|y - personalised| / s``, per available-lead
  subset and lead, in place of the generic per-k ones;
* **predicted RMSE**: the generic grade regression times one factor per subset (the geometric mean of
  actual over predicted RMSE of the personalised leads on fold 9), i.e. a shift of its intercept;
* **grade A**: its own :class:`~l2g.grades.GradeRule` per subset, chosen on that subset's fold-9 leads as
  ``bench/trust_calibrate.py fit`` chooses the generic one (the most leads graded A with the ST level at
  J + 60 ms within :data:`~l2g.grades.ST_ERROR_MV` in at least :data:`~l2g.grades.ST_SHARE` of them), applied
  through the one rule :func:`l2g.grades.st_decisions`; a subset without one grades no lead A unless exact.

Bound to its generator and to its band
--------------------------------------
``personal_interval.json`` (in :func:`l2g.paths.weights_dir`, listed in ``SHA256SUMS``) names the generator
whose personalised residuals it was fitted on (``model``) and the scale of ``interval.json`` it extends
(``beta``, ``window_s``); :func:`personal_calibration_for` refuses it, naming the file, for another
generator (:class:`~l2g.uncertainty.CalibrationMismatch`) or another scale. A subset it was not fitted for
has no personalised band (:class:`PersonalBandUnavailable`): the result then carries no band and no grade,
and says why.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .digest import same_weights
from .grades import GradeError, GradeRule
from .leads import LEADS, parse_lead_list
from .uncertainty import CalibrationError, CalibrationMismatch, IntervalCalibration, calibration_for

__all__ = ["PERSONAL_FORMAT", "PERSONAL_FILE", "PersonalBandUnavailable", "PersonalCalibration",
           "load_personal_calibration", "personal_calibration_for", "subset_key"]

PERSONAL_FORMAT = "l2g-personal-interval"
#: The file's name in :func:`l2g.paths.weights_dir`.
PERSONAL_FILE = "personal_interval.json"


class PersonalBandUnavailable(CalibrationError):
    """No personalised band for this available-lead subset: it was not among those calibrated."""


def subset_key(available: Sequence[str]) -> str:
    """The key of an available-lead subset in the file: canonical names in :data:`l2g.leads.LEADS` order.

    Examples
    --------
    >>> subset_key(["ii", "I", "V2"])
    'I,II,V2'
    """
    chosen = set(parse_lead_list(available))
    return ",".join(lead for lead in LEADS if lead in chosen)


@dataclass(frozen=True)
class PersonalCalibration:
    """What was fitted for the personalised mode (see the module notes).

    Attributes
    ----------
    model : str
        The generator it was fitted for (:func:`l2g.digest.weights_version`, e.g. ``"l2g.pt@bd2e947fd304"``).
    beta, window_s : float
        The scale of the ``interval.json`` it extends (:attr:`l2g.uncertainty.IntervalCalibration.beta`,
        ``window_s``).
    levels : tuple of float
        Coverage levels with stored quantiles, increasing.
    quantiles : dict
        ``{subset_key: ndarray (len(levels), 12)}``: the personalised quantiles per lead.
    rmse_factor : dict
        ``{subset_key: float}``: actual over generic-predicted RMSE of the personalised leads (fold 9).
    grade_a : dict
        ``{subset_key: GradeRule or None}``: the grade-A bounds of each subset; None (or no key): no generated
        lead is graded A unless exact.
    meta : dict
        How it was fitted (pairs, command, date).
    source : str
        Where it was read from (named in every error).
    """

    model: str
    beta: float
    window_s: float
    levels: tuple[float, ...]
    quantiles: dict
    rmse_factor: dict
    grade_a: dict
    meta: dict
    source: str = PERSONAL_FILE

    @property
    def subsets(self) -> tuple[str, ...]:
        """The calibrated subsets (keys of :attr:`quantiles`)."""
        return tuple(self.quantiles)

    def to_dict(self) -> dict[str, Any]:
        """Plain-type form written to ``personal_interval.json``."""
        return {"format": PERSONAL_FORMAT, "version": 1, "model": self.model, "beta": self.beta,
                "window_s": self.window_s, "levels": list(self.levels), "leads": list(LEADS),
                "quantiles": {k: np.round(np.asarray(v, np.float64), 5).tolist() for k, v in self.quantiles.items()},
                "rmse_factor": {k: round(float(v), 5) for k, v in self.rmse_factor.items()},
                "grade_a": {k: None if r is None else r.to_dict() for k, r in self.grade_a.items()},
                "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = PERSONAL_FILE) -> PersonalCalibration:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        CalibrationError
            Naming ``source``, when ``d`` is not a personalised calibration of this version or is malformed.
        """
        if not isinstance(d, dict) or d.get("format") != PERSONAL_FORMAT or d.get("version") != 1:
            raise CalibrationError(f"{source}: not an {PERSONAL_FORMAT} version 1 file; "
                                   "run python -m bench.personal_band fit")
        try:
            model = d["model"]
            if not isinstance(model, str) or "@" not in model:
                raise CalibrationError(f"{source}: model {model!r}; expected the generator it was fitted for, "
                                       "e.g. 'l2g.pt@bd2e947fd304'")
            levels = tuple(float(v) for v in d["levels"])
            if list(d["leads"]) != list(LEADS) or list(levels) != sorted(levels):
                raise CalibrationError(f"{source}: leads must be the 12 canonical leads and levels increasing")
            quantiles = {}
            for key, q in d["quantiles"].items():
                arr = np.asarray(q, np.float64)
                if arr.shape != (len(levels), len(LEADS)) or not np.all(np.isfinite(arr) & (arr >= 0)):
                    raise CalibrationError(f"{source}: quantiles of {key} need levels × 12 non-negative numbers")
                quantiles[subset_key(key.split(","))] = arr
            factor = {subset_key(k.split(",")): float(v) for k, v in d["rmse_factor"].items()}
            if set(factor) != set(quantiles) or not all(np.isfinite(v) and v > 0 for v in factor.values()):
                raise CalibrationError(f"{source}: rmse_factor needs one positive number per calibrated subset")
            rules = {subset_key(k.split(",")): None if r is None else GradeRule.from_dict(r)
                     for k, r in (d.get("grade_a") or {}).items()}
            return cls(model=model, beta=float(d["beta"]), window_s=float(d["window_s"]), levels=levels,
                       quantiles=quantiles, rmse_factor=factor, grade_a=rules, meta=dict(d.get("meta", {})),
                       source=source)
        except GradeError as exc:
            raise CalibrationError(f"{source}: {exc}") from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, CalibrationError):
                raise
            raise CalibrationError(f"{source}: missing or malformed field ({exc})") from exc

    def save(self, path: str | Path) -> None:
        """Write the JSON file."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    def apply_to(self, base: IntervalCalibration, available: Sequence[str]) -> IntervalCalibration:
        """``base`` with this mode's quantiles, predicted-RMSE factor and grade-A rule for ``available``.

        Parameters
        ----------
        base : IntervalCalibration
            The generic calibration of the same generator (its scale and grade regression).
        available : sequence of str

        Returns
        -------
        IntervalCalibration
            A new one (``base`` is not changed), whose ``meta["mode"]`` is ``"personal"``.

        Raises
        ------
        PersonalBandUnavailable
            When ``available`` is not a calibrated subset.
        CalibrationMismatch
            When ``base`` names another generator or has another scale than this file extends.
        """
        key = subset_key(available)
        if key not in self.quantiles:
            raise PersonalBandUnavailable(f"no personalised band from {key} (calibrated from "
                                          f"{'; '.join(self.subsets)} only: {Path(self.source).name})")
        if not same_weights(base.model, self.model):
            raise CalibrationMismatch(f"{self.source}: fitted for {self.model}, but the band calibration "
                                      f"(interval.json) is for {base.model}; refit it "
                                      "(python -m bench.personal_band fit)")
        if not (np.isclose(base.beta, self.beta) and np.isclose(base.window_s, self.window_s)):
            raise CalibrationMismatch(f"{self.source}: fitted on the scale beta={self.beta:g}, "
                                      f"window_s={self.window_s:g}, but interval.json has beta={base.beta:g}, "
                                      f"window_s={base.window_s:g}; refit it (python -m bench.personal_band fit)")
        q = np.asarray(self.quantiles[key], np.float64)
        # every k row holds the subset's quantiles, interpolated at base's levels (clipped to this file's range)
        qb = np.array([[np.interp(lv, self.levels, q[:, j]) for j in range(len(LEADS))] for lv in base.levels])
        quantiles = np.repeat(qb[:, None, :], base.quantiles.shape[1], axis=1)
        coef = {kind: list(c) for kind, c in base.grade_coef.items()}
        terms = base.terms("model")
        coef["model"][terms.index("1")] += float(np.log(self.rmse_factor[key]))
        return dataclasses.replace(base, quantiles=quantiles, grade_coef=coef, grade_a=self.grade_a.get(key),
                                   meta={**base.meta, "mode": "personal", "subset": key, "source": self.source})


_CACHE: dict[str, PersonalCalibration] = {}


def load_personal_calibration(path: str | Path | None = None) -> PersonalCalibration:
    """Read ``personal_interval.json`` (default: :func:`l2g.paths.weights_dir`), checked against ``SHA256SUMS``.

    Raises
    ------
    CalibrationError
        Naming the file, when it is missing, unreadable, fails its checksum or is malformed.
    """
    from . import paths
    from .digest import read_verified_json

    p = Path(path) if path is not None else paths.weights_file(PERSONAL_FILE)
    key = str(p)
    if key not in _CACHE:
        try:
            d = read_verified_json(p)
        except (OSError, ValueError) as exc:
            raise CalibrationError(f"{p}: cannot read the personalised band calibration ({exc}); "
                                   "run python -m bench.personal_band fit") from exc
        _CACHE[key] = PersonalCalibration.from_dict(d, str(p))
    return _CACHE[key]


def personal_calibration_for(version: str, available: Sequence[str], *, method: str = "model",
                             personal: PersonalCalibration | None = None,
                             base: IntervalCalibration | None = None) -> IntervalCalibration:
    """The calibration of a personalised reconstruction by the generator ``version`` from ``available``.

    Parameters
    ----------
    version : str
        The generator's :func:`l2g.digest.weights_version` (``Provenance.model_version``).
    available : sequence of str
    method : {"model", "linear"}
        The reconstruction's method; only the generator's personalised leads were calibrated.
    personal : PersonalCalibration, optional
        Default :func:`load_personal_calibration`.
    base : IntervalCalibration, optional
        The generic calibration; default :func:`l2g.uncertainty.load_calibration`. Both must have been fitted
        for ``version`` (:func:`l2g.uncertainty.calibration_for`).

    Returns
    -------
    IntervalCalibration
        For :func:`l2g.uncertainty.interval_for` and :func:`l2g.trust.trust_table`.

    Raises
    ------
    CalibrationMismatch
        When the personalised file names another generator (the message names the file and both), or extends
        another scale; or when the generic one does.
    PersonalBandUnavailable
        When ``available`` is not a calibrated subset, or ``method`` is not ``"model"``.
    CalibrationError
        When a default file is missing or malformed.

    Examples
    --------
    >>> cal = personal_calibration_for("l2g.pt@bd2e947fd304", ["I"])
    >>> cal.meta["mode"], cal.quantile(0.9, 1).shape
    ('personal', (12,))
    >>> personal_calibration_for("l2g.pt@e0485c1a6204", ["I"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    l2g.uncertainty.CalibrationMismatch: ...personal_interval.json: fitted for l2g.pt@bd2e947fd304, not for \
l2g.pt@e0485c1a6204; refit it for this generator (python -m bench.personal_band fit)
    """
    pc = personal if personal is not None else load_personal_calibration()
    if method != "model":
        raise PersonalBandUnavailable(f"no personalised band for a {method} reconstruction")
    if not same_weights(pc.model, version):
        raise CalibrationMismatch(f"{pc.source}: fitted for {pc.model}, not for {version}; refit it for this "
                                  "generator (python -m bench.personal_band fit)")
    return pc.apply_to(calibration_for(version, "model", base), available)
