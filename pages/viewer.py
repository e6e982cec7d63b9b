"""ECG viewer: open a record, choose the leads that could be placed, see and export the full 12 leads.

A thin view: widgets -> l2g calls (cached in dashboard.state) -> Plotly figures from l2g.plots.
"""

from __future__ import annotations

import math
import re

import streamlit as st

from dashboard import chart, loading, state
from dashboard.cart import GENERATED_NOTE, interpretation_panel
from dashboard.measurements import measurements_panel
from dashboard.report import report_download
from dashboard.text import literal
from l2g.demo import demo_record
from l2g.export import ImageExportUnavailable, browser_path, figure_images, safe_name
from l2g.interpretation import page_lines
from l2g.io import MAX_UPLOAD_BYTES
from l2g.leads import LEADS, PRESETS
from l2g.metrics import scored_leads
from l2g.morphology import cart_intervals
from l2g.plots import DISPLAY_FILTERS, LAYOUTS, display_filter, ecg_figure, trace_leads, window_seconds
from l2g.record import ABSENT, GENERATED, RECORDED, Metadata
from l2g.report import cart_measurement_items
from l2g.uncertainty import CalibrationError, grade_legend

VIEWS = {"3×4 + rhythm": "3x4", "6×2": "6x2", "12×1": "12x1", "Single lead": "single"}
GRID = LAYOUTS["3x4"][0]  # the toggles sit like the 3x4 ECG page
# a lead the file lacks, or holds only as a generated trace, cannot be ticked (the summary says which)
LEAD_LABELS = {RECORDED: "{lead}", GENERATED: "{lead} (gen)", ABSENT: "{lead} (missing)"}
BAND_NAME = f"{state.BAND_LEVEL:.0%} confidence band".replace("%", " %")


def _lead_check_panel(table, faults: list[str], why: str) -> None:
    """Say whether the recorded leads look correctly placed (shown above the chart, before any lead is generated)."""
    if table is None:
        st.caption(f"Lead check not run: {why}.")
        return
    reasons = list(dict.fromkeys(r for r in table["reason"] if r))
    electrode = [f for f in faults if not f.startswith("bad ")]
    if electrode:
        st.error(f"**Lead check: electrode fault suspected ({', '.join(electrode)}).** {' '.join(reasons)}  \n"
                 "The generated leads are computed from these recordings and would be wrong too: check the "
                 "electrode placement (or the file's lead labels) before using them.", icon=":material/error:")
    elif faults:
        st.warning(f"**Lead check: {'; '.join(reasons)}.** Leads generated from it are less reliable; "
                   "untick it to generate it instead.", icon=":material/warning:")
    else:
        st.success(f"Lead check: the {len(table)} recorded leads agree with each other; no electrode reversal "
                   "or swap suspected.", icon=":material/check_circle:")
    if faults:
        with st.expander("Lead check details"):
            st.dataframe(table, key="lead_check_table", column_config={
                "r": st.column_config.NumberColumn(format="%.2f"),
                "rmse_uv": st.column_config.NumberColumn("RMSE (µV)", format="%.0f"),
                "z": st.column_config.NumberColumn("z (× expected)", format="%.1f")})
            st.caption("Each recorded lead vs its prediction from the other recorded leads (limb leads from the "
                       "chest leads), and each electrode fault tested by undoing it; see docs/DASHBOARD.md.")


def _clock(seconds: float) -> str:
    """h:mm:ss of a time in the record."""
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _cart_lines(meta: Metadata) -> list[str]:
    """Summary lines about the cart: device and acquisition time, its measurements, derived leads.

    Nothing about the patient's identity (the Record does not carry it).
    """
    lines = []
    when = (meta.acquired or "").replace("T", " ")
    if meta.device or when:
        lines.append(" · ".join(part for part in (f"Device **{literal(meta.device)}**" if meta.device else "",
                                                 f"acquired **{literal(when)}**" if when else "") if part))
    shown = cart_measurement_items(meta)  # the items the printable report's header shows too
    if shown:
        lines.append("**Cart measurements:** " + " · ".join(shown))
    if meta.derived:
        sources = sorted({lead for formula in meta.derived.values() for lead in re.findall(r"[A-Za-z]\w*", formula)
                          if lead in LEADS}, key=LEADS.index)
        lines.append(f"**Derived leads:** {', '.join(meta.derived)} computed from "
                     f"{' and '.join(sources) or 'the stored leads'} (not stored in the file; exact, not generated)")
    return lines


# ------------------------------------------------------------------ page
state.init_session(demo_record)
ss = st.session_state
rec = state.current_record()
digest = ss["record_digest"]

with st.sidebar:
    st.subheader("Open a record")
    st.file_uploader(
        "Upload ECG files", type=loading.upload_types(), accept_multiple_files=True, key="upload",
        on_change=loading.on_upload,
        help=f"Opens {loading.ACCEPTED}. Up to {MAX_UPLOAD_BYTES // 2**20} MB. The files added last are opened "
             "and replace the record shown (a WFDB .hea and its .dat may also be added one after the other).",
    )
    st.file_uploader(
        "Earlier ECG of this patient", type=loading.UPLOAD_TYPES, accept_multiple_files=True, key="prior_upload",
        on_change=loading.on_prior_upload,
        help="Optional: an earlier 12-lead ECG of the same patient (any format above, at least 8 s). The generated "
             "leads are then personalised on it (personalised mode) and it is drawn faded under each lead. "
             "Refused, with the reason, when its recorded leads do not match this record's (another patient, or a "
             "change in conduction since).",
    )
    if ss.get("prior_message"):
        level, text = ss["prior_message"]
        {"error": st.error, "info": st.caption}.get(level, st.warning)(text)
    st.number_input("CSV rate if it has no time column (Hz)", min_value=1.0, max_value=20000.0,
                    value=loading.DEFAULT_CSV_FS, step=50.0, key="csv_fs")
    folder_box = st.container()
    st.button("Open the demo record", key="open_demo", on_click=loading.open_demo, width="stretch")
    st.subheader("Display")
    filter_name = st.selectbox("Display filter", list(DISPLAY_FILTERS), key="filter",
                               help="Applied alike to every trace on the charts; exports are unfiltered.")
    show_band = st.toggle(f"Show confidence band ({state.BAND_LEVEL:.0%})".replace("%", " %"), value=True,
                          key="band", help="Light blue around each generated lead: where the real trace lies "
                                           f"{state.BAND_LEVEL:.0%} of the time (calibrated on held-out records; "
                                           "docs/MODEL.md). Not drawn in PNG/PDF exports unless asked there.")

st.header("12-lead viewer", anchor=False)
banner = st.container()  # filled once the generator is loaded (below), so the page shows before that
for text in (text for level, text in ss["load_messages"] if level == "error"):  # a refused file: first
    st.error(text)
interpretation_panel(rec)  # the cart's own reading, open and worst first, above the reader's notes
for level, text in ss["load_messages"]:
    if level != "error":
        (st.info if level == "info" else st.warning)(text)
lead_check_box = st.container()  # the lead check of the recorded leads, filled once the baseline is loaded

summary, selector = st.columns([2, 3], gap="medium")
with summary:  # what was opened
    counts = rec.status_counts()
    absent = [lead for lead in LEADS if rec.status_of(lead) == ABSENT]
    age = f"{rec.meta.age:g} y" if rec.meta.age is not None else "—"
    sex = {"M": "male", "F": "female"}.get(rec.meta.sex or "", "—")
    dx = "; ".join(d.label() for d in rec.meta.diagnoses) or "none stated"
    st.markdown(
        f"#### {rec.name}\n"
        f"{ss['record_origin']} · `{rec.source_format}`  \n"
        f"**{rec.fs:g} Hz** · **{rec.duration:.1f} s** · "
        f"**{counts[RECORDED]} of 12 leads** recorded"
        + (f", generated in the file: {', '.join(rec.generated_leads)}" if rec.generated_leads else "")
        + (f", missing: {', '.join(absent)}" if absent else "") + "  \n"
        f"Age **{age}** · sex **{sex}**  \n"
        + "".join(f"{line}  \n" for line in _cart_lines(rec.meta))
        + f"**Diagnoses:** {dx}"
    )
    view = st.segmented_control("Layout", list(VIEWS), key="layout", default="3×4 + rhythm", required=True)
    show_waves = st.toggle("P/QRS/T on- and offsets on Lead II", key="waves",
                           help="Delineation of the Lead II drawn (the generated one when II is unticked).")
with selector, st.container(border=True):  # which leads could be placed
    st.markdown("**Available leads** — tick the leads that could be placed; the others are generated.")
    st.selectbox("Preset", [state.CUSTOM, *PRESETS], key="preset", on_change=state.apply_preset,
                 label_visibility="collapsed")
    if ss.get("preset_note"):
        st.caption(ss["preset_note"])
    grid_cols = st.columns(4)
    for row in GRID:
        for col, lead in zip(grid_cols, row, strict=True):
            status = rec.status_of(lead)
            col.checkbox(LEAD_LABELS[status].format(lead=lead), key=state.lead_key(lead),
                         disabled=status != RECORDED, on_change=state.mark_custom)
available = state.selection()

controls = st.container()  # segment / lead / window pickers of the chart
# a long record is computed and shown one segment of at most state.MAX_INTERACTIVE_S at a time
bounds = rec.segment_bounds(state.MAX_INTERACTIVE_S)
n_segments = len(bounds)
if n_segments > 1:
    seg_cols = controls.columns([2, 3])
    seg_labels = ["{} – {}".format(*(_clock(t) for t in bounds[i])) for i in range(n_segments)]
    k = seg_cols[0].selectbox(
        f"Segment ({state.MAX_INTERACTIVE_S / 60:g} min)", range(n_segments), key="segment",
        format_func=seg_labels.__getitem__,
        help="Reconstruction, agreement, morphology and exports cover this segment; "
             "the whole record: `l2g reconstruct` on the command line.")
    part, part_digest = state.segment(rec, digest, k)
    seg_start, seg_stop = bounds[k]
    seg_cols[1].caption(f"Long record ({_clock(rec.duration)}): shown in {n_segments} segments of "
                        f"{state.MAX_INTERACTIVE_S / 60:g} min. Chart times count from the segment start "
                        f"({_clock(seg_start)}).")
else:
    part, part_digest, seg_start, seg_stop = rec, digest, 0.0, rec.duration
speed, gain, caliper_on = chart.scale_controls(st.container())  # paper speed, gain, calipers
width_px = chart.chart_width()  # the main column's width, measured in the browser
chart_slot = st.empty()
if not state.model_ready("model"):  # first visit after the server started: show the recording while torch loads
    preview, preview_label = display_filter(part, filter_name)
    chart_slot.plotly_chart(ecg_figure(preview, filter_label=preview_label, width_px=width_px, speed=speed, gain=gain),
                            theme=None, key="ecg_preview", config={"displaylogo": False})

# reconstruction
try:
    rc, fallback = state.reconstructor("model")
except ValueError as exc:  # neither the generator nor the linear baseline can be loaded
    rc, fallback = None, str(exc)
    banner.error(f"**No generator available** ({exc}). The recording is shown; no lead can be generated.")
if rc is not None:  # the recorded leads are checked before any lead is generated from them
    with lead_check_box:
        _lead_check_panel(*state.lead_check(part_digest, part))
if rc is not None and rc.method != "model":
    banner.warning(f"**Model weights not available:** the generated leads come from the **linear baseline** "
                   f"(`{rc.version}`); see the Model page." + (f"  \n{fallback}" if fallback else ""), icon="⚠️")
if available and rc is not None:
    from l2g.reconstruction import RecordTooShort  # here, not at the top: torch is loaded by now

    try:
        try:
            output = state.reconstruction(part, part_digest, available, "model")
        except CalibrationError as exc:  # no interval.json, or one fitted for another generator: no band, no grades
            output = state.reconstruction(part, part_digest, available, "model", interval=None)
            st.info(f"No confidence band or trust grade: {str(exc).rstrip('.')}.")
        generated = output.generated_leads
    except RecordTooShort as exc:  # under one beat: one message, the recording is shown
        output, generated = part, ()
        st.error(f"**Too short to reconstruct:** {str(exc).rstrip('.')}. Showing the recording.")
else:
    output, generated = part, ()
    if not available:
        st.info("No lead is ticked: tick at least one available lead to generate the others. "
                "Showing the recording.")
if "prior_message" not in ss:  # a new session: no earlier ECG yet (the store may outlive a test's session)
    state.set_prior(None)
prior, prior_digest = state.current_prior() or (None, None)
view_digest = part_digest  # the cache key of everything drawn from `output`: personalised results apart
personal_mode = False
if prior is not None and generated:
    from l2g.personal import PriorError

    try:
        personal = state.personal_reconstruction(part, part_digest, prior, prior_digest, tuple(available))
    except PriorError as exc:
        st.error(f"**Earlier ECG not used:** {str(exc).rstrip('.')}.")
    else:
        if personal.meta.provenance.prior is not None:
            output, personal_mode = personal, True
            view_digest = f"{part_digest}+{prior_digest}"
            band_note = ("Band and trust grades are those calibrated for this mode on PTB-XL same-patient pairs "
                         "(`weights/personal_interval.json`, reports/personal.md)." if personal.interval is not None
                         else "No confidence band or trust grade: "
                         f"{state.personal_band_missing(tuple(available)) or 'none could be computed'}.")
            st.info(f"**Personalised mode:** the generated leads are corrected on the {personal.meta.provenance.prior}"
                    f" (drawn faded under each lead). {band_note}")
        else:
            st.warning(f"**Generic mode:** {personal.meta.provenance.note}.")
compare_linear = False
if generated and rc.method == "model":
    compare_linear = st.sidebar.checkbox("Overlay the linear baseline", key="compare_linear",
                                         help="Dashed orange: the linear baseline's version of each generated lead.")
baseline = state.reconstruction(part, part_digest, available, "linear", interval=None) if compare_linear else None

# chart
layout = VIEWS[view]
start = 0.0
window_s = window_seconds(speed)  # 10 s at 25 mm/s, 5 s at 50
if layout == "single" or part.duration > window_s:
    view_cols = controls.columns(3)
    if layout == "single":
        present = [lead for lead in LEADS if output.status_of(lead) != ABSENT]
        single = view_cols[0].selectbox("Lead", present, index=present.index("II") if "II" in present else 0,
                                        key="single_lead")
        layout = [[single]]
    if part.duration > window_s:
        # the last start on the 0.5-s steps; at least one step (a cart's 10.5-s record has max 0.5, not 0)
        last_start = max(0.5, math.floor((part.duration - window_s) * 2.0) / 2.0)
        start = view_cols[1].slider("Window start (s)", 0.0, last_start, 0.0, step=0.5, key="t0")
trust = state.trust(view_digest, available, "model", output) if generated and output.interval is not None else None
grades = dict(zip(trust.index, trust["grade"], strict=True)) if trust is not None else {}
# the grades in words, with the grade-A rule in force for this reconstruction (or why there is none)
grade_note = grade_legend(trust.attrs.get("grade_rule") if trust is not None else None)
shown, filter_label = display_filter(output, filter_name)
reference = display_filter(part, filter_name)[0] if generated else None
baseline_shown = display_filter(baseline, filter_name)[0] if baseline is not None else None
waves = (state.wave_times(view_digest, available, "model", output)
         if show_waves and "II" in output.present_leads else None)
earlier_shown = display_filter(prior, filter_name)[0] if personal_mode else None
legs = chart.calipers(part_digest)
fig = ecg_figure(shown, layout=layout, reference=reference, baseline=baseline_shown, start_s=start, waves=waves,
                 filter_label=filter_label, width_px=width_px, band=show_band, band_name=BAND_NAME,
                 grades=grades, speed=speed, gain=gain, calipers=legs, click_targets=caliper_on, earlier=earlier_shown,
                 title=f"Personalised mode: corrected on the {output.meta.provenance.prior}" if personal_mode else None)
chart.remember_traces(trace_leads(fig))  # what a click on the chart refers to
chart_slot.plotly_chart(fig, theme=None, key=chart.CHART_KEY, config={"displaylogo": False, "scrollZoom": False},
                        **(dict(on_select=chart.on_chart_select, selection_mode="points") if caliper_on else {}))
if caliper_on:
    chart.caliper_panel(legs)
if generated:
    st.caption(f"Generated ({output.meta.provenance.method}, solid blue): {', '.join(generated)}. "
               "Dotted grey under a generated lead: the real recording, hidden from the generator."
               + (f" Light blue: the {BAND_NAME}." if show_band and output.interval is not None else "")
               + f" Trust grade after “gen ·”: {grade_note}."
               + (f" {GENERATED_NOTE}" if rec.meta.interpretation else ""))
    if trust is not None:  # exactly the generated leads not graded A: one decision, l2g.uncertainty.st_decisions
        unsure = trust[~trust["st_decisions"]]
        if len(unsure):
            st.warning("**Too uncertain for ST decisions:** " + ", ".join(
                f"{lead} (grade {row.grade}: predicted RMSE {row.predicted_rmse_uv:.0f} µV, band at ST "
                + (f"±{row.st_halfwidth_mv:.3f} mV)" if math.isfinite(row.st_halfwidth_mv) else "not measured)")
                for lead, row in unsure.iterrows())
                + ". Do not read ST elevation or depression in these generated leads; place more leads, nearer to "
                f"them, to narrow the band. Grade A (ST decisions possible): {trust.attrs.get('grade_rule', '')}.",
                icon=":material/warning:")

    if output.meta.provenance is not None and output.meta.provenance.method == "model":
        # the trust panel: what the diagnostic evaluation found this lead set can and cannot show
        found = state.diagnostic_findings(tuple(available), output.meta.provenance.model_version)
        if personal_mode:  # the findings were measured on the generic reconstruction (reports/personal.md: this mode)
            found = ["Measured on the generic reconstruction, without an earlier ECG; personalised results are "
                     "evaluated apart (reports/personal.md)."] + list(found)
        st.info("**What the evaluation found for these leads** — " + "  \n".join(found), icon=":material/fact_check:")

# agreement and morphology
compared = scored_leads(part, output, available) if available else ()
left, right = st.columns(2)
with left:
    st.subheader("Agreement with the real leads")
    if compared:
        table = state.agreement(view_digest, available, "model", compare_linear, part, output, baseline)
        if trust is not None:  # the trust grade beside the measured agreement
            table.insert(0, "Grade", trust["grade"].reindex(table.index))
            table.insert(1, "Predicted RMSE (µV)", trust["predicted_rmse_uv"].reindex(table.index))
        st.dataframe(table, key="agreement_table", column_config={
            c: st.column_config.NumberColumn(format="%.3f" if "RMSE" not in c else "%.0f")
            for c in table.columns if c != "Grade"})
        st.caption("Generated leads only, after a 0.5 Hz high-pass of both traces. r: Pearson correlation; "
                   "RMSE in µV; SSIM over 100-ms windows (see docs/METRICS.md). Grade and predicted RMSE: "
                   f"what the model expects without seeing the real lead ({grade_note}).")
    elif trust is not None and len(trust):
        st.dataframe(trust[["grade", "predicted_rmse_uv", "band_halfwidth_uv", "meaning"]], key="trust_table",
                     column_config={"grade": "Grade",
                                    "predicted_rmse_uv": st.column_config.NumberColumn("Predicted RMSE (µV)",
                                                                                        format="%.0f"),
                                    "band_halfwidth_uv": st.column_config.NumberColumn("Band ± (µV)", format="%.0f"),
                                    "meaning": "Use"})
        st.caption("Nothing to compare: no generated lead has a real trace in this file. Above, the trust grade "
                   f"of each generated lead: what the model expects ({grade_note}). Band ±: mean half-width of "
                   f"the {BAND_NAME}.")
    else:
        st.caption("Nothing to compare: no generated lead has a real trace in this file. "
                   "Untick leads that the file holds to see how well they are generated.")
with right:
    st.subheader("Lead II morphology")
    cart = cart_intervals(rec.meta)  # the cart's own measurements, when the file has them
    cart_note = (" cart: the cart's own measurements, over all its leads (its QTc formula may differ "
                 "from Bazett's; HR from its RR when it states no rate)." if cart else "")
    if "II" in compared:
        morph = state.morphology(view_digest, available, "model", part, output)
        if morph is None:
            st.info("Morphology is not available (l2g.morphology is not installed).")
        else:
            flagged = morph[morph["flag"]].index.tolist()
            numbers = ["real", "generated", *(["cart"] if cart else []), "difference", "tolerance"]
            view_table = morph.assign(cart=morph["key"].map(cart))[[*numbers, "flag"]]
            st.dataframe(view_table.style.format("{:.3g}", subset=numbers, na_rep="—")
                         .apply(lambda r: ["background-color: #fde2e2" if r["flag"] else "" for _ in r], axis=1),
                         key="morphology_table")
            st.caption("Real vs generated Lead II (medians over beats). Flagged: |difference| beyond the tolerance"
                       + (f" — {', '.join(flagged)}." if flagged else "; none flagged.") + cart_note)
    elif rec.status_of("II") != RECORDED:
        st.caption("The file has no real Lead II: nothing to compare the generated one with.")
    else:
        if cart and "II" in part.recorded_leads:  # the recorded Lead II beside the cart's measurements
            morph = state.morphology(part_digest, available, "recorded", part, part)
            if morph is not None:
                numbers = ["real", "cart"]
                st.dataframe(morph.assign(cart=morph["key"].map(cart))[numbers]
                             .style.format("{:.3g}", na_rep="—"), key="morphology_table")
                st.caption("real: the recorded Lead II (medians over beats)." + cart_note)
        st.caption("Lead II is given to the generator, so its features are the real ones. "
                   "Untick II to compare real and generated Lead-II intervals.")

# whole-ECG measurements from the recorded leads, beside the cart's own
measurements_panel(output, rec.meta, view_digest, tuple(available), "model")

# export
st.subheader("Export")
# on by default: exports are made to be shared, and a shared file should not carry the patient's identity
deidentify = st.checkbox("De-identify exports", value=True, key="deidentify",
                         help="WFDB, CSV and DICOM downloads without the patient's name, identifiers and birth "
                              "date; age and sex are kept.")
files = state.export_files(view_digest, available, "model", deidentify, output)
stem = (safe_name(rec.name) + (f"_{seg_start:.0f}-{seg_stop:.0f}s" if n_segments > 1 else "")
        + ("_l2g" if generated else ""))
ex = st.columns(5)
ex[0].download_button("WFDB (.zip: .hea + .dat)", files["wfdb"], file_name=f"{stem}.zip", mime="application/zip",
                      key="dl_wfdb", on_click="ignore", icon=":material/download:")
ex[1].download_button("CSV", files["csv"], file_name=f"{stem}.csv", mime="text/csv", key="dl_csv",
                      on_click="ignore", icon=":material/download:")
if isinstance(files["dicom"], bytes):
    ex[2].download_button("DICOM (.dcm)", files["dicom"], file_name=f"{stem}.dcm", mime="application/dicom",
                          key="dl_dicom", on_click="ignore", icon=":material/download:")
else:  # e.g. a rate outside DICOM's 200-1000 Hz
    ex[2].caption(f"No DICOM export: {files['dicom']}.")
band_in_images = ex[4].checkbox("Band in PNG / report", value=False, key="band_in_images",
                                help=f"Draw the {BAND_NAME} in the exported chart image and the printable report "
                                     "too (off by default: a printed chart is read without the toggle beside it).")
image_key = (view_digest, available, filter_name, compare_linear, start, band_in_images)
images = ss.get("images")
if browser_path() is None:
    ex[3].info("PNG export needs the Chromium browser (Debian package `chromium`); it is not installed here.")
elif images is not None and images[0] == image_key and isinstance(images[1], dict):
    ex[3].download_button("12-lead chart (PNG)", images[1]["png"], file_name=f"{stem}.png", mime="image/png",
                          key="dl_png", on_click="ignore", icon=":material/image:")
elif ex[3].button("Make PNG", key="render_images", icon=":material/image:",
                  help="The 3×4 + rhythm chart with the current leads and filter as an image (not to scale: for "
                       "paper, the printable report below prints at true 25 mm/s and 10 mm/mV)."):
    page = ecg_figure(shown, layout="3x4", reference=reference, baseline=baseline_shown, start_s=start,
                      filter_label=filter_label, title=f"{rec.name} — generated leads in blue (L2G-ECG)",
                      band=band_in_images, band_name=BAND_NAME, grades=grades,
                      notes=page_lines(output))  # the cart's statements, labelled as its reading of the recording
    try:
        with st.spinner("Rendering with kaleido…"):
            ss["images"] = (image_key, figure_images(page, ("png",)))
    except ImageExportUnavailable as exc:
        ss["images"] = (image_key, str(exc))
    st.rerun()
if images is not None and images[0] == image_key and isinstance(images[1], str):
    st.info(images[1])
report_download(output, file_name=f"{stem}_report.pdf", start_s=start, band=band_in_images, deidentify=deidentify,
                display_filter=filter_name, trust=trust, model=rc)
st.caption("Exports hold the reconstructed 12-lead record" + (" (this segment)" if n_segments > 1 else "")
           + ": generated leads are marked in the WFDB header (`L2G: lead status`, `L2G: generated from`), "
           "in the CSV (`# L2G:` lines, columns named `<lead>_generated`) and in the DICOM channel labels "
           "(`<lead> (GENERATED)`) and annotations; file names end in `_l2g`. "
           + (f"The {BAND_NAME} goes beside the signal, never into it: the WFDB zip holds the companion record "
              "`<name>_band` (`<lead>_low`, `<lead>_high`), the CSV two extra columns per generated lead "
              "(`<lead>_low`, `<lead>_high`); DICOM holds the signal only.  \n" if output.interval is not None
              else " \n")
           + ("**De-identified:** no patient name, identifiers or birth date (age and sex kept); the WFDB header "
              "and CSV say `de-identified by L2G-ECG`, the DICOM file has PatientIdentityRemoved YES and new UIDs. "
              "The record and file names come from the opened file's name and are kept: rename a file whose "
              "name identifies the patient." if deidentify else
              "**Not de-identified:** a patient name, identifier or birth date that the opened file holds is "
              "written to the WFDB header and the DICOM file."))

# data folder (last, so a first scan never delays the chart)
root = state.data_dir()
with folder_box:
    if root is None:
        st.caption("Data folder: none. Start with `streamlit run app.py -- --data-dir DIR` "
                   "or set `L2G_DATA_DIR` to browse a folder of records.")
    elif not root.is_dir():
        st.error(f"Data folder {root} does not exist.")
    else:
        with st.expander(f"Data folder · {root.name}", expanded=True):
            records = state.catalog(str(root))
            query = st.text_input("Search", key="folder_query", placeholder="id, source or diagnosis")
            hits = records
            if query:
                text = records["record_id"] + " " + records["source"] + " " + records["diagnoses"].fillna("")
                hits = records[text.str.contains(query, case=False, regex=False)]
            st.dataframe(hits[["record_id", "source", "duration_s", "diagnoses"]], hide_index=True, height=180,
                         column_config={"duration_s": st.column_config.NumberColumn("s", format="%.0f")})
            if len(hits):
                ids = hits["record_id"].tolist()
                label = dict(zip(ids, (hits["record_id"] + " · " + hits["source"] + " · "
                                       + hits["duration_s"].round().astype(int).astype(str) + " s · "
                                       + hits["diagnoses"].fillna("").str.slice(0, 60)), strict=True))
                choice = st.selectbox(f"Record ({len(hits)} of {len(records)})", ids, key="folder_choice",
                                      format_func=label.get)
                path = hits.loc[hits["record_id"] == choice, "path"].iloc[0]
                st.button("Open this record", key="open_folder", on_click=loading.open_folder_record,
                          args=(path, choice), type="primary")
            else:
                st.caption("No record matches.")

# The widget callbacks above keep this script's globals alive for as long as Streamlit keeps the
# session, which outlives the browser (server.disconnectedSessionTTL and later): drop the name of the
# whole record, so that dashboard.state's release on disconnect frees it (a 24-h record is 2.1 GB).
del rec
