"""Tests for l2g.catalog: finding and scanning records, and the train/val/test split."""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from l2g.catalog import (
    CATALOG_COLUMNS,
    data_roots,
    find_records,
    is_record_csv,
    load_split,
    ptbxl_ecg_id,
    record_path,
    resolve_record,
    save_split,
    scan,
    scan_cached,
    scan_roots,
    split,
    split_extra,
)
from l2g.leads import LEADS

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------- fixtures
def write_wfdb(
    folder: Path, name: str, *, fs: int = 500, seconds: float = 2.0, leads=LEADS, dx: str = "", age: str = "61"
) -> Path:
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    n = int(fs * seconds)
    t = np.arange(n) / fs
    sig = np.stack([0.5 * np.sin(2 * np.pi * (1 + i) * t) for i in range(len(leads))], axis=1)
    comments = [f"Age: {age}", "Sex: Female"] + ([f"Dx: {dx}"] if dx else [])
    wfdb.wrsamp(
        name, fs=fs, units=["mV"] * len(leads), sig_name=list(leads), p_signal=sig, fmt=["16"] * len(leads),
        adc_gain=[1000.0] * len(leads), baseline=[0] * len(leads), comments=comments, write_dir=str(folder),
    )
    return folder / f"{name}.hea"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small archive: good and broken records, plus files that are not records."""
    root = tmp_path / "archive"
    # dataset "alpha" with two sub-folders -> sources "one" and "two"
    for i in range(4):
        write_wfdb(root / "alpha" / "one", f"A{i:03d}", dx="426783006")
    write_wfdb(root / "alpha" / "two", "B000", fs=1000, seconds=3.0)
    write_wfdb(root / "alpha" / "two", "B002", leads=("I", "II", "V2"), age="300")  # age ignored: a warning
    (root / "alpha" / "two" / "B001.hea").write_text("this is not a WFDB header\n")  # broken
    hea = write_wfdb(root / "alpha" / "two", "B003")
    hea.with_suffix(".dat").unlink()  # header without its signal file: broken
    (root / "alpha" / "two" / "B000.atr").write_bytes(b"\x00\x00")  # annotation: ignored
    (root / "alpha" / "records_index.csv").write_text("record,fs,n_samples\none/A000,500,1000\n")
    # dataset "beta": flat folder -> source "beta"
    beta = root / "beta"
    beta.mkdir(parents=True)
    t = np.arange(1000) / 500
    table = pd.DataFrame({"time": t, "I": np.sin(2 * np.pi * t), "II": np.cos(2 * np.pi * t), "V1": 0.1 * t})
    table.to_csv(beta / "C000.csv", index=False)
    (beta / "metadata.csv").write_text("ECG_ID,Age,Sex\nC000,40,M\n")
    (beta / "D000.h5").write_bytes(b"not an HDF5 file at all")  # broken
    (beta / "README.md").write_text("# notes\n")
    # hidden folders are skipped
    write_wfdb(root / ".cache", "Z000")
    return root


# ------------------------------------------------------------------ finding
def test_is_record_csv(tmp_path: Path) -> None:
    cases = {
        "leads.csv": "I,II,V1\n0.1,0.2,0.3\n",
        "aliases.csv": "time;Lead II;AVR\n0;1;2\n",
        "comment.csv": "# exported by X\n\nV1\t V2\n1\t2\n",
        "index.csv": "record,source_db,fs,n_leads,n_samples,duration_s,dx_snomed\n",
        "dx.csv": "Dx,SNOMEDCTCode,Abbreviation,CPSC,PTB,PTB_XL,Georgia,Total,Notes\n",
        "ludb.csv": "ID,Sex,Age,Rhythms,Electric axis of the heart\n",
        "numbers.csv": "0,1,2,3\n1.0,2.0,3.0,4.0\n",
        "empty.csv": "",
    }
    expected = {"leads.csv": True, "aliases.csv": True, "comment.csv": True}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        assert is_record_csv(tmp_path / name) is expected.get(name, False), name
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00garbage")
    assert is_record_csv(tmp_path / "binary.csv") is False
    assert is_record_csv(tmp_path / "missing.csv") is False


def test_find_records_picks_record_files_only(tree: Path) -> None:
    rel = [p.relative_to(tree).as_posix() for p in find_records(tree)]
    assert rel == [
        "alpha/one/A000.hea", "alpha/one/A001.hea", "alpha/one/A002.hea", "alpha/one/A003.hea",
        "alpha/two/B000.hea", "alpha/two/B001.hea", "alpha/two/B002.hea", "alpha/two/B003.hea",
        "beta/C000.csv", "beta/D000.h5",
    ]


def test_find_records_follows_links_without_looping(tmp_path: Path) -> None:
    archive = tmp_path / "download" / "training"
    write_wfdb(archive / "georgia" / "g1", "E00001")
    root = tmp_path / "data"
    root.mkdir()
    (root / "cinc2021").symlink_to(archive, target_is_directory=True)
    (archive / "georgia" / "g1" / "loop").symlink_to(archive, target_is_directory=True)
    rel = [p.relative_to(root).as_posix() for p in find_records(root)]
    assert rel == ["cinc2021/georgia/g1/E00001.hea"]


def test_find_records_bad_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such directory"):
        find_records(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        find_records(tmp_path / "file")


def test_record_path_inverts_ids(tree: Path) -> None:
    assert record_path(tree, "alpha/one/A000") == tree / "alpha/one/A000.hea"
    assert record_path(tree, "beta/D000") == tree / "beta/D000.h5"
    with pytest.raises(ValueError, match="no record file"):
        record_path(tree, "alpha/one/nothing")


# ----------------------------------------------------------------- scanning
@pytest.fixture
def catalog(tree: Path) -> pd.DataFrame:
    return scan(tree, progress=False)


def test_scan_lists_good_and_broken_records(catalog: pd.DataFrame) -> None:
    assert tuple(catalog.columns) == CATALOG_COLUMNS
    assert catalog["record_id"].tolist() == [
        "alpha/one/A000", "alpha/one/A001", "alpha/one/A002", "alpha/one/A003",
        "alpha/two/B000", "alpha/two/B001", "alpha/two/B002", "alpha/two/B003",
        "beta/C000", "beta/D000",
    ]
    broken = set(catalog.loc[catalog["error"] != "", "record_id"])
    assert broken == {"alpha/two/B001", "alpha/two/B003", "beta/D000"}
    # every broken record says why; nothing else is filled in for it
    bad = catalog[catalog["error"] != ""]
    assert (bad["error"].str.len() > 5).all()
    assert bad["fs"].isna().all() and (bad["leads"] == "").all()
    # records after the broken ones were still read
    good = catalog[catalog["error"] == ""].set_index("record_id")
    assert good.loc["beta/C000", "leads"] == "I,II,V1"
    assert good.loc["beta/C000", "n_samples"] == 1000


def test_scan_columns(catalog: pd.DataFrame) -> None:
    c = catalog.set_index("record_id")
    assert c.loc["alpha/one/A000", "dataset"] == "alpha"
    assert c.loc["alpha/one/A000", "source"] == "one"
    assert c.loc["alpha/two/B001", "source"] == "two"
    assert c.loc["beta/C000", "source"] == "beta"  # flat dataset: source is the dataset
    a0 = c.loc["alpha/one/A000"]
    assert a0["fs"] == 500 and a0["n_samples"] == 1000 and a0["duration_s"] == pytest.approx(2.0)
    assert a0["leads"] == ",".join(LEADS)
    assert "426783006" in a0["diagnoses"]
    assert a0["age"] == 61 and a0["sex"] == "F"
    assert a0["error"] == "" and a0["format"] != ""
    assert Path(a0["path"]).name == "A000.hea"
    b0 = c.loc["alpha/two/B000"]
    assert b0["fs"] == 1000 and b0["duration_s"] == pytest.approx(3.0)
    assert c.loc["alpha/two/B002", "leads"] == "I,II,V2"
    assert "age" in c.loc["alpha/two/B002", "warnings"] and np.isnan(c.loc["alpha/two/B002", "age"])
    assert c.loc["alpha/one/A000", "warnings"] == ""


def test_scan_empty_and_missing(tmp_path: Path) -> None:
    empty = scan(tmp_path, progress=False)
    assert empty.empty and tuple(empty.columns) == CATALOG_COLUMNS
    assert split(empty).empty
    with pytest.raises(ValueError, match="no such directory"):
        scan(tmp_path / "missing")


def test_scan_same_stem_keeps_suffixes(tmp_path: Path) -> None:
    write_wfdb(tmp_path / "ds", "R1")
    table = pd.DataFrame({"t": np.arange(10) / 500, "I": np.zeros(10), "II": np.ones(10)})
    table.to_csv(tmp_path / "ds" / "R1.csv", index=False)
    ids = scan(tmp_path, progress=False)["record_id"].tolist()
    assert ids == ["ds/R1.csv", "ds/R1.hea"]
    assert record_path(tmp_path, "ds/R1.csv") == tmp_path / "ds" / "R1.csv"


# ---------------------------------------------------------------- splitting
def fake_catalog(sizes: dict[tuple[str, str], int], broken: int = 0) -> pd.DataFrame:
    rows = []
    for (dataset, source), n in sizes.items():
        for i in range(n):
            rows.append({"record_id": f"{dataset}/{source}/r{i:04d}", "dataset": dataset, "source": source,
                         "error": "" if i >= broken else "ValueError: broken"})
    return pd.DataFrame(rows)


SIZES = {("d1", "big"): 200, ("d1", "mid"): 30, ("d1", "ten"): 10, ("d2", "d2"): 3, ("d3", "pair"): 2,
         ("d3", "one"): 1, ("d4", "d4"): 4}


def test_split_is_deterministic_and_order_free() -> None:
    cat = fake_catalog(SIZES)
    a = split(cat)
    b = split(cat.sample(frac=1.0, random_state=3).reset_index(drop=True))
    pd.testing.assert_frame_equal(a, b)
    assert not split(cat, seed="other")["split"].equals(a["split"])


def test_split_partitions_and_excludes_errors() -> None:
    cat = fake_catalog(SIZES, broken=1)
    parts = split(cat)
    ok_ids = set(cat.loc[cat["error"] == "", "record_id"])
    assert set(parts["record_id"]) == ok_ids  # complete, errored ones left out
    assert parts["record_id"].is_unique  # disjoint: one split per record
    assert set(parts["split"]) <= {"train", "val", "test"}
    assert parts["record_id"].is_monotonic_increasing


def test_split_counts_follow_the_rule() -> None:
    parts = split(fake_catalog(SIZES))
    counts = parts.groupby(["source", "split"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=["train", "val", "test"], fill_value=0)
    expected = {  # (train, val, test)
        "big": (140, 30, 30), "mid": (20, 5, 5), "ten": (6, 2, 2), "d4": (2, 1, 1),
        "d2": (2, 0, 1), "pair": (2, 0, 0), "one": (1, 0, 0),
    }
    for source, want in expected.items():
        assert tuple(counts.loc[source]) == want, source


def test_split_stratifies_every_source() -> None:
    parts = split(fake_catalog(SIZES))
    for _, group in parts.groupby(["dataset", "source"]):
        assert "train" in set(group["split"])
        if len(group) >= 3:
            assert "test" in set(group["split"])


def test_split_uses_the_documented_hash_order() -> None:
    cat = fake_catalog({("d", "s"): 20})
    parts = split(cat, seed="abc").set_index("record_id")
    order = sorted(cat["record_id"], key=lambda r: hashlib.sha256(("abc" + r).encode()).hexdigest())
    assert [parts.loc[r, "split"] for r in order] == ["test"] * 3 + ["val"] * 3 + ["train"] * 14


def test_split_is_stable_when_a_source_grows() -> None:
    small = split(fake_catalog({("d", "s"): 100})).set_index("record_id")["split"]
    big = split(fake_catalog({("d", "s"): 101})).set_index("record_id")["split"]
    moved = (big.loc[small.index] != small).sum()
    assert moved <= 2


def test_split_other_fractions_and_errors() -> None:
    cat = fake_catalog({("d", "s"): 10})
    parts = split(cat, fractions=(0.8, 0.2, 0.0))
    assert parts["split"].value_counts().to_dict() == {"train": 8, "val": 2}
    for bad in [(0.5, 0.5), (0.7, 0.2, 0.2), (0.0, 0.5, 0.5), (1.2, -0.1, -0.1)]:
        with pytest.raises(ValueError, match="fractions"):
            split(cat, fractions=bad)
    with pytest.raises(ValueError, match="duplicate"):
        split(pd.concat([cat, cat.iloc[:1]]))
    with pytest.raises(ValueError, match="lacks"):
        split(cat.drop(columns="source"))


def test_split_accepts_a_catalogue_read_back_from_csv(tmp_path: Path) -> None:
    cat = fake_catalog(SIZES, broken=1)
    cat.to_csv(tmp_path / "cat.csv", index=False)
    again = pd.read_csv(tmp_path / "cat.csv")  # empty errors come back as NaN
    pd.testing.assert_frame_equal(split(again), split(cat))


def test_save_and_load_split(tmp_path: Path) -> None:
    parts = split(fake_catalog(SIZES))
    out = save_split(parts.sample(frac=1.0, random_state=0), tmp_path / "sub" / "split.csv")
    text = out.read_text()
    assert text.splitlines()[0] == "record_id,split"
    assert "\r" not in text
    back = load_split(out)
    assert list(back.columns) == ["record_id", "split"]
    pd.testing.assert_frame_equal(back, parts[["record_id", "split"]])


@pytest.mark.parametrize(
    "text",
    ["id,part\na,train\n", "record_id,split\na,train\na,test\n", "record_id,split\na,holdout\n", ""],
)
def test_load_split_rejects_bad_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "split.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match="split"):
        load_split(path)


# --------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real_catalog(shared_data: Path) -> pd.DataFrame:
    return scan(shared_data, progress=False)


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
@pytest.mark.shared_data
def test_real_data_split_has_every_source_in_train(real_catalog: pd.DataFrame) -> None:
    assert len(real_catalog) >= 400
    assert (real_catalog["error"] == "").mean() > 0.95
    parts = split(real_catalog)
    ok = real_catalog[real_catalog["error"] == ""]
    assert len(parts) == len(ok)
    strata = parts.groupby(["dataset", "source"])
    assert set(strata.groups) == {
        ("cinc2020_extra", "cinc2020_extra"), ("ludb", "ludb"), ("ptbxl_cinc2024", "ptbxl_cinc2024"), ("sph", "sph"),
        *(("cinc2021", s) for s in ("chapman_shaoxing", "cpsc_2018", "cpsc_2018_extra", "georgia", "ningbo", "ptb",
                                    "ptb-xl")),
    }
    for key, group in strata:
        assert "train" in set(group["split"]), key
        if len(group) >= 3:
            assert "test" in set(group["split"]), key
    assert set(parts["split"]) == {"train", "val", "test"}


@pytest.mark.shared_data
def test_shipped_split_matches_the_rule(real_catalog: pd.DataFrame) -> None:
    shipped = REPO / "splits" / "split.csv"
    if os.environ.get("L2G_SHARED_DATA"):
        pytest.skip("splits/split.csv was made from ../shared/data, not from $L2G_SHARED_DATA")
    if not shipped.is_file():
        pytest.skip("splits/split.csv has not been generated")
    expected = split(real_catalog)[["record_id", "split"]]
    pd.testing.assert_frame_equal(load_split(shipped), expected)


# ------------------------------------------------------------ several folders
PTBXL_DIR = Path(os.environ.get("L2G_PTBXL_DIR", REPO.parent / "scratch" / "ptbxl" / "Data" / "records100"))


@pytest.mark.parametrize(("record_id", "ecg_id"), [
    ("cinc2020_extra/HR00599", 599), ("cinc2021/ptb-xl/HR20715", 20715), ("ptbxl_cinc2024/00841_hr", 841),
    ("records100/00000/00841_lr", 841), ("ptbxl100/00009_lr.hea", 9), ("records500/21000/21837_hr", 21837),
    ("cinc2021/georgia/E00001", None), ("ludb/data/8", None), ("x/HR0001", None), ("x/000841_lr", None),
    ("x/00841_lrx", None),
])
def test_ptbxl_ecg_id_maps_every_copy_naming(record_id: str, ecg_id) -> None:
    assert ptbxl_ecg_id(record_id) == ecg_id


def test_split_extra_excludes_copies_of_val_and_test_and_drops_copies_of_train() -> None:
    shared = pd.DataFrame({
        "record_id": ["cinc2021/ptb-xl/HR00006", "ptbxl_cinc2024/00841_hr", "cinc2020_extra/HR00599", "ludb/data/1",
                      "a/HR00007", "b/00007_hr"],
        "split": ["test", "val", "train", "test", "train", "test"],  # ecg 7: a train and a test copy -> excluded
    })
    extra = [f"records100/00000/{n:05d}_lr" for n in (1, 6, 7, 599, 841, 842)]
    out = split_extra(shared, extra)
    train_ids = out.loc[out["split"] == "train", "record_id"].tolist()
    assert train_ids == ["records100/00000/00001_lr", "records100/00000/00842_lr"]
    reasons = dict(zip(out["record_id"], out["reason"], strict=True))
    assert reasons["records100/00000/00006_lr"] == "excluded: cinc2021/ptb-xl/HR00006 in test"
    assert reasons["records100/00000/00007_lr"] == "excluded: b/00007_hr in test"
    assert reasons["records100/00000/00841_lr"] == "excluded: ptbxl_cinc2024/00841_hr in val"
    assert reasons["records100/00000/00599_lr"] == "duplicate: cinc2020_extra/HR00599 in train"
    # the exclusion rule itself: no id of a shared val/test record's ECG is ever placed in train
    held_out = {ptbxl_ecg_id(r) for r, s in zip(shared["record_id"], shared["split"], strict=True) if s != "train"}
    assert not {ptbxl_ecg_id(r) for r in train_ids} & held_out


def test_data_roots_labels_and_conflicts(tmp_path: Path) -> None:
    for name in ("shared/ludb", "records100", "other/records100"):
        (tmp_path / name).mkdir(parents=True)
    roots = data_roots([tmp_path / "shared", tmp_path / "records100", f"p500={tmp_path / 'other/records100'}"])
    assert [(r.label, r.path) for r in roots] == [
        ("", tmp_path / "shared"), ("records100", tmp_path / "records100"), ("p500", tmp_path / "other/records100")]
    with pytest.raises(ValueError, match="used twice"):
        data_roots([tmp_path / "shared", tmp_path / "records100", tmp_path / "other/records100"])
    with pytest.raises(ValueError, match="also folders of"):
        data_roots([tmp_path / "shared", f"ludb={tmp_path / 'records100'}"])
    with pytest.raises(ValueError, match="no such data folder"):
        data_roots([tmp_path / "shared", tmp_path / "missing"])


def test_header_only_scan_agrees_with_full_scan_and_is_cached(tree: Path, tmp_path: Path) -> None:
    full = scan(tree, progress=False).set_index("record_id")
    head = scan(tree, progress=False, header_only=True).set_index("record_id")
    wfdb_ok = [r for r in full.index if full.loc[r, "path"].endswith(".hea") and full.loc[r, "error"] == ""]
    assert wfdb_ok
    for col in ("fs", "n_samples", "duration_s", "leads", "age", "sex", "diagnoses"):
        pd.testing.assert_series_equal(full.loc[wfdb_ok, col], head.loc[wfdb_ok, col], check_names=False)
    assert set(head.loc[wfdb_ok, "format"]) == {"wfdb-header"}
    assert head.loc["alpha/two/B001", "error"]  # an unparsable header is still an error
    cache = tmp_path / "cache"
    first = scan_cached(tree, cache_dir=cache)
    files = list(cache.glob("catalog_*.csv"))
    assert len(files) == 1
    pd.testing.assert_frame_equal(first, scan_cached(tree, cache_dir=cache))  # read back from the CSV
    write_wfdb(tree / "alpha" / "one", "A999")  # a new record: a new key, a new scan
    again = scan_cached(tree, cache_dir=cache)
    assert "alpha/one/A999" in set(again["record_id"]) and len(list(cache.glob("catalog_*.csv"))) == 2


def test_scan_roots_prefixes_extra_ids_and_resolves_them(tree: Path, tmp_path: Path) -> None:
    extra = tmp_path / "records100"
    write_wfdb(extra / "00000", "00001_lr", fs=100)
    roots = data_roots([tree, extra])
    table = scan_roots(roots, progress=False, cache_dir=tmp_path / "cache")
    row = table[table["root"] == "records100"].iloc[0]
    assert (row["record_id"], row["dataset"], row["fs"]) == ("records100/00000/00001_lr", "records100", 100.0)
    assert not table["record_id"].duplicated().any()
    assert resolve_record(roots, "records100/00000/00001_lr") == extra / "00000" / "00001_lr.hea"
    assert resolve_record(roots, "alpha/one/A000") == tree / "alpha" / "one" / "A000.hea"


def test_cli_catalog_several_folders_split_leaves_out_copies(tmp_path: Path, capsys) -> None:
    from l2g.cli import main

    shared = tmp_path / "shared"
    for i in range(6):
        write_wfdb(shared / "ptbxl_cinc2024", f"{i + 1:05d}_hr")
    extra = tmp_path / "records100"
    for i in range(8):
        write_wfdb(extra / "00000", f"{i + 1:05d}_lr", fs=100)
    out = tmp_path / "split.csv"
    assert main(["catalog", "--data", str(shared), "--data", str(extra), "--split-out", str(out),
                 "--no-progress"]) == 0
    parts = load_split(out)
    shared_part = dict(zip(parts["record_id"], parts["split"], strict=True))
    extra_ids = {r for r in parts["record_id"] if r.startswith("records100/")}
    held = {ptbxl_ecg_id(r) for r, s in shared_part.items() if s != "train"}
    assert held and not {ptbxl_ecg_id(r) for r in extra_ids} & held
    assert {shared_part[r] for r in extra_ids} == {"train"}
    assert {ptbxl_ecg_id(r) for r in extra_ids} == {7, 8}  # ecg 1-6 are shared: held out or duplicates
    text = capsys.readouterr().out
    assert "left out as excluded" in text and "left out as duplicate" in text


@pytest.mark.shared_data
def test_real_ptbxl_exclusions(shared_data: Path) -> None:
    if not PTBXL_DIR.is_dir():
        pytest.skip(f"{PTBXL_DIR} not found: PTB-XL records100 (set L2G_PTBXL_DIR)")
    if os.environ.get("L2G_SHARED_DATA"):
        pytest.skip("splits/split.csv was made from ../shared/data, not from $L2G_SHARED_DATA")
    from l2g.dataset import to_independent
    from l2g.io import read_record

    shared = load_split(REPO / "splits" / "split.csv")
    roots = data_roots([shared_data, PTBXL_DIR])
    catalog = scan_cached(PTBXL_DIR)
    assert len(catalog) == 21837 and (catalog["error"] == "").all()
    placed = split_extra(shared, ["records100/" + r for r in catalog["record_id"]])
    kinds = placed["reason"].str.split(":").str[0]
    n_shared = {p: sum(ptbxl_ecg_id(r) is not None for r, s in zip(shared["record_id"], shared["split"], strict=True)
                       if s == p) for p in ("train", "val", "test")}
    assert (kinds == "excluded").sum() == n_shared["val"] + n_shared["test"]
    assert (kinds == "duplicate").sum() == n_shared["train"]
    # the mapping names the same ECG: every shared copy and its 100-Hz file agree (all 12 leads at 100 Hz;
    # measured: median r 0.991, lowest 0.77 on noisy records; two different ECGs give r ~ 0)
    rs = []
    for shared_id in shared["record_id"]:
        ecg = ptbxl_ecg_id(shared_id)
        if ecg is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PTB-XL's age 300
            hi = to_independent(read_record(resolve_record(roots, shared_id)), 100.0)
            lo = to_independent(read_record(resolve_record(roots, f"records100/{ecg // 1000 * 1000:05d}/"
                                                                  f"{ecg:05d}_lr")), 100.0)
        n = min(hi.shape[1], lo.shape[1])
        rs.append(np.corrcoef(hi[:, :n].ravel(), lo[:, :n].ravel())[0, 1])
    assert len(rs) == sum(n_shared.values()) and np.median(rs) > 0.95 and min(rs) > 0.5
