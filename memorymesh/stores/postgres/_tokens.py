"""The conflict tokens a PostgreSQL tenant keeps (migrations ``0006_conflict_tokens``,
compacted by ``0009_compact_conflict_tokens``, chunked by ``0013_conflict_word_chunks``).

The same tables as SQLite's (see ``stores/sqlite/_tokens.py``), keyed by tenant: per word,
its holders' seqs in ``BIGINT[]`` rows of one range of :data:`WORD_CHUNK` seqs each
(appended to in SQL; a removal rewrites only the rows its seqs fall in), one-word memories,
and each memory's tokens by seq. Every read and write is one statement per batch: lists
travel as arrays (``unnest``, ``= ANY``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from ..base import TokenPlan, TokenProbe, TokenRow
from ._schema import WORD_CHUNK

__all__ = ["MARK_KEY", "PostgresTokenPostings"]

#: The ``store_meta`` key holding the change-feed mark the tokens reflect.
MARK_KEY = "conflict_tokens_mark"
_SEP = "\x1f"  # words joined for transport, split by string_to_array(.., chr(31))

#: Runs ``fn(conn)``: on a pooled connection (the store's reads) or the transaction's own.
Runner = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]
Fetch = Callable[[Any, str, Sequence[Any]], Awaitable[list[tuple[Any, ...]]]]


#: The statement of :meth:`PostgresTokenPostings.probe`. Words are ordered as
#: ``probe_words`` orders them in Python: by holders, then by the word's code points
#: (``COLLATE "C"``, the order of Python's ``str`` comparison for UTF-8 text). Rows: (kind 0)
#: per text, the words it probes; (kind 1) per probed word, its most recent holders; (kind
#: 2) per word of a text that needs more than one shared, its most recent one-word holders.
#: The counts are read by the words' index (``= ANY`` of the batch's words: ``IN`` a CTE
#: was planned as a scan of all the tenant's words). Counting each text's hits stays in
#: Python: in SQL (a row per text, word and holder, grouped) it took twice the four reads'
#: time on the benchmark's common words.
_PROBE = """
WITH t AS (
    SELECT i, w FROM unnest(%s::int[], %s::text[]) AS t (i, w)
), p AS (
    SELECT * FROM unnest(%s::int[], %s::int[], %s::int[]) AS p (i, needed, probed)
), n AS (
    SELECT c.token AS w, sum(cardinality(c.seqs)) AS n FROM conflict_words c
    WHERE c.tenant = %s AND c.token = ANY (%s::text[])
    GROUP BY c.token HAVING sum(cardinality(c.seqs)) > 0
), k AS MATERIALIZED (
    SELECT t.i, t.w, row_number() OVER (PARTITION BY t.i ORDER BY n.n, t.w COLLATE "C") AS r
    FROM t JOIN n USING (w)
), probe AS MATERIALIZED (
    SELECT k.i, k.w FROM k JOIN p USING (i) WHERE k.r <= p.probed
)
SELECT 0, i::text, array_agg(w), NULL::bigint[] FROM probe GROUP BY i
UNION ALL
SELECT 1, u.w, NULL, ARRAY(
    SELECT s FROM conflict_words c, unnest(c.seqs) AS s
    WHERE c.tenant = %s AND c.token = u.w ORDER BY s DESC LIMIT %s
) FROM (SELECT DISTINCT w FROM probe) AS u
UNION ALL
SELECT 2, u.w, NULL, ARRAY(
    SELECT q.seq FROM conflict_singles q
    WHERE q.tenant = %s AND q.token = u.w ORDER BY q.seq DESC LIMIT %s
) FROM (SELECT DISTINCT k.w FROM k JOIN p USING (i) WHERE p.needed > 1) AS u
"""


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
            "SELECT token, sum(cardinality(seqs)) FROM conflict_words "
            "WHERE tenant = %s AND token = ANY(%s) GROUP BY token "
            "HAVING sum(cardinality(seqs)) > 0",
            [self._tenant, list(words)],
        )
        return {str(t): int(n) for t, n in rows}

    async def postings(
        self, words: Collection[str], limit: int, *, single: bool = False
    ) -> dict[str, list[int]]:
        if not words:
            return {}
        if single:
            rows = await self._rows(
                "SELECT w.token, p.seq FROM unnest(%s::text[]) AS w (token) "
                "CROSS JOIN LATERAL (SELECT q.seq FROM conflict_singles q "
                "WHERE q.tenant = %s AND q.token = w.token ORDER BY q.seq DESC LIMIT %s) AS p "
                "ORDER BY w.token, p.seq DESC",
                [list(words), self._tenant, limit],
            )
        else:
            rows = await self._rows(
                "SELECT w.token, p.seq FROM unnest(%s::text[]) AS w (token) "
                "CROSS JOIN LATERAL (SELECT s AS seq FROM conflict_words c, unnest(c.seqs) AS s "
                "WHERE c.tenant = %s AND c.token = w.token ORDER BY s DESC LIMIT %s) AS p "
                "ORDER BY w.token, p.seq DESC",
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
            "SELECT c.seq, m.id, c.words, c.numbers, c.negated FROM conflict_memories c "
            "JOIN memories m ON m.tenant = c.tenant AND m.seq = c.seq "
            "WHERE c.tenant = %s AND c.seq = ANY(%s::bigint[])",
            [self._tenant, list(seqs)],
        )
        return {
            int(seq): (int(seq), str(mid), (frozenset(words), frozenset(numbers), bool(negated)))
            for seq, mid, words, numbers, negated in rows
        }

    async def probe(self, plans: Sequence[TokenPlan], per_word: int) -> TokenProbe:
        """The first three reads of a batch's keyword probe (see ``search/_lexical.py``:
        the words' counts, the probed words' ``per_word`` most recent holders, one-word
        memories) in one statement, the probe planned in SQL from the counts with the same
        order of equally rare words."""
        probed: list[list[str]] = [[] for _ in plans]
        postings: dict[str, list[int]] = {}
        singles: dict[str, list[int]] = {}
        if not plans:
            return probed, postings, singles
        tenant = self._tenant
        rows = await self._rows(
            _PROBE,
            [
                [i for i, (words, *_) in enumerate(plans) for _ in words],
                [w for words, *_ in plans for w in words],
                list(range(len(plans))),
                [p[1] for p in plans],
                [p[2] for p in plans],
                tenant,
                sorted(set().union(*(words for words, *_ in plans))),
                tenant,
                per_word,
                tenant,
                per_word,
            ],
        )
        for kind, key, words, seqs in rows:
            if kind == 0:
                probed[int(key)] = [str(w) for w in words]
            elif seqs:
                (postings if kind == 1 else singles)[str(key)] = [int(q) for q in seqs]
        return probed, postings, singles

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
            gone: dict[str, set[int]] = defaultdict(set)  # word -> seqs leaving it
            if ids is None:
                for table in ("conflict_words", "conflict_singles", "conflict_memories"):
                    await fetch(conn, f"DELETE FROM {table} WHERE tenant = %s", [tenant])
            elif ids:
                await self._drop(conn, ids, gone)
            if gone:
                # Only the rows the leavers' seqs fall in are rewritten (locked until the
                # commit); a row left with no holder leaves the database.
                leaving = [(w, seq) for w in sorted(gone) for seq in sorted(gone[w])]
                await fetch(
                    conn,
                    "WITH g AS (SELECT token, seq / %s AS chunk, array_agg(seq) AS seqs "
                    "FROM unnest(%s::text[], %s::bigint[]) AS g (token, seq) GROUP BY 1, 2) "
                    "UPDATE conflict_words c SET seqs = ARRAY(SELECT s FROM unnest(c.seqs) "
                    "WITH ORDINALITY AS u (s, k) WHERE s <> ALL (g.seqs) ORDER BY k) "
                    "FROM g WHERE c.tenant = %s AND c.token = g.token AND c.chunk = g.chunk",
                    [WORD_CHUNK, [w for w, _ in leaving], [q for _, q in leaving], tenant],
                )
                await fetch(
                    conn,
                    "DELETE FROM conflict_words WHERE tenant = %s AND token = ANY(%s) "
                    "AND cardinality(seqs) = 0",
                    [tenant, sorted(gone)],
                )
            added: dict[tuple[str, int], list[int]] = defaultdict(list)  # (word, chunk) -> seqs
            for seq, _, (words, _, _) in rows:
                for word in words:
                    added[word, seq // WORD_CHUNK].append(seq)
            if added:
                # In key order, so two writers of one tenant lock shared words alike.
                order = sorted(added)
                await fetch(
                    conn,
                    "INSERT INTO conflict_words AS c (tenant, token, chunk, seqs) "
                    "SELECT %s, u.token, u.chunk, u.seqs::bigint[] "
                    "FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS u (token, chunk, seqs) "
                    "ON CONFLICT (tenant, token, chunk) "
                    "DO UPDATE SET seqs = c.seqs || excluded.seqs",
                    [
                        tenant,
                        [w for w, _ in order],
                        [c for _, c in order],
                        ["{" + ",".join(map(str, added[key])) + "}" for key in order],
                    ],
                )
            if rows:
                await fetch(
                    conn,
                    "INSERT INTO conflict_memories (tenant, seq, words, numbers, negated) "
                    "SELECT %s, seq, string_to_array(w, chr(31)), "
                    "string_to_array(n, chr(31)), g "
                    "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bool[]) "
                    "AS r (seq, w, n, g)",
                    [
                        tenant,
                        [seq for seq, _, _ in rows],
                        [_SEP.join(t[0]) for _, _, t in rows],
                        [_SEP.join(t[1]) for _, _, t in rows],
                        [t[2] for _, _, t in rows],
                    ],
                )
                singles = [
                    (w, seq) for seq, _, (words_, _, _) in rows if len(words_) == 1 for w in words_
                ]
                if singles:
                    await fetch(
                        conn,
                        "INSERT INTO conflict_singles (tenant, token, seq) "
                        "SELECT %s, * FROM unnest(%s::text[], %s::bigint[])",
                        [tenant, [w for w, _ in singles], [s for _, s in singles]],
                    )
            if mark is not None:
                await fetch(
                    conn,
                    "INSERT INTO store_meta (tenant, key, value) VALUES (%s, %s, %s) "
                    "ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value",
                    [tenant, MARK_KEY, str(mark)],
                )

        await self._run(write)

    async def _drop(self, conn: Any, ids: Sequence[str], gone: dict[str, set[int]]) -> None:
        """Delete the stored tokens of the memories ``ids`` name, noting in ``gone`` which
        words lose which holders (as SQLite's ``_drop``: a memory deleted since leaves an
        entry whose seq no memory of the tenant has)."""
        fetch, tenant = self._fetch, self._tenant
        wanted = list(dict.fromkeys(ids))
        found = [
            int(r[0])
            for r in await fetch(
                conn,
                "SELECT seq FROM memories WHERE tenant = %s AND id = ANY(%s)",
                [tenant, wanted],
            )
        ]
        old = list(
            await fetch(
                conn,
                "DELETE FROM conflict_memories WHERE tenant = %s AND seq = ANY(%s::bigint[]) "
                "RETURNING seq, words",
                [tenant, found],
            )
        )
        if len(found) < len(wanted):
            old += await fetch(
                conn,
                "DELETE FROM conflict_memories c WHERE c.tenant = %s AND NOT EXISTS "
                "(SELECT 1 FROM memories m WHERE m.tenant = c.tenant AND m.seq = c.seq) "
                "RETURNING c.seq, c.words",
                [tenant],
            )
        singles: list[tuple[str, int]] = []
        for seq, words in old:
            for word in words:
                gone[str(word)].add(int(seq))
            if len(words) == 1:
                singles.extend((str(word), int(seq)) for word in words)
        if singles:
            await fetch(
                conn,
                "DELETE FROM conflict_singles WHERE tenant = %s AND (token, seq) IN "
                "(SELECT * FROM unnest(%s::text[], %s::bigint[]))",
                [tenant, [w for w, _ in singles], [s for _, s in singles]],
            )
