"""Model: the model card, the training curves and the intended use."""

import pandas as pd
import streamlit as st

from dashboard import state
from l2g import paths
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
    st.success(f"In use: the L2G generator `{rc.version}` (model rate {rc.fs:g} Hz, window {rc.window} samples).")
else:
    st.warning(f"Model weights not available — the linear baseline `{rc.version}` is in use. {fallback}")
try:
    weights, no_weights = paths.weights_dir(), ""
except paths.WeightsNotFoundError as exc:  # an installed l2g without weights/ and no L2G_WEIGHTS_DIR
    weights, no_weights = None, str(exc)
if rc is not None:
    st.caption(f"Loaded once per server process and shared, read-only, by every session "
               f"({state.load_count()} load(s) in this process); weights folder `{weights}`.")

card = weights / "MODEL_CARD.md" if weights is not None else None
st.subheader("Model card")
if card is None:
    st.info(f"No model card: {no_weights}.")
elif card.is_file():
    st.markdown(card.read_text(encoding="utf-8"))
else:
    st.info(f"No model card yet ({card} is missing): it is written with the shipped weights.")

st.subheader("Training curves")
logs = sorted(weights.glob("*.metrics.csv")) if weights is not None and weights.is_dir() else []
runs = paths.runs_dir()
if not logs:
    logs = sorted(runs.glob("*/*.metrics.csv")) if runs.is_dir() else []
    if logs:
        st.caption(f"No shipped training log in {weights}; showing the runs in {runs} (in progress or unreleased).")
    else:
        st.info(f"No training log ({weights}/*.metrics.csv) yet.")
for path in logs:
    try:
        history = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        st.error(f"Could not read {path.name}: {exc}")
        continue
    st.plotly_chart(training_curves_figure(history, title=path.name.removesuffix(".metrics.csv")),
                    key=f"curves_{path.name}")
    st.caption(f"{path.name}: {len(history)} epochs. Dashed: the linear baseline on the same validation windows.")
