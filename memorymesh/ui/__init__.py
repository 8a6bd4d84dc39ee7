"""``memorymesh ui``: a local web dashboard to see, search, fix and trust what is remembered.

Needs the ``ui`` extra, Starlette and uvicorn
(``pip install "memorymesh[ui] @ git+https://github.com/memorymesh/memorymesh"``). The server
renders HTML itself; ``static/`` holds its one stylesheet and one small script, shipped in the
wheel, so it works offline. The modules, each with one job:

- ``_security``: the door (Host, Origin, the one-time token and session cookie, CSRF, body
  limits, hardening headers);
- ``_app``: the Starlette application and its typed error responses;
- ``_html`` and ``templates/``: escaping and the page shell; ``_forms``: reading requests;
- ``_memories``, ``_review``, ``_pages``: the pages; ``_charts``: inline SVG charts;
- ``_live``: the change feed, streamed to the pages (or polled by them);
- ``_server``: binding, the printed address, uvicorn (ending change streams on shutdown,
  closing the mesh on a forced stop).
"""

from __future__ import annotations

from ._app import create_app
from ._security import Guard
from ._server import serve

__all__ = ["Guard", "create_app", "serve"]
