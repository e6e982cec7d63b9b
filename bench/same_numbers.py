"""Fingerprint of the numbers that resampling, filtering and delineation give on LUDB records.

A refactor of ``l2g.preprocess`` / ``l2g.morphology`` that should change no result is checked
by saving the fingerprint before it and comparing after it::

    nice -n 10 .venv/bin/python -m bench.same_numbers --save /tmp/before.json   # old code
    nice -n 10 .venv/bin/python -m bench.same_numbers --check /tmp/before.json  # new code

Per record (the first ``--limit`` LUDB records, 500 Hz), the SHA-256 of the bytes of:
:func:`l2g.preprocess.preprocess`, ``resample`` to 360 and 1000 Hz, ``remove_baseline``,
``notch`` and ``bandlimit``; lead II delineated by every method (``context=False``) and by
``"l2g"`` with the other leads (``context=True``); and lead II delineated at 360 and 1000 Hz
(the ``"l2g"`` method resamples to 500 Hz inside, which is the path that used its own
resampler). ``--check`` prints the keys that differ and exits 1 when any does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from l2g.io import read_record
from l2g.morphology import METHODS, POINTS, delineate_record
from l2g.preprocess import bandlimit, notch, preprocess, remove_baseline, resample

ROOT = Path(__file__).resolve().parents[1]


def _sha(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _delineation_sha(d) -> str:
    return _sha(d.signal, *(getattr(d, name) for name in POINTS))


def fingerprint(path: Path) -> dict[str, str]:
    """``{name: sha256}`` of every result listed in the module docstring, for one record."""
    rec = read_record(path.with_suffix(".hea"))
    out = {
        "preprocess": _sha(preprocess(rec).signal),
        "resample_360": _sha(resample(rec, 360).signal),
        "resample_1000": _sha(resample(rec, 1000).signal),
        "remove_baseline": _sha(remove_baseline(rec).signal),
        "notch_60": _sha(notch(rec, 60.0).signal),
        "bandlimit": _sha(bandlimit(rec, 0.5, 40.0).signal),
    }
    for method in METHODS:
        out[f"delineate_{method}"] = _delineation_sha(delineate_record(rec, "II", method, context=False))
    out["delineate_l2g_context"] = _delineation_sha(delineate_record(rec, "II", "l2g", context=True))
    for fs in (360, 1000):
        other = resample(rec, fs)
        out[f"delineate_l2g_{fs}"] = _delineation_sha(delineate_record(other, "II", "l2g", context=False))
        out[f"delineate_l2g_context_{fs}"] = _delineation_sha(delineate_record(other, "II", "l2g", context=True))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                    help="shared data directory holding ludb/data (default ../shared/data)")
    ap.add_argument("--limit", type=int, default=12, help="first N LUDB records (default 12)")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the fingerprint to this JSON file")
    group.add_argument("--check", type=Path, help="compare with a fingerprint saved by --save")
    args = ap.parse_args(argv)
    ludb = args.data / "ludb" / "data"
    if not ludb.is_dir():
        ap.error(f"{ludb} not found (pass --data)")
    records = sorted((p.with_suffix("") for p in ludb.glob("*.hea")), key=lambda p: int(p.name))[: args.limit]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        now = {p.name: fingerprint(p) for p in records}
    n = sum(len(v) for v in now.values())
    if args.save:
        args.save.write_text(json.dumps(now, indent=1) + "\n")
        print(f"saved {n} fingerprints of {len(records)} records to {args.save}")
        return 0
    before = json.loads(args.check.read_text())
    differ = [f"{rec}:{key}" for rec, keys in now.items() for key, h in keys.items()
              if before.get(rec, {}).get(key) != h]
    print(f"{n} fingerprints of {len(records)} records compared with {args.check}: "
          f"{n - len(differ)} identical, {len(differ)} differ")
    for name in differ:
        print("  differs:", name)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
