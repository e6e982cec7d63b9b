"""No import cycle in l2g/ (issue #26): ``python -m l2g.devtools cycles`` prints none and exits 0."""

from pathlib import Path

from l2g.devtools import cycle_path, import_cycles, import_graph, main


def test_l2g_has_no_import_cycle():
    graph = import_graph()
    cycles = import_cycles(graph)
    assert cycles == [], "import cycles in l2g/: " + "; ".join(" -> ".join(cycle_path(graph, c)) for c in cycles)
    assert {"l2g", "l2g.io", "l2g.io.wfdb", "l2g.reconstruction"} <= set(graph)
    assert "l2g.record" in graph["l2g.io.wfdb"] and "l2g.io._common" in graph["l2g.io.wfdb"]


def test_the_check_finds_a_cycle_through_deferred_and_relative_imports(tmp_path: Path):
    """The check can fail: a package whose two modules import each other, one of them inside a function."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("from .sub import b\n\ndef f():\n    return b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def g():\n    from ..a import f  # deferred: still an edge\n    return f\n")
    (pkg / "c.py").write_text("import pkg.sub.b\n")  # into the cycle, not part of it
    graph = import_graph(pkg)
    assert graph["pkg.c"] == {"pkg.sub.b"} and graph["pkg.a"] == {"pkg.sub.b"}
    assert import_cycles(graph) == [["pkg.a", "pkg.sub.b"]]
    assert cycle_path(graph, ["pkg.a", "pkg.sub.b"]) == ["pkg.a", "pkg.sub.b", "pkg.a"]


def test_the_command_prints_the_count_and_exits_0(capsys):
    assert main(["cycles"]) == 0
    assert capsys.readouterr().out.startswith("0 import cycle(s) in l2g/")
