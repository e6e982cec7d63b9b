"""Evaluation: the 1…7-available-lead study (``l2g evaluate``) explored interactively, and the diagnostic
fidelity table (``bench/diagnostic.py``); the full written reports one click away."""

import streamlit as st

from dashboard.evaluation import load_reports
from l2g import paths, results
from l2g.leads import LEADS

st.title("Evaluation")
ev = load_reports(paths.reports_dir())
meta = ev.summary.get("meta") or {}

if ev.rows is None:
    st.info(f"The evaluation is not built yet (`reports/{results.ROWS_FILE}` is missing). Build it with "
            "`make evaluate` (`l2g evaluate --data ../shared/data --split test --out reports/`).")
else:
    st.caption(f"Held-out **{meta.get('split', 'test')}** records never seen in training ("
               f"{ev.rows['record_id'].nunique()} records from {ev.rows['source'].nunique()} sources in all). For each "
               "k = 1…7 the same lead subsets were given to each method; the other leads were generated and scored "
               "against the real ones (0.5 Hz high-pass of both). A record's value is the mean over its generated "
               "leads. Written by `l2g evaluate` (`make evaluate`).")
    methods_all = list(ev.rows["method"].cat.categories)
    top = st.columns([1, 2, 2, 1])
    metric = top[0].selectbox("Metric", list(results.METRICS), key="eval_metric",
                              format_func=lambda m: results.METRICS[m][0])
    methods = top[1].multiselect("Methods", methods_all, default=[m for m in ("model", "linear") if m in methods_all],
                                 key="eval_methods",
                                 help="model: the shipped L2G generator; linear: the least-squares baseline; "
                                      "previous: the generator shipped before it.") or methods_all
    record_set = top[2].selectbox("Records", list(results.RECORD_SETS), key="eval_records",
                                  help="PTB-XL-derived records are reported apart: the generator was trained on "
                                       "other PTB-XL records (docs/DATA.md).")
    records = ev.record_ids(results.RECORD_SETS[record_set])
    sources = sorted(results.select_rows(ev.rows, records=records)["source"].unique())
    source = top[3].selectbox("Source", ["all", *sources], key="eval_source")
    source = None if source == "all" else source

    row = st.columns([2, 2, 1])
    ks = [int(v) for v in sorted(ev.rows["k"].unique())]
    k = row[0].select_slider("k (available leads)", ks, value=ks[min(1, len(ks) - 1)], key="eval_k")
    at_k = results.select_rows(ev.rows, records=records, methods=methods, k=k, source=source)
    subset = row[1].selectbox(f"Available leads (subsets of k = {k})", ["all", *sorted(at_k["subset"].unique())],
                              key=f"eval_subset_{k}")
    subset = None if subset == "all" else subset
    lead = row[2].selectbox("Generated lead", ["all", *LEADS], key="eval_lead")
    lead = None if lead == "all" else lead

    chosen = results.select_rows(ev.rows, records=records, methods=methods, source=source, lead=lead)
    if not len(chosen):
        st.info("No rows for this choice (a lead is never generated when it is available).")
    else:
        st.plotly_chart(results.metric_vs_k_figure(results.per_record(chosen, metric), metric), key="eval_vs_k")
        where = f"k = {k}" + (f", inputs {subset}" if subset else "") + (f", {source}" if source else "")
        first = methods[0]
        by = "record_id" if subset else "subset"
        heat = results.lead_table(results.select_rows(at_k, methods=[first], subset=subset), metric, by=by)
        st.plotly_chart(results.lead_heatmap_figure(
            heat, metric, f"Per generated lead, {first}, {where}: " + ("per record" if subset else "per subset")),
            key="eval_heatmap")
        per_source = results.select_rows(ev.rows, records=records, methods=methods, k=k, subset=subset, lead=lead)
        title = f"Per data source, k = {k}" + (f", inputs {subset}" if subset else "")
        title += f", lead {lead}" if lead else ""
        st.plotly_chart(results.source_figure(results.per_record(per_source, metric, by=("method",)), metric, title),
                        key="eval_sources")

st.subheader("Does a generated lead keep the diagnosis?")
fidelity = results.diagnostic_table(ev.diagnostic)
if len(fidelity):
    st.caption(f"PTB-XL fold 10 ({ev.diagnostic.get('records_fold10', '—')} records, patient-wise held out): "
               "macro-AUC (95 % interval) of reference classifiers on the five superclasses when they read all 12 "
               "real leads, only the input leads, the inputs plus generated leads, or the inputs plus zeros. The "
               "closer the generated column is to *all 12 real leads*, the more of the diagnosis is kept.")
    st.dataframe(fidelity, hide_index=True, width="stretch")
else:
    st.info("The diagnostic fidelity table is not built yet (`reports/diagnostic.json`): `make diagnostic`.")

st.subheader("Full report")
if ev.written:
    st.download_button(f"Full report ({', '.join(ev.written)} and figures, .zip)", ev.report_zip(),
                       file_name="l2g_evaluation_report.zip", mime="application/zip", key="dl_eval_report",
                       on_click="ignore", icon=":material/download:",
                       help="Every table of the written reports (Markdown) with the figures they show.")
else:
    st.caption("No written report yet (`make evaluate`).")
