"""The trust table of a reconstruction: per generated lead, a predicted error, an ST decision and a grade.

The method and its calibration are :mod:`l2g.uncertainty`'s ("Trust grade"); this module applies them to
one reconstruction. It sits above both :mod:`l2g.reconstruction` (it reconstructs the generator's
linear prior to see where the two disagree) and :mod:`l2g.uncertainty` (whose band
:func:`l2g.reconstruct` itself uses).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .grades import grade_of, st_decisions
from .leads import LEADS
from .reconstruction import _default, reconstruct
from .record import GENERATED, Record
from .uncertainty import (
    IntervalCalibration,
    _st_level_of,
    band_scale,
    calibration_for,
    chest_only,
    exact_leads,
    input_activity,
    linear_sigma,
    predicted_rmse,
)

__all__ = ["trust_table"]


def trust_table(full: Record, *, model=None, calibration: IntervalCalibration | None = None,
                delineation=None) -> pd.DataFrame:
    """One row per generated lead of a reconstruction: predicted RMSE (µV), ST decision, grade, band width.

    Parameters
    ----------
    full : Record
        A reconstruction (``meta.provenance.available`` says from which leads).
    model : l2g.reconstruction.Reconstructor, optional
        Its linear baseline gives :func:`l2g.uncertainty.linear_sigma`; default: the shipped one.
    calibration : l2g.uncertainty.IntervalCalibration, optional
        Default :func:`l2g.uncertainty.load_calibration`; either must have been fitted for the
        generator the provenance names (:func:`l2g.uncertainty.calibration_for`). A personalised
        reconstruction (``meta.provenance.prior`` set) uses it with the personalised mode's quantiles,
        predicted-RMSE factor and grade-A rule (:func:`l2g.personal_band.personal_calibration_for`).
    delineation : l2g.morphology.Delineation, optional
        Of lead II of ``full``: times the ST segment (:func:`l2g.uncertainty.st_halfwidth`); None: R peaks of lead II.

    Returns
    -------
    DataFrame
        Columns ``lead, predicted_rmse_uv, grade, meaning, band_halfwidth_uv``
        (mean half-width of the 90 % band), ``st_halfwidth_mv`` (at the ST
        segment), ``st_decisions`` (:func:`l2g.uncertainty.st_decisions`: grade A exactly where
        True), ``exact`` (fixed by Einthoven/Goldberger). ``attrs["grade_rule"]``:
        the grade-A rule in force or why there is none (:meth:`l2g.uncertainty.IntervalCalibration.rule_for`).

    Raises
    ------
    ValueError
        When the record has no provenance (not a reconstruction).
    CalibrationMismatch
        When the calibration was fitted for another generator than the one
        that made ``full`` (a grade for another model's errors is no grade).
    l2g.personal_band.PersonalBandUnavailable
        For a personalised reconstruction from a subset that mode was not calibrated on.

    Examples
    --------
    >>> import l2g
    >>> from l2g.demo import demo_record
    >>> full = l2g.reconstruct(demo_record(), ["I"], method="linear")
    >>> t = trust_table(full)
    >>> list(t.columns)[:3], len(t), set(t["grade"]) <= {"B", "C"}  # no grade A for a linear reconstruction
    (['lead', 'predicted_rmse_uv', 'grade'], 11, True)
    """
    prov = full.meta.provenance
    if prov is None or not prov.available:
        raise ValueError(f"{full.name}: no provenance; trust_table needs a record returned by l2g.reconstruct")
    if prov.prior is not None:  # personalised mode: the band and grades refitted on personalised residuals
        from .personal_band import personal_calibration_for

        cal = personal_calibration_for(prov.model_version, prov.available, method=prov.method, base=calibration)
    else:
        cal = calibration_for(prov.model_version, prov.method, calibration)
    rc = model if model is not None else _default("model")
    avail = tuple(prov.available)
    full = full.standardize()
    factor = cal.factor_for(avail)
    act = input_activity(full.select(avail), cal.window_s)
    s = band_scale(act, linear_sigma(rc.linear, avail) * factor, cal.beta)
    gen = np.nan_to_num(full.signal)
    feats = {"s": np.sqrt(np.mean(s**2, axis=1)), "gen": np.sqrt(np.mean(gen**2, axis=1)),
             "sigma": linear_sigma(rc.linear, avail) * factor, "act": np.full(len(LEADS), np.sqrt(np.mean(act**2))),
             "k": np.full(len(LEADS), len(avail)), "chest_only": np.full(len(LEADS), float(chest_only(avail))),
             "lead": np.array(LEADS)}
    if prov.method == "model":  # the generator vs its linear prior, lead by lead
        prior = reconstruct(full, avail, model=dataclasses.replace(rc, generator=None)).signal
        feats["dis"] = np.sqrt(np.mean((gen - np.nan_to_num(prior)) ** 2, axis=1))
    pred_all = predicted_rmse(cal, feats, "model" if prov.method == "model" else "linear") * 1000.0
    q90 = cal.quantile(0.9, len(avail))
    hw_st = _st_level_of(q90[:, None] * s, full, delineation, "II")
    rule, note = cal.rule_for(prov.model_version, prov.method)
    exact = set(exact_leads(avail))
    rows = []
    for i, lead in enumerate(LEADS):
        if full.status[i] != GENERATED:
            continue
        pred = 0.0 if lead in exact else float(pred_all[i])
        hw = 0.0 if lead in exact else float(hw_st[i])
        ok = bool(st_decisions(pred, hw, lead in exact, rule))
        grade, meaning = grade_of(pred, ok)
        rows.append({"lead": lead, "predicted_rmse_uv": pred, "grade": grade, "meaning": meaning,
                     "band_halfwidth_uv": float(q90[i] * np.mean(s[i]) * 1000.0), "st_halfwidth_mv": hw,
                     "st_decisions": ok, "exact": lead in exact})
    table = pd.DataFrame(rows, columns=["lead", "predicted_rmse_uv", "grade", "meaning", "band_halfwidth_uv",
                                        "st_halfwidth_mv", "st_decisions", "exact"])
    table.attrs["grade_rule"] = note
    return table
