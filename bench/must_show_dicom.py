"""Issue #13's must-show: a reconstruction exported as DICOM, re-read by pydicom with the generated leads marked.

Run from the repository root (needs ../shared/clinical):

    python -m bench.must_show_dicom > reports/must_show_dicom_export.txt

Reconstructs the shared DICOM file from I, II, V2 through the real command line (``--format dicom
--deidentify``), then re-reads the written file with pydicom and with ``l2g.read_record``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SOURCE = "../shared/clinical/dicom/waveform_ecg.dcm"


def main() -> None:
    import pydicom

    import l2g

    with tempfile.TemporaryDirectory() as out:
        cmd = ["reconstruct", SOURCE, "--available", "I,II,V2", "--out", out, "--format", "dicom", "--deidentify"]
        print("$ l2g " + " ".join(cmd).replace(out, "/tmp/ms"))
        done = subprocess.run([sys.executable, "-m", "l2g", *cmd], cwd=REPO, capture_output=True, text=True)
        print((done.stderr + done.stdout).replace(out, "/tmp/ms"), end="")
        if done.returncode:
            raise SystemExit(done.returncode)
        print("$ python - (pydicom re-read)")
        path = next(Path(out).glob("*.dcm"))
        ds = pydicom.dcmread(path)
        print("file", path.name, "SOP class", ds.SOPClassUID, f"({ds.SOPClassUID.name})")
        print("PatientIdentityRemoved", ds.PatientIdentityRemoved, "| PatientName",
              repr(str(ds.get("PatientName", ""))), "| PatientID", repr(ds.get("PatientID", "")), "| PatientAge",
              ds.get("PatientAge"))
        g = ds.WaveformSequence[0]
        print("group", g.MultiplexGroupLabel, "| originality", g.WaveformOriginality, "|",
              g.NumberOfWaveformChannels, "channels x", g.NumberOfWaveformSamples, "samples at",
              g.SamplingFrequency, "Hz")
        print("channel labels:", [c.ChannelLabel for c in g.ChannelDefinitionSequence])
        for a in ds.WaveformAnnotationSequence:
            if "UnformattedTextValue" in a and str(a.UnformattedTextValue).startswith("L2G"):
                print("annotation:", a.UnformattedTextValue)
        print("pydicom waveform_array", ds.waveform_array(0).shape)
        back = l2g.read_record(path)
        print("read_record:", back, "| generated:", back.generated_leads, "|", back.meta.provenance)
        orig = l2g.read_record(REPO / SOURCE)
        for lead in ("I", "II", "V2"):
            diff = float(np.abs(back.lead(lead) - orig.lead(lead)).max() * 1000)
            print(lead, "recorded max |diff| vs original (uV):", round(diff, 3))


if __name__ == "__main__":
    main()
