"""The written evaluation read back: per-record tables and Plotly figures for the dashboard (no Streamlit here).

``l2g evaluate`` writes ``evaluation_rows.csv.gz``: one row per (method, record, k, subset, generated
lead) with every metric of :func:`l2g.metrics.compare`. The functions here read it back and summarise
it the way the report does: a record's value for a (method, k, subset) is the mean over its generated
leads (:func:`per_record`); a figure shows the spread of those per-record values, not only their mean.
``diagnostic.json`` (``bench/diagnostic.py``) gives the diagnostic fidelity table
(:func:`diagnostic_table`).

Nothing is recomputed from the ECGs: every number comes from the files in ``reports/``.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from .leads import LEADS
from .plots import COLORS

__all__ = [
    "METRICS",
    "RECORD_SETS",
    "ROWS_FILE",
    "REPORT_FILES",
    "read_rows",
    "read_json",
    "select_rows",
    "per_record",
    "lead_table",
    "metric_vs_k_figure",
    "lead_heatmap_figure",
    "source_figure",
    "diagnostic_table",
    "headline_table",
    "report_zip",
]

#: The per-lead rows written by ``l2g evaluate``.
ROWS_FILE = "evaluation_rows.csv.gz"
#: The reports offered as one download, with the figures they link to.
REPORT_FILES = ("evaluation.md", "diagnostic.md")

#: Metric column -> (label with unit, True when higher is better).
METRICS: dict[str, tuple[str, bool]] = {
    "r": ("Pearson r", True),
    "rmse_uv": ("RMSE (µV)", False),
    "mse": ("MSE (mV²)", False),
    "ssim": ("SSIM", True),
    "nmse": ("normalised MSE", False),
    "coherence": ("coherence", True),
    "nmi": ("normalised mutual information", True),
    "jsd": ("Jensen–Shannon divergence", False),
}

#: Which held-out records a view covers: label -> the value of ``ptbxl_derived`` kept (None: all).
RECORD_SETS: dict[str, bool | None] = {
    "not derived from PTB-XL (the headline)": False,
    "derived from PTB-XL": True,
    "all": None,
}

#: A method's colour: the generator blue as its generated leads, the linear baseline orange as on the chart.
METHOD_COLORS = {"model": COLORS["generated"], "linear": COLORS["baseline"], "previous": "#7c93c9"}

_KEYS = ["method", "record_id", "source", "subset", "lead"]


def read_rows(path: str | Path) -> pd.DataFrame:
    """The per-lead rows of ``l2g evaluate`` (``evaluation_rows.csv.gz``), text columns as categories."""
    rows = pd.read_csv(path)
    for col in _KEYS:
        if col in rows:
            rows[col] = rows[col].astype("category")
    return rows


def read_json(path: str | Path) -> dict:
    """A JSON report (``evaluation.json``, ``diagnostic.json``); ``{}`` when the file is absent."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def select_rows(rows: pd.DataFrame, *, records: Sequence[str] | None = None, methods: Sequence[str] | None = None,
                k: int | None = None, subset: str | None = None, source: str | None = None,
                lead: str | None = None) -> pd.DataFrame:
    """The rows of the given records, methods, k, subset (``"I,II"``), source and generated lead (None: all)."""
    keep = pd.Series(True, index=rows.index)
    if records is not None:
        keep &= rows["record_id"].isin(records)
    if methods is not None:
        keep &= rows["method"].isin(methods)
    for col, value in (("k", k), ("subset", subset), ("source", source), ("lead", lead)):
        if value is not None:
            keep &= rows[col] == value
    return rows[keep]


def per_record(rows: pd.DataFrame, metric: str, by: Sequence[str] = ("method", "k")) -> pd.DataFrame:
    """One value per record and ``by`` group: the mean of ``metric`` over the record's generated leads and
    subsets, as ``summarise_by_k`` of the report (its mean over records is the report's number).

    >>> rows = pd.DataFrame({"method": ["model"] * 3, "k": [1] * 3, "record_id": ["a", "a", "b"],
    ...                      "source": ["s"] * 3, "subset": ["I"] * 3, "lead": ["II", "V1", "II"],
    ...                      "r": [0.8, 0.6, 0.9]})
    >>> per_record(rows, "r")[["record_id", "r"]].round(3).values.tolist()
    [['a', 0.7], ['b', 0.9]]
    """
    keys = [*by, "record_id", "source"]
    per = rows.groupby([*by, "subset", "record_id", "source"], observed=True, as_index=False)[metric].mean()
    return per.groupby(keys, observed=True, as_index=False)[metric].mean()


def lead_table(rows: pd.DataFrame, metric: str, by: str = "subset") -> pd.DataFrame:
    """Mean of ``metric`` over records per ``by`` (a subset, or a record) × generated lead, leads in the
    12-lead order as columns; NaN where the lead was an input (not generated)."""
    per = rows.groupby([by, "lead"], observed=True)[metric].mean().unstack("lead")
    return per.reindex(columns=[lead for lead in LEADS if lead in per.columns])


def _label(metric: str) -> str:
    return METRICS.get(metric, (metric, True))[0]


def _layout(fig: go.Figure, title: str, metric: str, height: int = 420) -> go.Figure:
    better = "higher is better" if METRICS.get(metric, ("", True))[1] else "lower is better"
    fig.update_layout(title=dict(text=f"{title}<br><sup>{_label(metric)}: {better}</sup>"), height=height,
                      margin=dict(l=60, r=20, t=70, b=50), template="plotly_white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
    return fig


def _boxes(fig: go.Figure, per: pd.DataFrame, x: str, metric: str) -> None:
    """One box per method (records as points) at each ``x``, the mean as a dashed line in the box; the methods
    in the order of :data:`METHOD_COLORS`, so every figure has the same legend."""
    order = {m: i for i, m in enumerate(METHOD_COLORS)}
    for method in sorted(per["method"].astype(str).unique(), key=lambda m: (order.get(m, len(order)), m)):
        part = per[per["method"] == method]
        fig.add_trace(go.Box(
            x=part[x].astype(str), y=part[metric], name=str(method), offsetgroup=str(method), boxmean=True,
            boxpoints="all", jitter=0.4, pointpos=0, marker=dict(size=3, opacity=0.5),
            line=dict(color=METHOD_COLORS.get(str(method), "#555555")),
            customdata=part[["record_id"]].astype(str).to_numpy(),
            hovertemplate="%{customdata[0]}<br>%{y:.4g}<extra>" + str(method) + "</extra>"))
    fig.update_layout(boxmode="group")


def metric_vs_k_figure(per: pd.DataFrame, metric: str) -> go.Figure:
    """``metric`` against the number of available leads k: per method, a box of the per-record values
    (:func:`per_record` by method and k), each record a point, the mean dashed."""
    fig = go.Figure()
    _boxes(fig, per.sort_values("k"), "k", metric)
    n = per["record_id"].nunique()
    fig.update_xaxes(title="k = number of available (recorded) leads", type="category")
    fig.update_yaxes(title=_label(metric))
    return _layout(fig, f"{_label(metric)} against k — one point per record ({n} records)", metric)


def lead_heatmap_figure(table: pd.DataFrame, metric: str, title: str) -> go.Figure:
    """A heat map of :func:`lead_table`: rows (subsets or records) × generated leads; blank = an input lead."""
    higher = METRICS.get(metric, ("", True))[1]
    z = table.to_numpy(dtype=float)
    text = [["" if math.isnan(v) else f"{v:.3g}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(table.columns), y=[str(i) for i in table.index], text=text, texttemplate="%{text}",
        colorscale="Blues" if higher else "Blues_r", colorbar=dict(title=dict(text=_label(metric), side="right")),
        hovertemplate="%{y} → %{x}: %{z:.4g}<extra></extra>", hoverongaps=False))
    fig.update_xaxes(side="top", type="category")
    fig.update_yaxes(autorange="reversed", type="category")
    row_px = 26 if len(table) <= 20 else 16  # subsets, or the records of one subset
    fig = _layout(fig, title, metric, height=max(320, 140 + row_px * len(table)))
    return fig.update_layout(margin=dict(t=100))


def source_figure(per: pd.DataFrame, metric: str, title: str) -> go.Figure:
    """Per data source, per method: a box of the per-record values (:func:`per_record` by method)."""
    source = per["source"].astype(str)
    counts = per.groupby(source)["record_id"].nunique()
    per = per.assign(source=source.map(lambda s: f"{s} ({counts[s]})")).sort_values("source")
    fig = go.Figure()
    _boxes(fig, per, "source", metric)
    fig.update_xaxes(title="data source (records)", type="category")
    fig.update_yaxes(title=_label(metric))
    return _layout(fig, title, metric)


def _auc(value: float | None, ci: Sequence[float] | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.3f}" + (f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else "")


#: The diagnostic report's columns: key -> heading.
DIAGNOSTIC_COLUMNS = {
    "real": "all 12 real leads",
    "input_only": "the input leads alone",
    "model": "inputs + generated (model)",
    "linear": "inputs + generated (linear)",
    "zero": "inputs + zeros",
}


def diagnostic_table(diagnostic: Mapping) -> pd.DataFrame:
    """The diagnostic fidelity table of ``diagnostic.json``: per input subset, the classifiers' macro-AUC
    (95 % interval) on real, input-only, reconstructed (model, linear) and zero-filled 12-lead ECGs.

    Empty when the file has no ``subsets``; a cell the file lacks is "—", never "None".

    >>> diagnostic_table({"subsets": {"I": {"real": 0.93, "model": 0.8}},
    ...                   "ci": {"I": {"model": {"macro": [0.79, 0.81]}}}}).iloc[0].tolist()
    ['I', '0.930', '—', '0.800 (0.790–0.810)', '—', '—']
    """
    subsets, ci = diagnostic.get("subsets") or {}, diagnostic.get("ci") or {}
    rows = []
    for subset, values in subsets.items():
        row = {"input leads": subset}
        for key, heading in DIAGNOSTIC_COLUMNS.items():
            row[heading] = _auc(values.get(key), (ci.get(subset, {}).get(key) or {}).get("macro"))
        rows.append(row)
    return pd.DataFrame(rows, columns=["input leads", *DIAGNOSTIC_COLUMNS.values()])


def headline_table(summary: Mapping, methods: Sequence[str] = ("model", "linear")) -> pd.DataFrame:
    """The report's headline per k (``evaluation.json``'s ``headline``, else ``by_k``): mean r and RMSE (µV)
    of ``methods`` side by side, one row per k; empty without a report.

    >>> headline_table({"by_k": [{"method": "model", "k": 1, "r": 0.66, "rmse_uv": 90.2},
    ...                          {"method": "linear", "k": 1, "r": 0.52, "rmse_uv": 104.0}]}).values.tolist()
    [[1.0, 0.66, 0.52, 90.2, 104.0]]
    """
    by_k = (summary.get("headline") or {}).get("by_k") or summary.get("by_k") or []
    table = pd.DataFrame([r for r in by_k if r.get("method") in methods])
    if not len(table):
        return pd.DataFrame()
    wide = table.pivot_table(index="k", columns="method", values=["r", "rmse_uv"])
    cols = {f"{m} {what}": wide[(key, m)] for key, what in (("r", "r"), ("rmse_uv", "RMSE µV"))
            for m in methods if (key, m) in wide}
    return pd.DataFrame(cols).reset_index()


def report_zip(reports: str | Path) -> bytes:
    """The full written reports (:data:`REPORT_FILES` that exist) and the PNG figures they link to, zipped
    flat so that the Markdown's relative image links work once unpacked."""
    reports = Path(reports)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in REPORT_FILES:
            path = reports / name
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            z.writestr(name, text)
            for png in sorted(reports.glob("*.png")):
                if f"]({png.name})" in text and png.name not in z.namelist():
                    z.write(png, png.name)
    return buf.getvalue()
