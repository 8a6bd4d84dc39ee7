"""``python -m memorymesh``: the same command line as the ``memorymesh`` script."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
