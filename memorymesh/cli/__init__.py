"""The ``memorymesh`` command line: the same memory, for people.

``_app`` builds the parser, holds the shared options and the core commands; each other module
adds one group of commands (``_session``: session-start, session-history; ``_upkeep``: sync,
review, judge, hook, import-v4, compact; ``_files``: doctor, backup; ``_history``: reembed, history,
restore).
``_capture`` runs the Claude Code hook's capture for ``memorymesh-hook``.

The top layer: may import anything in ``memorymesh``; nothing in ``memorymesh`` imports it.
"""

from ._app import EXTENSIONS, build_parser, main
from ._common import STATUS_HOOKS, open_mesh

__all__ = ["EXTENSIONS", "STATUS_HOOKS", "build_parser", "main", "open_mesh"]
