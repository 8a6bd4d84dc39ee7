"""MkDocs hook: render the Sphinx roles some docstrings use as links in the API reference.

Docstrings say :class:`~memorymesh.Embedder` or :meth:`recall` (Sphinx style); mkdocstrings
renders Markdown, so the role would show as literal text. This turns each into a cross-reference
that mkdocs-autorefs resolves when the target is on the site, and into plain code otherwise.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:class|meth|func|data|attr|exc|mod|obj):<code>(~?)([\w.]+)(\(\))?</code>")


def _link(match: re.Match[str]) -> str:
    short, target, call = match.group(1), match.group(2), match.group(3) or ""
    shown = target.rsplit(".", 1)[-1] if short else target
    return f'<autoref optional identifier="{target}"><code>{shown}{call}</code></autoref>'


def on_page_content(html: str, **_: Any) -> str:
    return ROLE.sub(_link, html)
