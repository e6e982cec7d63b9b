"""``python -m l2g``: the same program as the ``l2g`` console script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
