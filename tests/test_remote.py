"""Archives on object storage (l2g.remote): listed and reconstructed from a real S3 endpoint.

The S3 server is moto's (``moto[server]``, a local HTTP server speaking the S3 protocol; started by
the test, stopped after), reached through Arrow's S3 file system exactly as a bucket on AWS or
MinIO would be: ``s3://bucket/prefix?endpoint_override=...``. Skipped without moto.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

moto_server = pytest.importorskip("moto.server", reason="moto[server] (requirements-dev.txt) is not installed")
boto3 = pytest.importorskip("boto3", reason="boto3 (installed with moto[server]) is missing")

from l2g.catalog import _record_ids, find_records  # noqa: E402
from l2g.demo import demo_record  # noqa: E402
from l2g.export import write_export  # noqa: E402
from l2g.remote import fetch, is_remote, list_records, open_location  # noqa: E402
from l2g.scale import ReconstructJob, list_tasks, read_results, run_reconstruct  # noqa: E402


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A local S3 endpoint with credentials in the environment; yields (boto3 client, endpoint URL)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ACCESS_KEY_ID", "test")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "test")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    yield client, endpoint
    server.stop()
    mp.undo()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A local archive: two WFDB records, a record CSV, a metadata CSV, a band beside a record, a hidden file."""
    root = tmp_path_factory.mktemp("archive")
    rec = demo_record()
    write_export(rec, "wfdb", root / "site_a", name="r1")
    write_export(rec, "wfdb", root / "site_b" / "deep", name="r2")
    write_export(rec, "csv", root / "site_a", name="r3")
    (root / "site_a" / "metadata.csv").write_text("record,age\nr1,50\n")
    shutil.copy(root / "site_a" / "r1.hea", root / "site_a" / "r1_band.hea")
    (root / "site_a" / ".hidden.hea").write_text("not a record")
    (root / "site_a" / "r1.atr").write_bytes(b"\0\0")  # an annotation beside the record: not fetched with it
    return root


def _upload(client, root: Path, bucket: str, prefix: str) -> None:
    client.create_bucket(Bucket=bucket)
    for f in sorted(root.rglob("*")):
        if f.is_file():
            client.put_object(Bucket=bucket, Key=f"{prefix}/{f.relative_to(root).as_posix()}", Body=f.read_bytes())


def _uri(endpoint: str, bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}?endpoint_override={quote(endpoint, safe='')}&region=us-east-1"


def test_is_remote():
    assert is_remote("s3://b/p") and is_remote("gs://b/p")
    assert not is_remote("../shared/data") and not is_remote(Path("s3:/b"))


def test_listing_follows_the_catalogue_rule(s3, archive):
    client, endpoint = s3
    _upload(client, archive, "ecg-list", "arch")
    remote = list_records(_uri(endpoint, "ecg-list", "arch"))
    local = [p.relative_to(archive).as_posix() for p in find_records(archive)]
    assert [r.rel for r in remote] == local  # the same records, the same order
    assert "site_a/metadata.csv" not in local and "site_a/r1_band.hea" not in local
    by_rel = {r.rel: r for r in remote}
    assert by_rel["site_a/r1.hea"].files[0] == "site_a/r1.hea"
    assert by_rel["site_a/r1.hea"].files == ("site_a/r1.hea", "site_a/r1.dat")
    # the record ids are the local archive's
    tasks = list_tasks(ReconstructJob(_uri(endpoint, "ecg-list", "arch"), Path("/unused"), ("I",)))
    assert [t["record_id"] for t in tasks] == _record_ids(archive, find_records(archive))
    assert all(t["path"].startswith("s3://ecg-list/arch/") and "?" not in t["path"] for t in tasks)


def test_fetch_copies_the_objects(s3, archive, tmp_path):
    client, endpoint = s3
    _upload(client, archive, "ecg-fetch", "arch")
    got = fetch(_uri(endpoint, "ecg-fetch", "arch"), ["site_a/r1.hea", "site_a/r1.dat"], tmp_path)
    assert got[0] == tmp_path / "site_a" / "r1.hea"
    assert got[1].read_bytes() == (archive / "site_a" / "r1.dat").read_bytes()
    with pytest.raises(OSError, match="site_a/nope.dat"):
        fetch(_uri(endpoint, "ecg-fetch", "arch"), ["site_a/nope.dat"], tmp_path)


def test_bad_locations_are_refused(s3):
    client, endpoint = s3
    client.create_bucket(Bucket="ecg-empty")
    with pytest.raises(ValueError, match="nothing there"):
        list_records(_uri(endpoint, "ecg-empty", "missing"))
    with pytest.raises(ValueError, match="not a location"):
        open_location("nosuchscheme://x/y")


@pytest.mark.slow  # two runs of three records, one re-run
def test_reconstruct_from_s3_equals_the_local_folder(s3, archive, tmp_path):
    client, endpoint = s3
    _upload(client, archive, "ecg-run", "arch")
    uri = _uri(endpoint, "ecg-run", "arch")
    remote_out, local_out = tmp_path / "remote", tmp_path / "local"
    s_remote = run_reconstruct(ReconstructJob(uri, remote_out, ("I",)), workers=1, progress=False)
    s_local = run_reconstruct(ReconstructJob(archive, local_out, ("I",)), workers=1, progress=False)
    assert s_remote.failed == 0 and s_remote.done == s_local.done == 3
    r_remote, r_local = read_results(remote_out), read_results(local_out)
    assert sorted(r_remote.index) == sorted(r_local.index)
    for rid in r_local.index:
        a, b = r_remote.loc[rid], r_local.loc[rid]
        assert a["input_digest"] == b["input_digest"]
        assert list(a["outputs"]) == list(b["outputs"])
        assert a["source_file"].startswith("s3://ecg-run/arch/")
        for rel in b["outputs"]:
            if rel.endswith(".dat"):
                assert np.array_equal(np.fromfile(remote_out / rel, np.uint8), np.fromfile(local_out / rel, np.uint8))
    # a re-run skips what is done: the objects are fetched again for their digest, nothing rewritten
    again = run_reconstruct(ReconstructJob(uri, remote_out, ("I",)), workers=1, progress=False)
    assert again.done == 0 and again.skipped == 3
