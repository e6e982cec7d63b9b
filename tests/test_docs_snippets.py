"""Every Python and shell snippet of README.md and docs/*.md runs here, against records this test writes.

The snippets run in a sandbox that gives the paths the docs use something real to point at:

* ``SANDBOX/work`` is the working directory. It holds ``l2g/data/demo/`` (a copy of the shipped
  demo record, the README's example), ``ludb/data/1.hea``, ``REC.hea`` and ``FOLDER/`` (the
  command-line examples), ``splits/split.csv`` and a copy of the shipped ``weights/l2g.pt``
  (which ``l2g calibrate`` rewrites).
* ``SANDBOX/shared/data`` is a tiny archive of synthetic 12-lead records in two sources, so
  ``../shared/data`` resolves to it and never to the real data.
* ``SANDBOX/home`` is ``$HOME``: ``~/ecg`` (docs/DATA.md) and the l2g cache stay inside; it holds
  a stand-in for the PhysioNet mirror that ``wget`` would have made, so the symbolic links of
  docs/DATA.md resolve.

What changes in a command on its way to the shell is listed below: :data:`COMMANDS` (the
interpreter and the ``l2g`` entry point), :data:`TINY` (tiny settings appended to a long run),
:data:`REAL_DATA` (benchmark lines run on the real ``../shared/data`` from the repository root) and
:data:`SKIP` (lines that cannot run here, each with its reason; every one of them is also reported
as a skipped test by ``test_documented_skip``, so none is silent). A ``streamlit run app.py`` line
starts the server on a free port and passes when its health check answers.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from l2g.catalog import save_split, scan, split
from l2g.io import write_wfdb
from tests.ecg_factory import synthetic_record

from .weights import shipped

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

#: Command names as the docs write them -> what runs them here (this interpreter, ``python -m l2g``).
COMMANDS = {
    ".venv/bin/python": sys.executable,
    ".venv/bin/streamlit": str(BIN / "streamlit"),
    "l2g": f"{sys.executable} -m l2g",
}

#: Commands (comment stripped, as written) -> arguments appended: the same run, with tiny settings.
TINY = {
    "l2g evaluate --data ../shared/data --split test --out reports/":
        "--subsets-per-k 1 --limit 2 --no-progress",  # the full plan over the test split takes hours
    "l2g reconstruct FOLDER/ --available I --out out/ --workers 2": "--no-progress",
    "l2g reconstruct FOLDER/ --available I --out out/ --engine ray": "--no-progress",  # skips the two done above
}

#: Lines (comment stripped, as written) that do not run here, and why.
SKIP = {
    "make run": "installs requirements into .venv, then serves until stopped; the server it starts "
                "(streamlit run app.py) is started by the DASHBOARD.md lines",
    "make test": "runs ruff and this whole test suite (this test included)",
    "make diagnostic": "PTB-XL's diagnostic benchmark: needs the 537 MB records100 copy and ../shared/ptbxl, about "
                       "30 min on this CPU with the committed classifiers (reports/diagnostic.md); its stages are "
                       "tested in tests/test_ptbxl_protocol.py",
    "wget -r -N -c -np https://physionet.org/files/challenge-2021/1.0.3/": "downloads several GB from PhysioNet "
                                                                           "(no network here)",
    "wget -r -N -c -np https://physionet.org/files/ptb-xl/1.0.3/": "downloads 1.7 GB from PhysioNet (no network here)",
    "wget -r -N -c -np https://physionet.org/files/ludb/1.0.1/": "downloads from PhysioNet (no network here)",
    "l2g reconstruct s3://bucket/archive --available I --out out/ --engine ray":
        "an archive in a real S3 bucket (no network here); tests/test_remote.py runs the same against a local S3 "
        "endpoint",
    "l2g train --data ../shared/data --out weights/l2g.pt --config configs/relative_half.json":
        "full training (hours on the real archive); the training CLI runs with a tiny config in tests/test_train.py",
    "l2g train --data ../shared/data --data ../scratch/ptbxl/Data/records100 --config configs/ptbxl_finetune.json "
    "--out runs/ft_ptbxl.pt": "fine-tuning on PTB-XL (30 min on this CPU; needs the 537 MB PTB-XL copy, not in CI)",
    "l2g train --data ../shared/data --config configs/ptbxl_stage2.json --out runs/ft_stage2.pt":
        "needs stage 1's runs/ft_ptbxl.pt (above); the training CLI runs with a tiny config in tests/test_train.py",
    "torchrun --nproc_per_node 2 -m l2g train --data ../shared/data --out runs/x.pt":
        "full DistributedDataParallel training; two-process torchrun runs with a tiny config in "
        "tests/test_train.py::test_ddp_two_cpu_processes_end_identical",
    ".venv/bin/python -m bench.delineation_ludb --data ../shared/data":
        "the full LUDB benchmark needs the real LUDB annotations and rewrites reports/delineation_ludb.*",
    "nice -n 10 .venv/bin/python -m bench.morphology_bias --data ../shared/data":
        "needs the real test split and the shipped generator for a few minutes "
        "(its report: reports/morphology_bias.md)",
    ".venv/bin/python -m pytest tests/test_morphology.py":
        "runs a test file of this suite (collected by pytest itself)",
    ".venv/bin/python -m pytest tests/test_bad_inputs.py tests/test_roundtrip_property.py":
        "runs test files of this suite (collected by pytest itself)",
    ".venv/bin/python -m pytest tests/test_study.py tests/test_app_study.py tests/test_browser_study.py l2g/study":
        "runs test files of this suite (collected by pytest itself)",
    ".venv/bin/python -m pytest tests/test_limits.py tests/test_safety.py":
        "runs test files of this suite (collected by pytest itself)",
    ".venv/bin/python -m pytest tests/test_concurrency.py -s":
        "runs a test file of this suite (collected by pytest itself; needs Chromium)",
    ".venv/bin/python -m bench.concurrency": "drives five Chromium sessions and a 24-h record for ~5 min "
                                             "(needs Chromium and Playwright); tests/test_concurrency.py covers it",
    ".venv/bin/python -m bench.concurrency --rounds 1 --no-long":
        "drives five Chromium sessions (needs Chromium and Playwright); tests/test_concurrency.py covers it",
}


#: Lines that need the real data (LUDB's expert annotations): run from the repository root on
#: ``../shared/data`` itself when it is there (``test_real_data_line``; skipped with a reason when absent).
REAL_DATA = {
    "nice -n 10 .venv/bin/python -m bench.delineation_ludb --methods l2g+leads --no-write",
    ".venv/bin/python -m bench.delineation_ludb --methods l2g l2g+leads --limit 20 --no-write",
}


@dataclass(frozen=True)
class Snippet:
    """A fenced code block of a doc: its language, first line number and text."""

    doc: str
    line: int
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    def commands(self) -> list[str]:
        """The shell commands of a bash block: comments and blank lines dropped."""
        out = []
        for raw in self.code.splitlines():
            line = _strip_comment(raw).strip()
            if line:
                out.append(line)
        return out


def _strip_comment(line: str) -> str:
    """``line`` without its trailing ``# comment`` (a ``#`` outside quotes that starts a word)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def find_snippets() -> list[Snippet]:
    """Every fenced ```python / ```bash block of README.md and docs/*.md."""
    found = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            m = re.match(r"^```(\w+)\s*$", lines[i])
            if m and m.group(1) in ("python", "bash", "sh", "shell"):
                start, body = i + 1, []
                i += 1
                while i < len(lines) and not lines[i].startswith("```"):
                    body.append(lines[i])
                    i += 1
                lang = "python" if m.group(1) == "python" else "bash"
                found.append(Snippet(str(path.relative_to(REPO)), start, lang, "\n".join(body) + "\n"))
            i += 1
    return found


SNIPPETS = find_snippets()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(line: str) -> str:
    """A documented command as it runs here: :data:`TINY` appended, :data:`COMMANDS` replaced."""
    extra = TINY.get(line)
    if extra:
        line = f"{line} {extra}"
    words = line.split(" ")
    for i, word in enumerate(words):
        starts = i == 0 or words[i - 1] in ("&&", ";") or "=" in words[i - 1]
        if word in COMMANDS and (starts or word.startswith(".venv/")):  # `l2g` only as a command, not `-m l2g`
            words[i] = COMMANDS[word]
    return " ".join(words)


# ------------------------------------------------------------------ the sandbox
def _records(folder: Path, names: list[str], seed: int) -> None:
    for i, name in enumerate(names):
        write_wfdb(synthetic_record(duration_s=10.0, seed=seed + i, name=name, age=50 + i, sex="MF"[i % 2]),
                   folder, name)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> dict[str, object]:
    """The folders and environment the snippets run in (see the module docstring)."""
    root = tmp_path_factory.mktemp("docs")
    work, data, home = root / "work", root / "shared" / "data", root / "home"
    _records(data / "ludb" / "data", [str(i) for i in range(1, 7)], seed=0)
    _records(data / "cinc2021" / "georgia", [f"E0000{i}" for i in range(1, 7)], seed=10)
    _records(work / "ludb" / "data", ["1"], seed=0)
    shutil.copytree(REPO / "l2g" / "data" / "demo", work / "l2g" / "data" / "demo")
    _records(work, ["REC"], seed=20)
    _records(work, ["EARLIER"], seed=20)  # the same synthetic heart: REC's patient's earlier ECG (--prior)
    _records(work / "FOLDER", ["a", "b"], seed=30)
    save_split(split(scan(data, progress=False)), work / "splits" / "split.csv")
    (work / "weights").mkdir()
    shutil.copy(shipped("l2g.pt"), work / "weights" / "l2g.pt")  # calibrate rewrites it: never the shipped file
    mirror = home / "ecg" / "physionet.org" / "files"  # what the wget lines of docs/DATA.md would have made
    _records(mirror / "challenge-2021" / "1.0.3" / "training" / "georgia", ["E00001", "E00002"], seed=40)
    _records(mirror / "ludb" / "1.0.1" / "data", ["1", "2"], seed=42)
    _records(mirror / "ptb-xl" / "1.0.3" / "records500" / "00000", ["00001_hr", "00002_hr"], seed=44)
    env = {k: v for k, v in os.environ.items() if not k.startswith("L2G_")}
    env.update(HOME=str(home), PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    return {"work": work, "env": env}


def _serve(line: str, sandbox: dict[str, object]) -> None:
    """Start a documented ``streamlit run app.py`` line; pass when its health check answers, then stop it."""
    port = _free_port()
    cmd = _command(line).replace(" app.py", f" {REPO / 'app.py'} --server.headless true --server.port {port} "
                                            "--browser.gatherUsageStats false", 1)
    proc = subprocess.Popen(["bash", "-c", cmd], cwd=sandbox["work"], env=sandbox["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"{line}: the server exited\n{proc.stdout.read().decode()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"{line}: no answer on port {port} within 120 s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


# ------------------------------------------------------------------ tests
def test_the_docs_have_snippets_and_every_skip_names_a_documented_line() -> None:
    documented = {cmd for s in SNIPPETS if s.lang == "bash" for cmd in s.commands()}
    assert len(SNIPPETS) >= 10
    assert not set(SKIP) - documented, "SKIP lists lines the docs no longer have"
    assert not set(TINY) - documented, "TINY lists lines the docs no longer have"
    assert not REAL_DATA - documented, "REAL_DATA lists lines the docs no longer have"


@pytest.mark.parametrize("line", sorted(SKIP))
def test_documented_skip(line: str) -> None:
    """One skipped test per documented line that does not run here, with its reason."""
    pytest.skip(f"`{line}`: {SKIP[line]}")


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("line", sorted(REAL_DATA))
def test_real_data_line(line: str, shared_data: Path) -> None:
    """A documented benchmark line on the real data, from the repository root (it writes nothing)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = _command(line).replace("../shared/data", str(shared_data))
    proc = subprocess.run(["bash", "-c", cmd], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{line} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.id for s in SNIPPETS])
def test_snippet_runs(snippet: Snippet, sandbox, monkeypatch, capsys) -> None:
    work: Path = sandbox["work"]
    if snippet.lang == "python":
        monkeypatch.chdir(work)
        for key in [k for k in os.environ if k.startswith("L2G_")]:
            monkeypatch.delenv(key)
        exec(compile(snippet.code, snippet.id, "exec"), {"__name__": "__snippet__"})
        return
    lines = snippet.commands()
    runnable = [line for line in lines if line not in SKIP and line not in REAL_DATA]
    if not runnable:
        pytest.skip(f"every line is listed in SKIP or REAL_DATA: {'; '.join(lines)}")
    servers = [line for line in runnable if "streamlit run app.py" in line]
    if servers:  # a block of server lines: each starts, answers its health check and is stopped
        assert servers == runnable, f"{snippet.id}: mixes server lines with other commands"
        for line in servers:
            _serve(line, sandbox)
        return
    script = ["set -euo pipefail"] + [f": not here, see SKIP / REAL_DATA: {shlex.quote(line)}"
                                      if line in SKIP or line in REAL_DATA else _command(line) for line in lines]
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=sandbox["env"], capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, f"{snippet.id} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
