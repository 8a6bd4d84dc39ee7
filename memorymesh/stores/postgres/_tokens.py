"""The conflict tokens a PostgreSQL tenant keeps (migration ``0006_conflict_tokens``).

The same four tables as SQLite's (see ``stores/sqlite/_tokens.py``), keyed by tenant. Every
read and write is one statement per batch: lists travel as arrays (``unnest``, ``= ANY``), and
a word's newest holders come from a ``LATERAL`` index range read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from ..base import TokenRow

__all__ = ["MARK_KEY", "PostgresTokenPostings"]

#: The ``store_meta`` key holding the change-feed mark the tokens reflect.
MARK_KEY = "conflict_tokens_mark"
_SEP = "\x1f"  # words joined for transport, split by string_to_array(.., chr(31))

#: Runs ``fn(conn)``: on a pooled connection (the store's reads) or the transaction's own.
Runner = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]
Fetch = Callable[[Any, str, Sequence[Any]], Awaitable[list[tuple[Any, ...]]]]


class PostgresTokenPostings:
    """:class:`~memorymesh.stores.base.TokenPostings` of one tenant."""

    def __init__(self, run: Runner, fetch: Fetch, tenant: str) -> None:
        self._run = run
        self._fetch = fetch
        self._tenant = tenant

    async def _rows(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async def go(conn: Any) -> list[tuple[Any, ...]]:
            return await self._fetch(conn, query, params)

        rows: list[tuple[Any, ...]] = await self._run(go)
        return rows

    async def mark(self) -> int | None:
        rows = await self._rows(
            "SELECT value FROM store_meta WHERE tenant = %s AND key = %s", [self._tenant, MARK_KEY]
        )
        return int(rows[0][0]) if rows else None

    async def counts(self, words: Collection[str]) -> dict[str, int]:
        if not words:
            return {}
        rows = await self._rows(
            "SELECT token, n FROM conflict_token_counts "
            "WHERE tenant = %s AND token = ANY(%s) AND n > 0",
            [self._tenant, list(words)],
        )
        return {str(t): int(n) for t, n in rows}

    async def postings(
        self, words: Collection[str], limit: int, *, single: bool = False
    ) -> dict[str, list[int]]:
        if not words:
            return {}
        table = "conflict_singles" if single else "conflict_tokens"
        rows = await self._rows(
            f"SELECT w.token, p.seq FROM unnest(%s::text[]) AS w (token) "
            f"CROSS JOIN LATERAL (SELECT q.seq FROM {table} q "
            f"WHERE q.tenant = %s AND q.token = w.token ORDER BY q.seq DESC LIMIT %s) AS p "
            f"ORDER BY w.token, p.seq DESC",
            [list(words), self._tenant, limit],
        )
        found: dict[str, list[int]] = {}
        for token, seq in rows:
            found.setdefault(str(token), []).append(int(seq))
        return found

    async def entries(self, seqs: Collection[int]) -> dict[int, TokenRow]:
        if not seqs:
            return {}
        rows = await self._rows(
            "SELECT seq, id, words, numbers, negated FROM conflict_memories "
            "WHERE tenant = %s AND seq = ANY(%s::bigint[])",
            [self._tenant, list(seqs)],
        )
        return {
            int(seq): (int(seq), str(mid), (frozenset(words), frozenset(numbers), bool(negated)))
            for seq, mid, words, numbers, negated in rows
        }

    async def current_texts(self, ids: Sequence[str] | None) -> list[tuple[int, str, str]]:
        where = "tenant = %s AND superseded_by IS NULL AND status = 'active'"
        if ids is None:
            rows = await self._rows(
                f"SELECT seq, id, text FROM memories WHERE {where}", [self._tenant]
            )
        else:
            rows = await self._rows(
                f"SELECT seq, id, text FROM memories WHERE {where} AND id = ANY(%s)",
                [self._tenant, list(ids)],
            )
        return [(int(seq), str(mid), str(text)) for seq, mid, text in rows]

    async def replace(
        self, ids: Sequence[str] | None, rows: Sequence[TokenRow], mark: int | None
    ) -> None:
        tenant = self._tenant

        async def write(conn: Any) -> None:
            fetch = self._fetch
            delta: Counter[str] = Counter()
            if ids is None:
                for table in (
                    "conflict_tokens",
                    "conflict_singles",
                    "conflict_token_counts",
                    "conflict_memories",
                ):
                    await fetch(conn, f"DELETE FROM {table} WHERE tenant = %s", [tenant])
            elif ids:
                old = await fetch(
                    conn,
                    "DELETE FROM conflict_memories WHERE tenant = %s AND id = ANY(%s) "
                    "RETURNING seq, words",
                    [tenant, list(ids)],
                )
                gone = [(w, int(seq)) for seq, words in old for w in words]
                if gone:
                    pairs = [[w for w, _ in gone], [s for _, s in gone]]
                    for table in ("conflict_tokens", "conflict_singles"):
                        await fetch(
                            conn,
                            f"DELETE FROM {table} WHERE tenant = %s AND (token, seq) IN "
                            "(SELECT * FROM unnest(%s::text[], %s::bigint[]))",
                            [tenant, *pairs],
                        )
                    delta.subtract(w for w, _ in gone)
            if rows:
                await fetch(
                    conn,
                    "INSERT INTO conflict_memories (tenant, seq, id, words, numbers, negated) "
                    "SELECT %s, seq, id, string_to_array(w, chr(31)), "
                    "string_to_array(n, chr(31)), g "
                    "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::bool[]) "
                    "AS r (seq, id, w, n, g)",
                    [
                        tenant,
                        [seq for seq, _, _ in rows],
                        [mid for _, mid, _ in rows],
                        [_SEP.join(t[0]) for _, _, t in rows],
                        [_SEP.join(t[1]) for _, _, t in rows],
                        [t[2] for _, _, t in rows],
                    ],
                )
                postings = [(w, seq) for seq, _, (words, _, _) in rows for w in words]
                singles = [
                    (w, seq) for seq, _, (words, _, _) in rows if len(words) == 1 for w in words
                ]
                for table, pairs_ in (("conflict_tokens", postings), ("conflict_singles", singles)):
                    if pairs_:
                        await fetch(
                            conn,
                            f"INSERT INTO {table} (tenant, token, seq) "
                            "SELECT %s, * FROM unnest(%s::text[], %s::bigint[])",
                            [tenant, [w for w, _ in pairs_], [s for _, s in pairs_]],
                        )
                delta.update(w for w, _ in postings)
            changed = [(w, n) for w, n in delta.items() if n]
            if changed:
                await fetch(
                    conn,
                    "INSERT INTO conflict_token_counts AS c (tenant, token, n) "
                    "SELECT %s, * FROM unnest(%s::text[], %s::bigint[]) "
                    "ON CONFLICT (tenant, token) DO UPDATE SET n = c.n + excluded.n",
                    [tenant, [w for w, _ in changed], [n for _, n in changed]],
                )
                # A word no memory holds any more leaves the database.
                await fetch(
                    conn,
                    "DELETE FROM conflict_token_counts "
                    "WHERE tenant = %s AND n <= 0 AND token = ANY(%s)",
                    [tenant, [w for w, n in changed if n < 0]],
                )
            if mark is not None:
                await fetch(
                    conn,
                    "INSERT INTO store_meta (tenant, key, value) VALUES (%s, %s, %s) "
                    "ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value",
                    [tenant, MARK_KEY, str(mark)],
                )

        await self._run(write)
