"""Research experiments, not part of the product: ``python -m bench.experiments.NAME`` from the repository root."""
