"""One format registry (issue #26, item 3): each reader module declares ``READER``; every list derives from it.

A fake reader registered at run time shows up in the dispatcher, the catalogue's suffixes and walk, the
uploader's file types, the CLI help and the docs' table, and ``read_record`` reads its file: a new
format is one module plus one test.
"""

from __future__ import annotations

import importlib
import typing
from pathlib import Path

import numpy as np
import pytest

from l2g import catalog
from l2g.cli import build_parser
from l2g.io import (
    FORMATS,
    RawECG,
    Reader,
    read_record,
    reader,
    readers,
    register,
    sniff_format,
    unregister,
    write_csv,
    write_wfdb,
)
from l2g.io._registry import READER_MODULES, formats_table, upload_suffixes

from .ecg_factory import synthetic_record

REPO = Path(__file__).resolve().parents[1]
MAGIC = b"FAKEECG1"


def _sniff(head: bytes, path: Path) -> bool:
    return head.startswith(MAGIC)


def _read(path: Path) -> RawECG:
    x = np.frombuffer(path.read_bytes()[len(MAGIC):], dtype="<f4").reshape(2, -1).astype(np.float64)
    return RawECG(leads={"I": x[0], "II": x[1]}, fs=250.0, fmt="Fake ECG", age=50.0)


FAKE = Reader(name="fake", kind="Fake ECG", suffixes=(".fke",), sniff=_sniff, read=_read, cart=True)


@pytest.fixture
def fake():
    register(FAKE)
    try:
        yield FAKE
    finally:
        unregister(FAKE.name)


def _fake_file(path: Path) -> Path:
    t = np.arange(1000) / 250.0
    x = np.stack([np.sin(2 * np.pi * t), 0.5 * np.cos(2 * np.pi * t)]).astype("<f4")
    path.write_bytes(MAGIC + x.tobytes())
    return path


def test_every_reader_module_declares_its_reader() -> None:
    names = [r.name for r in readers()]
    assert len(names) == len(READER_MODULES) == len(set(names))
    for module in READER_MODULES:
        declared = importlib.import_module(f"l2g.io.{module}").READER
        assert isinstance(declared, Reader) and declared.suffixes and declared.kind
        assert all(s.startswith(".") and s == s.lower() for s in declared.all_suffixes)
        if declared.read is None:  # the zip: a container that opens the record inside
            assert declared.open is not None
        else:
            assert typing.get_type_hints(declared.read)["return"] is RawECG, module


@pytest.mark.parametrize("write", [write_wfdb, write_csv])
def test_the_generic_readers_return_a_raw_ecg_too(write, tmp_path: Path) -> None:
    rec = synthetic_record(duration_s=2.0)
    if write is write_wfdb:
        write(rec, tmp_path, "r")
        path, name = tmp_path / "r.hea", "wfdb"
    else:
        path, name = tmp_path / "r.csv", "csv"
        write(rec, path)
    raw = reader(name).read(path)
    assert isinstance(raw, RawECG) and set(raw.leads) == set(rec.leads)
    assert read_record(path).source_format == name


def test_a_registered_reader_is_in_every_list(fake: Reader, tmp_path: Path, capsys) -> None:
    import l2g.io

    (tmp_path / "data").mkdir()
    path = _fake_file(tmp_path / "data" / "x.fke")
    # dispatch
    assert "fake" in l2g.io.FORMATS and "fake" not in FORMATS  # FORMATS: derived each time it is read
    assert l2g.io.FORMATS.index("fake") < l2g.io.FORMATS.index("hdf5")  # a cart format among the carts
    assert sniff_format(path) == "fake"
    rec = read_record(path)
    assert rec.source_format == "fake" and rec.fs == 250.0 and rec.present_leads == ("I", "II")
    assert rec.meta.age == 50.0
    # the catalogue
    assert ".fke" in catalog.record_suffixes() and ".fke" in catalog.RECORD_SUFFIXES
    assert ".fke" in catalog.cart_suffixes()
    assert catalog.find_records(tmp_path / "data") == [path]
    # the uploader
    from dashboard.loading import upload_types

    assert "fke" in upload_types() and ".fke" in upload_suffixes()
    # the CLI help
    for command in ("reconstruct", "report"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        assert ".fke" in " ".join(capsys.readouterr().out.split()), command
    # the docs' table
    assert "| `fake` | Fake ECG | `.fke` | by content | cart / PACS |" in formats_table()


def test_unregistered_the_reader_is_gone(tmp_path: Path) -> None:
    import l2g.io
    from dashboard.loading import upload_types

    assert "fake" not in l2g.io.FORMATS and "fke" not in upload_types() and ".fke" not in catalog.record_suffixes()
    with pytest.raises(ValueError, match="no such format; expected one of dicom"):
        reader("fake")


def test_a_name_is_registered_once(fake: Reader) -> None:
    with pytest.raises(ValueError, match="listed already"):
        register(FAKE)


def test_the_docs_table_is_the_registry() -> None:
    text = (REPO / "docs" / "DATA.md").read_text()
    table = text.split("<!-- formats:start -->\n")[1].split("\n<!-- formats:end -->")[0]
    assert table == formats_table(), "run python -m l2g.devtools formats and paste the table into docs/DATA.md"
