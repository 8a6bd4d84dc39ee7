"""``memorymesh session-start``: print the context an assistant should load first;
``memorymesh session-history``: the chain of sessions that led here."""

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
            query,
            budget_tokens=args.budget,
            session_id=args.session,
            client=args.client,
            continues=args.continues,
        )
    if args.json:
        json.dump(context.model_dump(mode="json"), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(context.text)
    return 0


def _limit(value: str) -> int:
    from ._common import count

    return count(1, 1000)(value)


async def cmd_session_history(args: argparse.Namespace) -> int:
    from ._common import open_mesh

    async with open_mesh(args) as mesh:
        chain = await mesh.session_history(args.session, limit=args.limit)
    if args.json:
        json.dump([s.model_dump(mode="json") for s in chain], sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not chain:
        print("no sessions yet")
    else:
        for record in chain:
            started = record.started_at.strftime("%Y-%m-%d %H:%M")
            client = f" {record.client}" if record.client else ""
            after = f" (continues {record.continues})" if record.continues else ""
            print(f"{record.id}  {started}{client}{after}")
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
    p.add_argument("--session", metavar="ID", help="this session's id (an existing one resumes it)")
    p.add_argument(
        "--client", metavar="NAME", help="who opens the session: continues this client's last one"
    )
    p.add_argument("--continues", metavar="ID", help="the earlier session this one picks up from")
    p.set_defaults(handler=cmd_session_start)

    help_text = "Show a chain of sessions, newest first: each and the one it continues."
    h = subparsers.add_parser(
        "session-history", parents=[common], help=help_text, description=help_text
    )
    h.add_argument("session", nargs="?", help="the session to follow back (default: the last)")
    h.add_argument("--limit", type=_limit, default=20, metavar="N", help="most sessions (20)")
    h.set_defaults(handler=cmd_session_history)
