"""``python -m memorymesh_mcp``: run the MCP server."""

import sys

from . import main

sys.exit(main())
