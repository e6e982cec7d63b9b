"""Safety: generated leads are never shown or written as recorded; weights; uploads; logs.

* Charts: generated leads in their own colour, legend entry and ``(gen)`` label.
* Exports: ``_l2g`` file names, ``L2G:`` lines (WFDB header, CSV comments) naming the generated
  leads and how they were made, ``<lead>_generated`` CSV columns.
* Weights: a corrupt, missing or code-carrying ``l2g.pt`` (in a temporary weights folder given by
  ``L2G_WEIGHTS_DIR``; ``weights/`` is never touched) gives a banner and the linear baseline, and
  no pickled code runs.
* Uploads: decoded in a private (0700) temporary folder that is gone once the record is read;
  nothing of the file reaches the log.
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
import torch
import wfdb
from streamlit.testing.v1 import AppTest

from dashboard import state
from l2g import io as l2gio
from l2g.leads import LEADS
from l2g.plots import COLORS
from l2g.reconstruction import file_sha256, load_reconstructor
from l2g.record import Diagnosis
from tests.ecg_factory import synthetic_record

from .app_helpers import app_with_weights, wfdb_files
from .weights import shipped

REPO = Path(__file__).resolve().parents[1]
PATIENT = "DOE_JANE_1956"  # a record name that must never reach a log
FINDING = "secret finding"  # nor a diagnosis


def patient_files(directory: Path, name: str = PATIENT) -> list[tuple[str, bytes, str]]:
    rec = synthetic_record(duration_s=10.0, seed=3, name=name, age=67, sex="F",
                           diagnoses=(Diagnosis("", FINDING, "text"),))
    return wfdb_files(rec, directory, name)


# ------------------------------------------------------------------ generated is never shown as recorded
def test_generated_leads_have_their_own_colour_legend_and_label(at: AppTest) -> None:
    at.checkbox(key="lead_V2").uncheck().run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    kinds = {}
    for t in spec["data"]:
        if t.get("name"):
            kinds.setdefault(t["name"], set()).add(t["line"]["color"])
    generated = [name for name in kinds if name.startswith("generated (")]
    assert generated and kinds["recorded (input)"] == {COLORS["recorded"]}
    assert all(kinds[name] == {COLORS["generated"]} for name in generated)
    assert COLORS["generated"] not in (COLORS["recorded"], COLORS["real"])
    shown = [t["name"] for t in spec["data"] if t.get("name") and t.get("showlegend", True)]
    assert "recorded (input)" in shown and any(n.startswith("generated (") for n in shown)
    labels = {a["text"]: a["font"]["color"] for a in spec["layout"]["annotations"] if "font" in a}
    v2 = next(text for text in labels if text.startswith("<b>V2 <i>(gen"))  # "(gen · B)" with its trust grade
    assert labels[v2] == COLORS["generated"] and labels["<b>V1</b>"] == COLORS["recorded"]
    foot = spec["layout"]["annotations"][-1]["text"]
    assert "generated from I, II, V1, V3, V5 by" in foot


def test_exports_mark_generated_leads_and_carry_provenance(at: AppTest, downloads, tmp_path: Path) -> None:
    at.checkbox(key="lead_V1").uncheck().run()
    assert not at.exception, at.exception
    assert {"demo_l2g.zip", "demo_l2g.csv"} <= set(downloads)  # file names say L2G
    with zipfile.ZipFile(io.BytesIO(downloads["demo_l2g.zip"])) as zf:
        zf.extractall(tmp_path)
    header = wfdb.rdheader(str(tmp_path / "demo"))
    generated = [lead for lead in LEADS if lead not in ("I", "II", "V3", "V5")]
    l2g_lines = [c for c in header.comments if c.startswith("L2G:")]
    status = next(c for c in l2g_lines if c.startswith("L2G: lead status:"))
    assert all(f"{lead}=generated" in status for lead in generated)
    assert all(f"{lead}=recorded" in status for lead in ("I", "II", "V3", "V5"))
    assert f"L2G: generated leads: {','.join(generated)} (not recorded)" in l2g_lines
    rc, _ = state.reconstructor("model")
    assert f"L2G: generated from: I,II,V3,V5 by {rc.method} {rc.version}" in l2g_lines
    lines = downloads["demo_l2g.csv"].decode().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert [c.removeprefix("# ") for c in comments[:3]] == l2g_lines  # the same provenance as the WFDB header
    assert any("not recordings" in c for c in comments)
    assert comments[-1] == "# L2G: de-identified by L2G-ECG"  # exports are de-identified by default
    columns = lines[len(comments)].split(",")
    assert [c for c in columns if c.endswith("_generated")] == [f"{lead}_generated" for lead in generated]
    assert {"I", "II", "V3", "V5"} <= set(columns)


# ------------------------------------------------------------------ weights
class _Payload:
    """Pickles to a call of ``open(marker, "w")``: code that runs on an unsafe ``torch.load``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def weights_folder(tmp_path: Path, case: str) -> Path:
    """A weights folder with the shipped linear baseline and a corrupt, missing or code-carrying l2g.pt."""
    folder = tmp_path / f"weights-{case}"
    folder.mkdir()
    shutil.copy(shipped("linear.pt"), folder / "linear.pt")
    sums = [f"{file_sha256(folder / 'linear.pt')}  linear.pt"]
    model = folder / "l2g.pt"
    if case == "corrupt":  # a valid-looking checkpoint, then one flipped byte: the checksum catches it
        torch.save({"state_dict": {"w": torch.zeros(64)}, "model_args": {}}, model)
        sums.append(f"{file_sha256(model)}  l2g.pt")
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
    elif case == "pickle":  # a user's own file (not in SHA256SUMS) that would run code if unpickled
        torch.save({"state_dict": _Payload(tmp_path / "pwned"), "model_args": {}}, model)
    elif case == "truncated":
        model.write_bytes(b"PK\x03\x04 not really a checkpoint")
    (folder / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return folder


def test_weights_are_never_unpickled_with_code(tmp_path: Path) -> None:
    folder = weights_folder(tmp_path, "pickle")
    marker = tmp_path / "pwned"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.load(folder / "l2g.pt", weights_only=False)  # the payload works when unpickled unsafely ...
    assert marker.exists()
    marker.unlink()
    with pytest.warns(UserWarning, match="falling back to the linear baseline"):
        rc = load_reconstructor(folder / "l2g.pt")  # ... and never runs here
    assert rc.method == "linear" and not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(folder / "l2g.pt", weights_only=True)


@pytest.mark.parametrize(("case", "why"), [
    ("corrupt", "checksum mismatch"),
    ("missing", "No such file"),
    ("pickle", "Weights only load failed"),
    ("truncated", "unusable"),
])
def test_unusable_weights_give_a_banner_and_the_linear_baseline(monkeypatch, tmp_path: Path, case: str,
                                                                 why: str) -> None:
    folder = weights_folder(tmp_path, case)
    with app_with_weights(monkeypatch, folder) as app:
        banners = [w.value for w in app.warning if "Model weights not available" in w.value]
        assert len(banners) == 1 and "linear baseline" in banners[0] and why in banners[0]
        assert "linear.pt@" in banners[0]
        spec = json.loads(app.get("plotly_chart")[0].proto.spec)
        assert "generated (linear)" in {t.get("name") for t in spec["data"]}  # reconstructed, by the baseline
        assert not app.error
        app.switch_page("pages/model.py").run()
        assert not app.exception
        assert any("linear baseline" in w.value and why in w.value for w in app.warning)
        assert not (tmp_path / "pwned").exists()


# ------------------------------------------------------------------ uploads and logs
def test_uploads_stay_in_a_private_temporary_folder_that_is_removed(at: AppTest, monkeypatch, tmp_path: Path,
                                                                   downloads) -> None:
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # every temporary file of this process goes here
    seen: list[tuple[Path, int, list[str]]] = []
    real = l2gio._read_path

    def spy(path: Path, **kwargs):
        seen.append((path, path.parent.stat().st_mode & 0o777, sorted(p.name for p in path.parent.iterdir())))
        return real(path, **kwargs)

    monkeypatch.setattr(l2gio, "_read_path", spy)
    at.file_uploader(key="upload").set_value(patient_files(tmp_path)).run()
    assert not at.exception, at.exception
    assert PATIENT in next(m.value for m in at.markdown if m.value.startswith("#### "))
    (path, mode, names), = seen
    assert private in path.parents and mode == 0o700 and names == [f"{PATIENT}.dat", f"{PATIENT}.hea"]
    assert f"{PATIENT}_l2g.zip" in downloads  # exports were made (in temporary folders too) ...
    assert list(private.iterdir()) == []  # ... and nothing is left on disk once the page is drawn


def test_nothing_of_an_upload_reaches_the_log(at: AppTest, monkeypatch, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, at every level (the server logs at INFO)
    at.file_uploader(key="upload").set_value(patient_files(tmp_path)).run()
    assert not at.exception
    assert PATIENT in next(m.value for m in at.markdown if m.value.startswith("#### "))

    def broken(path, **kwargs):
        raise RuntimeError(f"decoder crashed on {path.name}: {FINDING}")

    monkeypatch.setattr(l2gio, "_read_path", broken)  # an unexpected error while reading the next upload
    at.file_uploader(key="upload").set_value(patient_files(tmp_path / "2", PATIENT + "_2")).run()
    assert not at.exception
    assert len(at.error) == 1 and "RuntimeError" in at.error[0].value  # the user is told ...
    logged = [r for r in caplog.records if "RuntimeError" in r.getMessage()]
    assert logged  # ... the server log says that it happened ...
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert PATIENT not in text and FINDING not in text  # ... and nothing about the patient


def test_the_record_is_released_when_the_browser_disconnects(at: AppTest, tmp_path: Path, caplog) -> None:
    from streamlit.runtime import caching

    caplog.set_level(logging.INFO)
    at.file_uploader(key="upload").set_value(patient_files(tmp_path)).run()
    assert PATIENT in next(m.value for m in at.markdown if m.value.startswith("#### "))
    # what Streamlit does when a browser disconnects (AppSession.clear_session_caches); AppTest's session id
    caching.clear_session_resource_cache("test session id")
    assert any("its record was released" in r.getMessage() for r in caplog.records)
    at.run()  # the same session comes back (a reconnect): the record is gone, the page says why
    assert not at.exception, at.exception
    assert "demo" in next(m.value for m in at.markdown if m.value.startswith("#### "))
    assert any("record you had open was closed" in w.value for w in at.warning)
