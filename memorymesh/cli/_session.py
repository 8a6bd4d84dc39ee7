"""``memorymesh session-start``: print the context an assistant should load first."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..context._session import DEFAULT_BUDGET_TOKENS, MAX_BUDGET_TOKENS, MIN_BUDGET_TOKENS

__all__ = ["register"]


def _budget(value: str) -> int:
    from ._common import count

    return count(MIN_BUDGET_TOKENS, MAX_BUDGET_TOKENS)(value)


async def cmd_session_start(args: argparse.Namespace) -> int:
    from ._common import open_mesh

    query = " ".join(args.query) if args.query else None
    async with open_mesh(args) as mesh:
        context = await mesh.session_start(
            query, budget_tokens=args.budget, session_id=args.session
        )
    if args.json:
        json.dump(context.model_dump(mode="json"), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(context.text)
    return 0


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    help_text = "Print the memory an assistant should load at the start of a session."
    p = subparsers.add_parser(
        "session-start", parents=[common], help=help_text, description=help_text
    )
    p.add_argument("query", nargs="*", help="the first message or task (makes it task-aware)")
    p.add_argument(
        "--budget",
        type=_budget,
        default=DEFAULT_BUDGET_TOKENS,
        metavar="N",
        help=f"most tokens to use, estimated as characters/4 (default {DEFAULT_BUDGET_TOKENS})",
    )
    p.add_argument("--session", metavar="ID", help="a session being resumed")
    p.set_defaults(handler=cmd_session_start)
