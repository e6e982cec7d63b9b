"""Where the product's files live: one answer for the dashboard and the command line.

=============  ==========================  ===================================================
folder         environment override        default
=============  ==========================  ===================================================
weights        ``L2G_WEIGHTS_DIR``         ``weights/`` of the source checkout (editable install)
reports        ``L2G_REPORTS_DIR``         ``reports/`` of the source checkout, else ``./reports``
runs           ``L2G_RUNS_DIR``            ``runs/`` of the source checkout, else ``./runs``
cache          ``cache_dir=`` arguments    ``~/.cache/l2g`` (:data:`DEFAULT_CACHE_DIR`)
=============  ==========================  ===================================================

The shipped weights (``l2g.pt``, ``linear.pt``, ``interval.json``, ``personal_interval.json``, ``leadcheck.pt``,
``SHA256SUMS``, the model card) are part of the product but not of the wheel: a source checkout or an editable
install (``pip install -e .``) finds them in ``weights/`` beside the package; any other
installation needs ``L2G_WEIGHTS_DIR`` and says so (:class:`WeightsNotFoundError`).
Overrides are read at every call, so a changed environment takes effect at once.

Examples
--------
>>> import os
>>> from l2g import paths
>>> os.environ["L2G_WEIGHTS_DIR"] = "/opt/l2g-weights"
>>> paths.weights_file("l2g.pt").as_posix()
'/opt/l2g-weights/l2g.pt'
>>> del os.environ["L2G_WEIGHTS_DIR"]
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "WEIGHTS_ENV",
    "REPORTS_ENV",
    "RUNS_ENV",
    "WeightsNotFoundError",
    "source_root",
    "shipped_weights_dir",
    "weights_dir",
    "weights_file",
    "linear_file",
    "reports_dir",
    "runs_dir",
    "DEFAULT_CACHE_DIR",
]

WEIGHTS_ENV = "L2G_WEIGHTS_DIR"
REPORTS_ENV = "L2G_REPORTS_DIR"
RUNS_ENV = "L2G_RUNS_DIR"

#: Where converted splits, catalogue scans and fitted baselines are cached (``cache_dir=`` overrides it).
DEFAULT_CACHE_DIR = Path("~/.cache/l2g")

_PACKAGE_PARENT = Path(__file__).resolve().parents[1]


class WeightsNotFoundError(FileNotFoundError, ValueError):
    """No weights folder: l2g runs from an installation without ``weights/`` and ``L2G_WEIGHTS_DIR`` is unset.

    A :class:`FileNotFoundError` and a :class:`ValueError`, so that callers that
    report an unusable model (the dashboard, ``l2g reconstruct``) report this too.
    """


def _env_dir(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def source_root() -> Path | None:
    """The source checkout ``l2g`` is imported from (holding ``pyproject.toml``), or None for an installed copy."""
    root = _PACKAGE_PARENT
    return root if (root / "pyproject.toml").is_file() and (root / "l2g").is_dir() else None


def shipped_weights_dir() -> Path | None:
    """``weights/`` of the source checkout when it exists (None for a non-editable installation)."""
    root = source_root()
    return root / "weights" if root is not None and (root / "weights").is_dir() else None


def weights_dir() -> Path:
    """The weights folder: ``L2G_WEIGHTS_DIR``, else the checkout's ``weights/``.

    The folder is not checked here: the loader reports a missing or corrupt file
    (:func:`l2g.load_reconstructor` falls back to the linear baseline).

    Raises
    ------
    WeightsNotFoundError
        When ``L2G_WEIGHTS_DIR`` is unset and l2g is not run from a checkout with ``weights/``.
    """
    override = _env_dir(WEIGHTS_ENV)
    if override is not None:
        return override
    shipped = shipped_weights_dir()
    if shipped is None:
        raise WeightsNotFoundError(
            f"no weights folder: this installation of l2g ({Path(__file__).parent}) has no weights/ beside it; "
            f"set {WEIGHTS_ENV} to the folder holding l2g.pt and linear.pt (the repository's weights/)")
    return shipped


def weights_file(name: str = "l2g.pt") -> Path:
    """``name`` in :func:`weights_dir` (``l2g.pt``: the generator; ``linear.pt``: the linear baseline)."""
    return weights_dir() / name


def linear_file() -> Path:
    """The linear baseline: ``linear.pt`` in :func:`weights_dir`, else the shipped one.

    A folder named by ``L2G_WEIGHTS_DIR`` that holds only a generator still gets
    the shipped baseline as its fallback (when l2g runs from a checkout).
    """
    own = weights_file("linear.pt")
    shipped = shipped_weights_dir()
    if not own.exists() and shipped is not None and (shipped / "linear.pt").exists():
        return shipped / "linear.pt"
    return own


def reports_dir() -> Path:
    """Where the evaluation report lives: ``L2G_REPORTS_DIR``, else the checkout's ``reports/``, else ``./reports``."""
    root = source_root()
    return _env_dir(REPORTS_ENV) or (root / "reports" if root is not None else Path("reports"))


def runs_dir() -> Path:
    """Where training runs write their logs: ``L2G_RUNS_DIR``, else the checkout's ``runs/``, else ``./runs``."""
    root = source_root()
    return _env_dir(RUNS_ENV) or (root / "runs" if root is not None else Path("runs"))
