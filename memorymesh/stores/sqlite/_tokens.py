"""The conflict tokens a SQLite store keeps (migration ``0009_conflict_tokens``).

``conflict_tokens`` holds one ``(word, seq)`` row per subject word of each current memory,
keyed so that a word's most recent holders are one index range read backwards;
``conflict_singles`` the same for memories whose subject is a single word;
``conflict_token_counts`` how many memories hold each word (which words are rare);
``conflict_memories`` each memory's words, numbers and negation, to judge candidates without
reading their texts. Lists of values travel as one JSON parameter (``json_each``): a batch is
one statement whatever its size, and every value stays bound.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import aiosqlite

from ..base import TokenRow

__all__ = ["MARK_KEY", "SQLiteTokenPostings"]

#: The ``store_meta`` key holding the change-feed mark the tokens reflect.
MARK_KEY = "conflict_tokens_mark"
_SEP = "\x1f"  # between words in `conflict_memories`: no token holds a control character

#: Runs a query on the connection: the store's ``_run`` (under its lock) or a transaction's own.
Runner = Callable[[Callable[[aiosqlite.Connection], Awaitable[Any]]], Awaitable[Any]]


def _split(value: str) -> frozenset[str]:
    return frozenset(value.split(_SEP)) if value else frozenset()


class SQLiteTokenPostings:
    """:class:`~memorymesh.stores.base.TokenPostings` over one connection: a store's (reads
    under its lock) or an open write transaction's (``run`` calls straight through)."""

    def __init__(self, run: Runner) -> None:
        self._run = run

    async def _rows(self, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        async def query(conn: aiosqlite.Connection) -> list[tuple[object, ...]]:
            return [tuple(r) for r in await conn.execute_fetchall(sql, params)]

        rows: list[tuple[object, ...]] = await self._run(query)
        return rows

    async def mark(self) -> int | None:
        rows = await self._rows("SELECT value FROM store_meta WHERE key = ?", [MARK_KEY])
        return int(str(rows[0][0])) if rows else None

    async def counts(self, words: Collection[str]) -> dict[str, int]:
        if not words:
            return {}
        rows = await self._rows(
            "SELECT token, n FROM conflict_token_counts "
            "WHERE token IN (SELECT value FROM json_each(?)) AND n > 0",
            [json.dumps(list(words))],
        )
        return {str(r[0]): int(str(r[1])) for r in rows}

    async def postings(
        self, words: Collection[str], limit: int, *, single: bool = False
    ) -> dict[str, list[int]]:
        if not words:
            return {}
        table = "conflict_singles" if single else "conflict_tokens"
        # Per word, the seq `limit` rows from its newest bounds one backward range read.
        rows = await self._rows(
            f"WITH w(token) AS (SELECT value FROM json_each(?)) "
            f"SELECT w.token, p.seq FROM w JOIN {table} p ON p.token = w.token "
            f"AND p.seq >= coalesce((SELECT q.seq FROM {table} q WHERE q.token = w.token "
            f"ORDER BY q.seq DESC LIMIT 1 OFFSET ?), 0) ORDER BY w.token, p.seq DESC",
            [json.dumps(list(words)), limit - 1],
        )
        found: dict[str, list[int]] = {}
        for token, seq in rows:
            found.setdefault(str(token), []).append(int(str(seq)))
        return found

    async def entries(self, seqs: Collection[int]) -> dict[int, TokenRow]:
        if not seqs:
            return {}
        rows = await self._rows(
            "SELECT seq, id, words, numbers, negated FROM conflict_memories "
            "WHERE seq IN (SELECT value FROM json_each(?))",
            [json.dumps(list(seqs))],
        )
        return {
            int(str(seq)): (
                int(str(seq)),
                str(mid),
                (_split(str(words)), _split(str(numbers)), bool(negated)),
            )
            for seq, mid, words, numbers, negated in rows
        }

    async def current_texts(self, ids: Sequence[str] | None) -> list[tuple[int, str, str]]:
        where = "superseded_by IS NULL AND status = 'active'"
        if ids is None:
            rows = await self._rows(f"SELECT seq, id, text FROM memories WHERE {where}", [])
        else:
            rows = await self._rows(
                f"SELECT seq, id, text FROM memories WHERE {where} "
                "AND id IN (SELECT value FROM json_each(?))",
                [json.dumps(list(ids))],
            )
        return [(int(str(seq)), str(mid), str(text)) for seq, mid, text in rows]

    async def replace(
        self, ids: Sequence[str] | None, rows: Sequence[TokenRow], mark: int | None
    ) -> None:
        async def write(conn: aiosqlite.Connection) -> None:
            delta: Counter[str] = Counter()
            if ids is None:
                for table in (
                    "conflict_tokens",
                    "conflict_singles",
                    "conflict_token_counts",
                    "conflict_memories",
                ):
                    await conn.execute(f"DELETE FROM {table}")  # fixed names
            elif ids:
                old = await conn.execute_fetchall(
                    "DELETE FROM conflict_memories WHERE id IN (SELECT value FROM json_each(?)) "
                    "RETURNING seq, words",
                    [json.dumps(list(ids))],
                )
                gone = [(w, int(seq)) for seq, words in old for w in _split(str(words))]
                if gone:
                    await conn.executemany(
                        "DELETE FROM conflict_tokens WHERE token = ? AND seq = ?", gone
                    )
                    await conn.executemany(
                        "DELETE FROM conflict_singles WHERE token = ? AND seq = ?", gone
                    )
                    delta.subtract(w for w, _ in gone)
            if rows:
                await conn.executemany(
                    "INSERT INTO conflict_memories (seq, id, words, numbers, negated) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        (seq, mid, _SEP.join(words), _SEP.join(numbers), int(negated))
                        for seq, mid, (words, numbers, negated) in rows
                    ],
                )
                # In key order: a store's first fill writes ~10 postings a memory, and sorted
                # they append to the tree's pages instead of landing on random ones (62 s ->
                # a few at 100k memories).
                await conn.executemany(
                    "INSERT INTO conflict_tokens (token, seq) VALUES (?, ?)",
                    sorted((w, seq) for seq, _, (words, _, _) in rows for w in words),
                )
                singles = [
                    (w, seq) for seq, _, (words, _, _) in rows if len(words) == 1 for w in words
                ]
                if singles:
                    await conn.executemany(
                        "INSERT INTO conflict_singles (token, seq) VALUES (?, ?)", singles
                    )
                if ids is not None:
                    delta.update(w for _, _, (words, _, _) in rows for w in words)
            if ids is None:  # a whole fill: counted from the sorted postings, in C
                await conn.execute(
                    "INSERT INTO conflict_token_counts (token, n) "
                    "SELECT token, count(*) FROM conflict_tokens GROUP BY token"
                )
            changed = [(w, n) for w, n in delta.items() if n]
            if changed:
                await conn.executemany(
                    "INSERT INTO conflict_token_counts (token, n) VALUES (?, ?) "
                    "ON CONFLICT (token) DO UPDATE SET n = n + excluded.n",
                    changed,
                )
                # A word no memory holds any more leaves the file (a forgotten text's words
                # must not stay behind in its counts).
                await conn.execute(
                    "DELETE FROM conflict_token_counts WHERE n <= 0 "
                    "AND token IN (SELECT value FROM json_each(?))",
                    [json.dumps([w for w, n in changed if n < 0])],
                )
            if mark is not None:
                await conn.execute(
                    "INSERT INTO store_meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [MARK_KEY, str(mark)],
                )

        await self._run(write)
