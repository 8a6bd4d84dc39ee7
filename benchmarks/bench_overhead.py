"""Measured overhead: tokens Smart Sync injects vs. tokens a user would otherwise repeat.

Replays a scripted coding project over several sessions through the real pipeline: each
session's turns are written as a Claude Code transcript, the real Stop hook extraction
(``memorymesh_hook.collect_texts`` → ``capture_async``) queues what is worth keeping, the user
accepts the queue (``accept``), and ``sync_to`` writes ``CLAUDE.md`` for the next session.

For every later session the script names the earlier facts the work depends on. Without
memory, the user repeats each of them (their own words, as first said). With MemoryMesh, the
synced section is injected once per session (its full size counts, needed or not) and the user
repeats only the facts missing from it. Tokens are estimated at 4 characters per token, the
usual rule of thumb for English with OpenAI/Anthropic tokenizers.

A second table follows the same sessions through ``session_start`` (the MCP path) at a
small budget: each session's start is recorded in a chain (``session_id`` = the hook's session,
``client="claude-code"``), so it opens with "last time", what the session before captured;
the comparison is the same start without a chain (each session its own client), which is
what ``session_start`` did before sessions were chained.

    python benchmarks/bench_overhead.py
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import memorymesh_hook
from memorymesh import AsyncMemoryMesh
from memorymesh.cli._capture import capture_async
from memorymesh.context._instructions import estimate_tokens

# key -> (who says it, the sentence as said in the session that introduces it)
FACTS: dict[str, tuple[str, str]] = {
    "pnpm": ("user", "Always use pnpm for this repo, never npm, because the lockfile is pnpm's."),
    "tabs": ("user", "I prefer small focused commits with imperative subject lines."),
    "env": ("user", "Never commit the .env files or anything under secrets/ to git."),
    "pg": ("assistant", "We decided to use PostgreSQL 16 for billing because we need JSONB."),
    "orm": (
        "assistant",
        "We decided to go with Drizzle instead of Prisma because of edge support.",
    ),
    "flaky": (
        "assistant",
        "The root cause was a race between the cache warm-up and the first request in tests.",
    ),
    "tz": ("assistant", "The bug was caused by naive datetimes; store every timestamp in UTC."),
    "api": ("user", "From now on, every API route must validate its input with zod schemas."),
    "deploy": (
        "assistant",
        "We decided to deploy with Fly.io because it gives us regional Postgres.",
    ),
    "review": ("user", "Make sure to add a test for every bug fix before the fix itself."),
}
# Each session: the facts it introduces, and the earlier facts its work depends on.
SESSIONS: list[tuple[list[str], list[str]]] = [
    (["pnpm", "tabs", "env"], []),
    (["pg", "orm"], ["pnpm", "env"]),
    (["flaky"], ["pnpm", "pg", "tabs"]),
    (["tz", "api"], ["pg", "orm", "flaky"]),
    (["deploy"], ["pnpm", "env", "pg", "api"]),
    (["review"], ["tz", "api", "orm", "tabs"]),
    ([], ["pnpm", "pg", "deploy", "flaky", "review", "env"]),
    ([], ["api", "orm", "tz", "review", "deploy", "tabs"]),
]
FILLER_USER = "Can you pick up the next task on the board?"
FILLER_ASSISTANT = "Sure. I read the code and ran the tests; everything passes now."


def transcript_lines(session: int, introduced: list[str]) -> list[dict[str, Any]]:
    user_text = " ".join([FILLER_USER] + [FACTS[k][1] for k in introduced if FACTS[k][0] == "user"])
    said = [FACTS[k][1] for k in introduced if FACTS[k][0] == "assistant"]
    assistant_text = " ".join([FILLER_ASSISTANT, *said])
    base = {"sessionId": f"s{session}", "cwd": "/project", "version": "2.0.14"}
    return [
        {
            **base,
            "type": "user",
            "uuid": f"u{session}",
            "message": {"role": "user", "content": user_text},
        },
        {
            **base,
            "type": "assistant",
            "uuid": f"a{session}",
            "message": {"role": "assistant", "content": [{"type": "text", "text": assistant_text}]},
        },
    ]


#: session_start's budget in the second table: small enough that what is shown is a choice.
START_BUDGET = 150


def _present(keys: list[str], text: str) -> list[str]:
    return [k for k in keys if FACTS[k][1].split(";")[0].rstrip(".") in text]


async def starts(mesh: AsyncMemoryMesh, number: int, needed: list[str]) -> dict[str, Any]:
    """session_start at the beginning of session ``number``, chained and not."""
    chained = await mesh.session_start(
        session_id=f"s{number}", client="claude-code", budget_tokens=START_BUDGET
    )
    alone = await mesh.session_start(client=f"alone-{number}", budget_tokens=START_BUDGET)
    last = "\n".join(item.memory.text for item in chained.last_time)
    return {
        "session": number,
        "needed": len(needed),
        "chain_tokens": chained.used_tokens,
        "chain_found": len(_present(needed, chained.text)),
        "last_time": len(chained.last_time),
        "last_time_needed": len(_present(needed, last)),
        "alone_tokens": alone.used_tokens,
        "alone_found": len(_present(needed, alone.text)),
    }


async def replay(folder: Path, started: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    project = folder / "project"
    (project / ".git").mkdir(parents=True)
    claude_md = project / "CLAUDE.md"
    claude_md.write_text("# Project\n", encoding="utf-8")
    db, global_db = project / ".memorymesh" / "memories.db", folder / "home" / "global.db"
    rows: list[dict[str, Any]] = []
    for number, (introduced, needed) in enumerate(SESSIONS, 1):
        section = claude_md.read_text(encoding="utf-8")
        injected = estimate_tokens(section) if number > 1 else 0
        missing = [k for k in needed if FACTS[k][1].split(";")[0].rstrip(".") not in section]
        without = sum(estimate_tokens(FACTS[k][1]) for k in needed)
        repeated = sum(estimate_tokens(FACTS[k][1]) for k in missing)
        rows.append(
            {
                "session": number,
                "needed": len(needed),
                "without": without,
                "injected": injected,
                "missing": len(missing),
                "repeated": repeated,
            }
        )
        if started is not None and number > 1:
            async with AsyncMemoryMesh(db, global_path=global_db) as mesh:
                started.append(await starts(mesh, number, needed))
        # The session happens: the Stop hook reads its transcript, the user reviews the queue.
        transcript = folder / f"session-{number}.jsonl"
        lines = transcript_lines(number, introduced)
        transcript.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
        event = {
            "session_id": f"s{number}",
            "transcript_path": str(transcript),
            "cwd": str(project),
            "hook_event_name": "Stop",
            "stop_hook_active": False,
        }
        texts = memorymesh_hook.collect_texts("stop", event)
        await capture_async("stop", event, texts, path=str(db), global_path=str(global_db))
        async with AsyncMemoryMesh(db, global_path=global_db) as mesh:
            await mesh.accept([m.id for m in await mesh.review_queue()])
            await mesh.sync_to(claude_md)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mm-bench-overhead-") as scratch:
        os.environ["MEMORYMESH_PROJECT_ROOT"] = str(Path(scratch) / "project")
        started: list[dict[str, Any]] = []
        rows = asyncio.run(replay(Path(scratch), started))
    print("Tokens per session: repeating context by hand vs. Smart Sync (≈4 chars/token)\n")
    print(
        f"{'session':>7} {'facts needed':>12} {'repeat w/o':>10} {'injected':>9} "
        f"{'missed':>7} {'repeat with':>11} {'net saved':>9}"
    )
    for r in rows:
        net = r["without"] - r["injected"] - r["repeated"]
        print(
            f"{r['session']:>7} {r['needed']:>12} {r['without']:>10} {r['injected']:>9} "
            f"{r['missing']:>7} {r['repeated']:>11} {net:>9}"
        )
    without = sum(r["without"] for r in rows)
    with_mm = sum(r["injected"] + r["repeated"] for r in rows)
    needed = sum(r["needed"] for r in rows)
    missed = sum(r["missing"] for r in rows)
    print(
        f"\nTotal: {without} tokens typed again by hand without memory; {with_mm} with "
        f"MemoryMesh ({with_mm / without:.2f}x), of which the user typed "
        f"{sum(r['repeated'] for r in rows)}."
    )
    print(f"Facts the user had to repeat: {needed} without memory, {missed} with it.")
    print(
        f"\nsession_start at {START_BUDGET} tokens: chained (opens with 'last time') vs. "
        "unchained (as before chains)\n"
    )
    print(
        f"{'session':>7} {'needed':>6} {'chain tok':>9} {'chain found':>11} {'last time':>9} "
        f"{'of them needed':>14} {'alone tok':>9} {'alone found':>11}"
    )
    for s in started:
        print(
            f"{s['session']:>7} {s['needed']:>6} {s['chain_tokens']:>9} {s['chain_found']:>11} "
            f"{s['last_time']:>9} {s['last_time_needed']:>14} {s['alone_tokens']:>9} "
            f"{s['alone_found']:>11}"
        )
    found = sum(s["chain_found"] for s in started)
    alone = sum(s["alone_found"] for s in started)
    total = sum(s["needed"] for s in started)
    print(f"\nNeeded facts in the start's text: {found}/{total} chained, {alone}/{total} alone.")


if __name__ == "__main__":
    main()
