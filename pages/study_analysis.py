"""Study analysis: accuracy with Wilson intervals and binomial tests, kappas, times, plots and CSV export."""

import plotly.graph_objects as go
import streamlit as st

from dashboard import study as ds
from l2g.study import StudyError, list_studies, study_report
from l2g.study.cli import EXPORT_COLUMNS

st.title("Study analysis")
try:
    eng = ds.engine()
except StudyError as exc:
    st.error(str(exc))
    st.stop()
names = [s.name for s in list_studies(eng)]
if not names:
    st.info("No study in this database yet (*Study set-up*).")
    st.stop()
name = st.selectbox("Study", names, index=len(names) - 1, key="study_analysis_pick")
study = next(s for s in list_studies(eng) if s.name == name)
rep = study_report(eng, study)
st.caption(f"Model {rep.model_version} · {len(rep.answers)} trials answered. *Trials*: pages answered; *decisions*: "
           "what is scored — one per pick trial, one per lead that could have been generated on a real-or-generated "
           "page. Accuracy = share of correct decisions (chance 1/2: near 1/2 means generated leads could not be "
           "told from recorded ones), Wilson 95 % interval (ci_low–ci_high), exact two-sided binomial test against "
           "chance (p_vs_chance). \"–\": not defined, the *note* column says why.")
if rep.answers.empty:
    st.info("No answers yet.")
    st.stop()


def accuracy_chart(df, x: str, title: str) -> go.Figure:
    fig = go.Figure()
    for kind, g in df.groupby("kind", sort=False):
        fig.add_trace(go.Bar(x=g[x].astype(str), y=g["accuracy"], name=kind,
                             error_y=dict(type="data", symmetric=False, array=g["ci_high"] - g["accuracy"],
                                          arrayminus=g["accuracy"] - g["ci_low"]),
                             hovertemplate="%{x}: %{y:.2f}<extra>" + kind + "</extra>"))
    fig.add_hline(y=0.5, line_dash="dot", annotation_text="chance")
    fig.update_layout(title=title, yaxis=dict(range=[0, 1], title="accuracy"), barmode="group", height=340,
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig


st.subheader("Accuracy per trial type")
st.dataframe(rep.readable("by_kind"), hide_index=True)
c1, c2 = st.columns(2)
c1.plotly_chart(accuracy_chart(rep.by_reader, "reader", "per reader"), key="study_chart_reader")
c2.plotly_chart(accuracy_chart(rep.by_k, "k", "per number of available leads (k)"), key="study_chart_k")
st.plotly_chart(accuracy_chart(rep.by_lead, "lead", "per lead"), key="study_chart_lead")
with st.expander("Tables: per reader, per lead, per k"):
    st.dataframe(rep.readable("by_reader"), hide_index=True)
    st.dataframe(rep.readable("by_lead"), hide_index=True)
    st.dataframe(rep.readable("by_k"), hide_index=True)
st.subheader("Inter-reader agreement (Fleiss' κ)")
st.dataframe(rep.readable("fleiss"), hide_index=True)
st.subheader("Diagnosis: recorded vs reconstructed page (Cohen's κ per reader)")
st.dataframe(rep.readable("cohen"), hide_index=True)
st.subheader("Seconds per trial (from first display to answer)")
st.dataframe(rep.readable("times"), hide_index=True)
c1, c2 = st.columns(2)
c1.download_button("Answers (CSV)", rep.answers[EXPORT_COLUMNS].to_csv(index=False).encode(),
                   file_name=f"{study.name}_answers.csv", mime="text/csv", key="study_csv")
c2.download_button("Report (Markdown)", rep.to_markdown().encode(), file_name=f"{study.name}_report.md",
                   mime="text/markdown", key="study_md")
