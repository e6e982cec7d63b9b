"""Text from a file, shown on a page as it is."""

from __future__ import annotations

import re

__all__ = ["literal", "sections"]


def literal(text: str) -> str:
    """``text`` escaped for ``st.markdown``, so it shows literally.

    A cart's ``>>> Acute MI <<<`` is not a quote, a file named ``*rec*`` is not in italics.
    """
    return re.sub(r"([\\`*_\[\]<>#|$~])", r"\\\1", text.strip())


def sections(markdown: str) -> list[tuple[str, str]]:
    """``markdown`` cut at its level-2 headings: ``(heading, body)`` pairs, the text before the first
    heading as ``("", body)`` (the title line dropped). Headings inside code fences are not cut at.

    >>> sections("# Card\\nintro\\n## Data\\nrows\\n## Limits\\nfew")
    [('', 'intro'), ('Data', 'rows'), ('Limits', 'few')]
    """
    parts, heading, body, fenced = [], "", [], False
    for line in markdown.splitlines():
        fenced ^= line.startswith("```")
        if line.startswith("## ") and not fenced:
            parts.append((heading, "\n".join(body).strip()))
            heading, body = line[3:].strip(), []
        elif not (line.startswith("# ") and not parts and not heading):  # the title
            body.append(line)
    parts.append((heading, "\n".join(body).strip()))
    return [(h, b) for h, b in parts if h or b]
