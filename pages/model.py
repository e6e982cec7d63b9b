"""Model: a one-screen card (what it is, data, headline numbers, limits, intended use); the engineering
detail of ``weights/MODEL_CARD.md``, the loaded generator and the training curves folded below."""

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.evaluation import load_reports
from dashboard.text import sections
from l2g import paths, results
from l2g.plots import training_curves_figure

st.title("Model")
st.warning("**Intended use:** research and decision support — **not a medical device**. A generated lead is an "
           "estimate from the leads that could be placed, never a recording: it is drawn in blue, marked in "
           "every export, and must not be used on its own for diagnosis.", icon="⚕️")

try:
    rc, fallback = state.reconstructor("model")
except ValueError as exc:  # neither the generator nor the linear baseline can be loaded
    rc, fallback = None, str(exc)
    st.error(f"No generator available: {exc}")
if rc is None:
    pass
elif rc.method == "model":
    st.success(f"In use: the L2G generator `{rc.version}`.")
else:
    st.warning(f"Model weights not available — the linear baseline `{rc.version}` is in use. {fallback}")

ev = load_reports(paths.reports_dir())
headline = results.headline_table(ev.summary)
what, numbers = st.columns([4, 3])
with what:
    st.markdown(
        "**What it is.** A neural network (1-D U-Net) that estimates the missing leads of a 12-lead ECG from the "
        "1–7 leads that could be recorded. The recorded leads pass through unchanged; III, aVR, aVL and aVF follow "
        "from I and II by Einthoven's and Goldberger's laws. It refines a linear least-squares estimate (the "
        "baseline shown for comparison).\n\n"
        "**Data.** Trained on real 12-lead ECGs from public archives (Challenge 2020/2021 sources, LUDB, PTB, SPH, "
        "PTB-XL) and tested on held-out records never seen in training, from the same archives.\n\n"
        "**Limits.** From one lead, QRS amplitudes regress to the population average: do not read voltage criteria "
        "(hypertrophy, low voltage) or P waves from generated leads. Paced rhythms, rare morphologies and noisy "
        "recordings were scarce in training. Outputs are baseline-free (0.5 Hz high-pass).\n\n"
        "**Use it** to see what the absent leads probably looked like, read with the recorded leads and each "
        "generated lead's trust grade — never to make a diagnosis from a generated lead alone.")
with numbers:
    if len(headline):
        n = (ev.summary.get("headline") or {}).get("records") or (ev.summary.get("meta") or {}).get("records")
        st.markdown("**Headline numbers** — mean over held-out test records" + (f" ({n})" if n else "")
                    + " of the generated leads' agreement with the real ones, by the number k of recorded leads.")
        st.dataframe(headline, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.3f" if c.endswith(" r") else "%.0f")
                                    for c in headline.columns if c != "k"})
        st.caption("r: Pearson correlation (1 = identical shape); RMSE in µV. Details: the Evaluation page.")
    else:
        st.info("No evaluation report yet (`make evaluate`): the headline numbers appear here once it is built.")

st.subheader("Engineering detail")
try:
    weights, no_weights = paths.weights_dir(), ""
except paths.WeightsNotFoundError as exc:  # an installed l2g without weights/ and no L2G_WEIGHTS_DIR
    weights, no_weights = None, str(exc)
if rc is not None:
    with st.expander("The loaded generator"):
        st.markdown(f"`{rc.version}` ({rc.method}), model rate {rc.fs:g} Hz, window {rc.window} samples. Loaded "
                    f"once per server process and shared, read-only, by every session ({state.load_count()} load(s) "
                    f"in this process), from the weights folder `{weights.name if weights else '—'}`.")

card = weights / "MODEL_CARD.md" if weights is not None else None
if card is None:
    st.info(f"No model card: {no_weights}.")
elif card.is_file():
    for heading, body in sections(card.read_text(encoding="utf-8")):
        with st.expander(f"Model card — {heading or 'intended use'}"):
            st.markdown(body)
else:
    st.info("No model card yet (`MODEL_CARD.md` is missing from the weights folder): it is written with the "
            "shipped weights.")

logs = sorted(weights.glob("*.metrics.csv")) if weights is not None and weights.is_dir() else []
runs = paths.runs_dir()
if not logs:
    logs = sorted(runs.glob("*/*.metrics.csv")) if runs.is_dir() else []
    if logs:
        st.caption("No shipped training log in the weights folder; showing the training runs (in progress or "
                   "unreleased).")
    else:
        st.info("No training log (`*.metrics.csv` in the weights folder) yet.")
with st.expander("Training curves", expanded=False):
    for path in logs:
        try:
            history = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            st.error(f"Could not read {path.name}: {exc}")
            continue
        st.plotly_chart(training_curves_figure(history, title=path.name.removesuffix(".metrics.csv")),
                        key=f"curves_{path.name}")
        st.caption(f"{path.name}: {len(history)} epochs. Dashed: the linear baseline on the same validation "
                   "windows.")
