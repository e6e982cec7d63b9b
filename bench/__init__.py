"""Benchmarks that print measured numbers; each runs from the repository root as ``python -m bench.NAME``.

None of them edits ``sys.path``: ``l2g`` is the checkout's (``python -m`` puts the root first on the path),
and one bench imports another as ``bench.NAME``.
"""
