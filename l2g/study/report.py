"""The analysis of a reader study: accuracy with Wilson intervals and binomial tests, kappas, times.

:func:`score` turns the answers (:func:`l2g.study.store.answers_frame`) into
decisions, one row per judgement a reader made:

* ``pick``: one decision per trial, correct when the reader picked the
  generated panel; chance 1/2.
* ``real_or_generated``: one decision per lead outside the subset (a lead that
  could have been generated), correct when the lead is marked exactly when it
  was generated; chance 1/2.

The tables count ``trials`` (pages answered) and ``decisions`` (the units scored:
one per pick trial, one per lead of a real-or-generated page). A statistic that is
undefined (a κ with one reader, with no unit every reader judged, or with every
answer the same) is NaN with a ``note`` saying why; :meth:`StudyReport.readable`
gives every table as text for a screen ("–" and the note, never "None").

:func:`study_report` aggregates them per reader, lead, k (number of available
leads) and trial type, and adds Fleiss' kappa across readers, Cohen's kappa per
reader between their diagnoses of the recorded and the reconstructed page of a
record, and the time per trial. Accuracy near 1/2 means readers could not tell
generated leads from recorded ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..markdown import format_number, md_table
from .stats import binom_p, cohen_kappa, fleiss_kappa, wilson_interval

__all__ = ["CHANCE", "FORMATS", "score", "accuracy_table", "fleiss_table", "cohen_table", "time_table", "StudyReport",
           "study_report"]

#: Chance level of one decision, per trial type.
CHANCE: dict[str, float] = {"pick": 0.5, "real_or_generated": 0.5}
_ACC_COLS = ["trials", "decisions", "correct", "accuracy", "ci_low", "ci_high", "p_vs_chance"]
#: How each number is shown (readable tables and Markdown); counts are integers.
FORMATS: dict[str, str] = {"accuracy": ".2f", "ci_low": ".2f", "ci_high": ".2f", "p_vs_chance": ".3f",
                           "kappa": ".2f", "agreement": ".2f", "median_s": ".1f", "mean_s": ".1f"}


def score(answers: pd.DataFrame) -> pd.DataFrame:
    """Decisions of the ``pick`` and ``real_or_generated`` answers.

    Returns
    -------
    DataFrame
        Columns ``reader``, ``trial``, ``kind``, ``lead``, ``k``, ``choice`` (what
        the reader said about this unit: the panel, or ``"generated"``/``"recorded"``),
        ``correct`` (bool).
    """
    rows = []
    for r in answers.itertuples(index=False):
        truth, answer = json.loads(r.truth), json.loads(r.answer)
        if r.kind == "pick":
            rows.append((r.reader, r.trial, r.kind, r.lead, r.k, answer, answer == truth["generated"]))
        elif r.kind == "real_or_generated":
            for lead in [x for x in r.lead.split(",") if x]:
                said = lead in answer
                rows.append((r.reader, r.trial, r.kind, lead, r.k, "generated" if said else "recorded",
                             said == (lead in truth["generated"])))
    return pd.DataFrame(rows, columns=["reader", "trial", "kind", "lead", "k", "choice", "correct"])


def accuracy_table(decisions: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Accuracy per group: ``trials`` (pages answered), ``decisions`` (units scored: a pick trial, a lead of a
    real-or-generated page), ``correct``, ``accuracy``, Wilson 95 % ``ci_low``/``ci_high``, ``p_vs_chance``.

    ``p_vs_chance`` is the exact two-sided binomial test against :data:`CHANCE`
    of the group's trial type (groups must not mix chance levels; all are 1/2).
    """
    if decisions.empty:
        return pd.DataFrame(columns=[*by, *_ACC_COLS])
    out = []
    for key, g in decisions.groupby(by, sort=True):
        n, c = len(g), int(g["correct"].sum())
        chance = float(np.mean([CHANCE[k] for k in g["kind"].unique()]))
        lo, hi = wilson_interval(c, n)
        trials = len(g[["reader", "trial"]].drop_duplicates())
        out.append((*(key if isinstance(key, tuple) else (key,)), trials, n, c, c / n, lo, hi,
                    binom_p(c, n, chance)))
    return pd.DataFrame(out, columns=[*by, *_ACC_COLS])


def fleiss_table(answers: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Fleiss' kappa per trial type over the units every reader of that type judged.

    Columns ``kind``, ``readers``, ``units``, ``kappa``, ``note`` (why ``kappa`` is nan: fewer than two
    readers, no common unit, or every answer the same; else empty). Units: a pick trial (category: the
    panel chosen), a lead of a real-or-generated page (generated / recorded), a diagnosis page (the diagnosis).
    """
    diag = answers[answers["kind"] == "diagnosis"].assign(
        lead="", choice=lambda d: d["answer"].map(json.loads))[["reader", "trial", "kind", "lead", "choice"]]
    units = pd.concat([decisions[["reader", "trial", "kind", "lead", "choice"]], diag], ignore_index=True)
    rows = []
    for kind in ["pick", "real_or_generated", "diagnosis"]:
        u = units[units["kind"] == kind]
        readers = sorted(u["reader"].unique())
        if len(readers) < 2:
            rows.append((kind, len(readers), 0, np.nan, "needs answers from two or more readers"))
            continue
        per_unit = u.groupby(["trial", "lead"])["reader"].nunique()
        common = per_unit[per_unit == len(readers)].index
        u = u.set_index(["trial", "lead"]).loc[common].reset_index() if len(common) else u.iloc[:0]
        if u.empty:
            rows.append((kind, len(readers), 0, np.nan, "no unit was judged by every reader"))
            continue
        counts = pd.crosstab([u["trial"], u["lead"]], u["choice"].astype(str)).to_numpy()
        kappa = fleiss_kappa(counts)
        rows.append((kind, len(readers), len(counts), kappa, _SAME if np.isnan(kappa) else ""))
    return pd.DataFrame(rows, columns=["kind", "readers", "units", "kappa", "note"])


_SAME = "every answer was the same, so agreement by chance is 1 and κ is undefined"


def cohen_table(answers: pd.DataFrame) -> pd.DataFrame:
    """Per reader: their diagnosis of the recorded page vs of the reconstructed page of the same record.

    Columns ``reader``, ``pairs``, ``agree``, ``agreement`` (share), ``ci_low``, ``ci_high``
    (Wilson 95 %), ``kappa`` (Cohen's), ``note`` (why ``kappa`` is nan; else empty).
    """
    d = answers[answers["kind"] == "diagnosis"]
    rows = []
    for reader, g in d.groupby("reader", sort=True):
        wide = g.pivot_table(index="pair", columns="variant", values="answer", aggfunc="first")
        if not {"recorded", "reconstructed"} <= set(wide.columns):
            continue
        wide = wide.dropna(subset=["recorded", "reconstructed"])
        a = [json.loads(x) for x in wide["recorded"]]
        b = [json.loads(x) for x in wide["reconstructed"]]
        agree = sum(x == y for x, y in zip(a, b, strict=True))
        lo, hi = wilson_interval(agree, len(a)) if a else (np.nan, np.nan)
        kappa = cohen_kappa(a, b)
        note = "" if not np.isnan(kappa) else _SAME if a else "no recorded/reconstructed pair answered"
        rows.append((reader, len(a), agree, agree / len(a) if a else np.nan, lo, hi, kappa, note))
    return pd.DataFrame(rows, columns=["reader", "pairs", "agree", "agreement", "ci_low", "ci_high", "kappa",
                                       "note"])


def time_table(answers: pd.DataFrame) -> pd.DataFrame:
    """Seconds per trial by reader and type: ``trials``, ``median_s``, ``mean_s`` (to 0.1 s)."""
    if answers.empty:
        return pd.DataFrame(columns=["reader", "kind", "trials", "median_s", "mean_s"])
    g = answers.groupby(["reader", "kind"])["seconds"]
    return pd.DataFrame({"trials": g.size(), "median_s": g.median().round(1), "mean_s": g.mean().round(1)}
                        ).reset_index()


@dataclass
class StudyReport:
    """Every table of a study's analysis (DataFrames as documented on the functions that make them)."""

    study: str
    model_version: str
    answers: pd.DataFrame
    by_reader: pd.DataFrame
    by_lead: pd.DataFrame
    by_k: pd.DataFrame
    by_kind: pd.DataFrame
    fleiss: pd.DataFrame
    cohen: pd.DataFrame
    times: pd.DataFrame

    TABLES = ("by_kind", "by_reader", "by_lead", "by_k", "fleiss", "cohen", "times")

    def readable(self, name: str) -> pd.DataFrame:
        """The table ``name`` as text for a screen: numbers as in :data:`FORMATS` (counts whole, a p value
        below 0.001 as "< 0.001"), an undefined value "–" with its ``note`` beside it, never "None"."""
        df = getattr(self, name)
        out = pd.DataFrame(index=df.index)
        for col in df.columns:
            if col == "p_vs_chance":
                out[col] = [("< 0.001" if v < 0.001 else format_number(v, ".3f")) if np.isfinite(v) else "–"
                            for v in df[col].astype(float)]
            elif col in FORMATS:
                out[col] = [format_number(float(v), FORMATS[col]) for v in df[col]]
            else:
                out[col] = df[col].astype(str)
        return out

    def to_markdown(self) -> str:
        """The report as Markdown: one table per section."""
        titles = {"by_kind": "Accuracy per trial type", "by_reader": "Accuracy per reader",
                  "by_lead": "Accuracy per lead", "by_k": "Accuracy per number of available leads (k)",
                  "fleiss": "Inter-reader agreement (Fleiss' kappa)",
                  "cohen": "Diagnosis, recorded vs reconstructed page (Cohen's kappa per reader)",
                  "times": "Seconds per trial"}
        parts = [f"# Reader study `{self.study}`", "",
                 f"Model: {self.model_version}. Answers: {len(self.answers)}. Accuracy = share of correct "
                 "decisions (chance 1/2), Wilson 95 % interval, exact two-sided binomial test against chance.", ""]
        for name in self.TABLES:
            df = getattr(self, name)
            parts += [f"## {titles[name]}", "", md_table(df, FORMATS) if not df.empty else "(no answers)", ""]
        return "\n".join(parts)

    def write(self, out: str | Path) -> list[Path]:
        """Write ``report.md`` and one CSV per table into ``out``; returns the files."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = [out / "report.md"]
        files[0].write_text(self.to_markdown(), encoding="utf-8")
        for name in self.TABLES:
            path = out / f"{name}.csv"
            getattr(self, name).to_csv(path, index=False)
            files.append(path)
        return files


def study_report(engine, study) -> StudyReport:
    """The full analysis of ``study`` from the answers in the database."""
    from .store import answers_frame

    answers = answers_frame(engine, study)
    dec = score(answers)
    return StudyReport(
        study=study.name, model_version=study.model_version, answers=answers,
        by_reader=accuracy_table(dec, ["reader", "kind"]), by_lead=accuracy_table(dec, ["kind", "lead"]),
        by_k=accuracy_table(dec, ["kind", "k"]), by_kind=accuracy_table(dec, ["kind"]),
        fleiss=fleiss_table(answers, dec), cohen=cohen_table(answers), times=time_table(answers))
