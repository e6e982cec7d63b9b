"""Study set-up (coordinator): create a blinded reader study from a data folder, add readers, follow progress."""

from pathlib import Path

import streamlit as st

from dashboard import state
from dashboard import study as ds
from l2g.study import (
    DIAGNOSES,
    KIND_NAMES,
    KINDS,
    StudyConfig,
    StudyError,
    add_reader,
    create_study,
    list_studies,
    progress,
    settings_table,
)

st.title("Study set-up")
st.caption("A blinded reader study: can your readers tell generated leads from recorded ones, and do they reach "
           "the same diagnosis? Readers answer on the *Reader study* page; results on *Study analysis*. "
           "See docs/STUDY.md.")
ss = st.session_state
ss.setdefault("study_db", ds.db_url())
st.text_input("Study database (SQLite file or postgresql:// URL)", key="study_db")
try:
    eng = ds.engine()
except StudyError as exc:
    st.error(str(exc))
    st.stop()

studies = list_studies(eng)
overview = st.container()  # filled last, so its counts include what the forms below just changed

st.subheader("New study")
default_data = str(state.data_dir() or Path(__file__).resolve().parents[1] / "l2g" / "data" / "demo")
with st.form("study_new"):
    c1, c2 = st.columns(2)
    name = c1.text_input("Study name", value=f"study-{len(studies) + 1}", key="study_name")
    data = c2.text_input("Data folder", value=default_data, key="study_data")
    kinds = c1.multiselect("Trial types", list(KINDS), default=list(KINDS), key="study_kinds",
                           format_func=KIND_NAMES.get)
    subsets = c2.text_input("Available-lead subsets (';' between subsets)", value="I;I,II;I,II,V2",
                            key="study_subsets")
    trials = c1.number_input("Trials per type", min_value=1, max_value=1000, value=10, key="study_trials")
    seed = c2.text_input("Seed", value="l2g-study", key="study_seed")
    source = c1.text_input("Only source (optional)", key="study_source")
    diagnosis = c2.text_input("Only diagnosis containing (optional)", key="study_diagnosis")
    records = st.text_area("Only these record ids (one per line, optional)", key="study_records")
    method = c1.selectbox("Generator", ["model", "linear"], key="study_method")
    token = c2.checkbox("Require a token per reader", key="study_require_token")
    create = st.form_submit_button("Create study", type="primary")
if create:
    from l2g.study import parse_subsets

    try:
        cfg = StudyConfig(name=name.strip(), data=data.strip(), trials=int(trials), kinds=list(kinds),
                          subsets=parse_subsets(subsets),
                          filters={k: v.strip() for k, v in (("source", source), ("diagnosis", diagnosis))
                                   if v.strip()},
                          records=[r.strip() for r in records.splitlines() if r.strip()], seed=seed.strip(),
                          method=method, require_token=bool(token), diagnoses=list(DIAGNOSES))
        bar = st.progress(0.0, text="Rendering the trials…")
        made = create_study(eng, cfg, catalog=state.catalog(cfg.data) if Path(cfg.data).is_dir() else None,
                            reconstructor=state.reconstructor(method)[0],
                            progress=lambda done, total: bar.progress(done / total, text=f"trial {done} of {total}"))
        st.success(f"Study {made.name!r} created ({made.model_version}). Add readers below.")
        studies = list_studies(eng)
    except (StudyError, ValueError, OSError) as exc:
        st.error(str(exc))

if studies:
    st.subheader("Add a reader")
    with st.form("study_add_reader"):
        c1, c2, c3 = st.columns([2, 2, 1])
        target = c1.selectbox("Study", [s.name for s in studies], key="study_target")
        code = c2.text_input("Reader code (pseudonymous, e.g. R07)", key="study_reader_code")
        want_token = c3.checkbox("Give a token", key="study_give_token")
        add = st.form_submit_button("Add reader")
    if add:
        try:
            chosen = next(s for s in studies if s.name == target)
            tok = add_reader(eng, chosen, code, token=bool(want_token))
            st.success(f"Reader {code.strip()!r} added to {target!r}.")
            if tok:
                st.warning(f"Token for {code.strip()}: `{tok}` — shown once; only its hash is stored.")
        except StudyError as exc:
            st.error(str(exc))

studies = list_studies(eng)
if studies:
    with overview:
        st.subheader("Studies in this database")
        for s in studies:
            p = progress(eng, s)
            answered = int(p["answered"].sum()) if len(p) else 0
            with st.expander(f"{s.name} · model {s.model_version} · {len(p)} reader(s) · {answered} trial(s) "
                             "answered", expanded=True):
                left, right = st.columns([3, 2])
                settings = settings_table(s.config)
                left.dataframe(settings, hide_index=True, width="stretch", height=35 * (len(settings) + 1) + 3)
                if len(p):
                    right.dataframe(p.rename(columns={"answered": "trials answered", "total": "trials assigned",
                                                      "token": "token required"}), hide_index=True)
                else:
                    right.caption("No reader yet (*Add a reader* below).")
