"""Text from a file, shown on a page as it is."""

from __future__ import annotations

import re

__all__ = ["literal"]


def literal(text: str) -> str:
    """``text`` escaped for ``st.markdown``, so it shows literally.

    A cart's ``>>> Acute MI <<<`` is not a quote, a file named ``*rec*`` is not in italics.
    """
    return re.sub(r"([\\`*_\[\]<>#|$~])", r"\\\1", text.strip())
