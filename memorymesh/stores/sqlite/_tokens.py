"""The conflict tokens a SQLite store keeps (migrations ``0009_conflict_tokens``, compacted
by ``0011_compact_conflict_tokens``).

``conflict_words`` holds one row per subject word: the ``seq`` of every current memory holding
it, packed as little-endian uint32 in one blob (4 bytes a posting where a ``(word, seq)`` row
cost ~19, and the word once instead of once per holder); how many memories hold a word is the
blob's length. ``conflict_singles`` lists, per word, the memories whose subject is that one
word; ``conflict_memories`` each memory's words, numbers and negation, by ``seq`` (its id is
read from ``memories``), to judge candidates without re-tokenising their texts. Adding
holders appends to a blob in SQL; only removals (rewritten, superseded, forgotten memories)
read a blob back. Lists of values travel as one JSON parameter (``json_each``): a batch is a
few statements whatever its size, and every value stays bound.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from typing import Any

import aiosqlite

from ..._errors import StoreError
from ..base import TokenRow

__all__ = ["MARK_KEY", "SQLiteTokenPostings", "pack_seqs", "unpack_seqs"]

#: The ``store_meta`` key holding the change-feed mark the tokens reflect.
MARK_KEY = "conflict_tokens_mark"
_SEP = "\x1f"  # between words in `conflict_memories`: no token holds a control character
# The array type of 4-byte unsigned ints ('I' on every platform CPython supports).
_U32 = next(code for code in "IL" if array(code).itemsize == 4)
_SWAP = sys.byteorder != "little"

#: Runs a query on the connection: the store's ``_run`` (under its lock) or a transaction's own.
Runner = Callable[[Callable[[aiosqlite.Connection], Awaitable[Any]]], Awaitable[Any]]


def _split(value: str) -> frozenset[str]:
    return frozenset(value.split(_SEP)) if value else frozenset()


def pack_seqs(seqs: Iterable[int]) -> bytes:
    """Memory ``seq`` values as a ``conflict_words`` blob."""
    try:
        packed = array(_U32, seqs)
    except OverflowError:
        raise StoreError("a memory's seq is beyond the conflict tokens' 32-bit range") from None
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def unpack_seqs(blob: bytes) -> array[int]:
    """A ``conflict_words`` blob's ``seq`` values, in the order they were added."""
    seqs = array(_U32)
    seqs.frombytes(blob)
    if _SWAP:
        seqs.byteswap()
    return seqs


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
        # length() of a blob reads its size, not its pages.
        rows = await self._rows(
            "SELECT token, length(seqs) / 4 FROM conflict_words "
            "WHERE token IN (SELECT value FROM json_each(?))",
            [json.dumps(list(words))],
        )
        return {str(r[0]): int(str(r[1])) for r in rows if int(str(r[1]))}

    async def postings(
        self, words: Collection[str], limit: int, *, single: bool = False
    ) -> dict[str, list[int]]:
        if not words:
            return {}
        found: dict[str, list[int]] = {}
        if single:
            # Per word, the seq `limit` rows from its newest bounds one backward range read.
            rows = await self._rows(
                "WITH w(token) AS (SELECT value FROM json_each(?)) "
                "SELECT w.token, p.seq FROM w JOIN conflict_singles p ON p.token = w.token "
                "AND p.seq >= coalesce((SELECT q.seq FROM conflict_singles q "
                "WHERE q.token = w.token ORDER BY q.seq DESC LIMIT 1 OFFSET ?), 0) "
                "ORDER BY w.token, p.seq DESC",
                [json.dumps(list(words)), limit - 1],
            )
            for token, seq in rows:
                found.setdefault(str(token), []).append(int(str(seq)))
            return found
        rows = await self._rows(
            "SELECT token, seqs FROM conflict_words "
            "WHERE token IN (SELECT value FROM json_each(?))",
            [json.dumps(list(words))],
        )
        for token, blob in rows:
            # A lookup probes a text's rarest words: their blobs are short.
            seqs = unpack_seqs(blob if isinstance(blob, bytes) else b"")
            found[str(token)] = sorted(seqs, reverse=True)[:limit]
        return found

    async def entries(self, seqs: Collection[int]) -> dict[int, TokenRow]:
        if not seqs:
            return {}
        rows = await self._rows(
            "SELECT c.seq, m.id, c.words, c.numbers, c.negated FROM conflict_memories c "
            "JOIN memories m ON m.seq = c.seq "
            "WHERE c.seq IN (SELECT value FROM json_each(?))",
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
            gone: dict[str, set[int]] = defaultdict(set)  # word -> seqs leaving it
            if ids is None:
                for table in ("conflict_words", "conflict_singles", "conflict_memories"):
                    await conn.execute(f"DELETE FROM {table}")  # fixed names
            elif ids:
                await _drop(conn, ids, gone)
            added: dict[str, list[int]] = defaultdict(list)  # word -> seqs joining it
            for seq, _, (words, _, _) in rows:
                for word in words:
                    added[word].append(seq)
            if gone:
                # Only a removal reads blobs back: the words' holders without the leavers
                # (and with this batch's newcomers); a word nobody holds leaves the file.
                old = await conn.execute_fetchall(
                    "SELECT token, seqs FROM conflict_words "
                    "WHERE token IN (SELECT value FROM json_each(?))",
                    [json.dumps(list(gone))],
                )
                kept: list[tuple[bytes, str]] = []
                emptied: list[str] = []
                for token, blob in old:
                    leaving = gone[token]
                    holders = [s for s in unpack_seqs(bytes(blob)) if s not in leaving]
                    holders += added.pop(token, ())
                    if holders:
                        kept.append((pack_seqs(holders), token))
                    else:
                        emptied.append(token)
                await conn.executemany("UPDATE conflict_words SET seqs = ? WHERE token = ?", kept)
                await conn.execute(
                    "DELETE FROM conflict_words WHERE token IN (SELECT value FROM json_each(?))",
                    [json.dumps(emptied)],
                )
            if added:
                # Appended in SQL, in key order (neighbouring words share pages); `||` joins
                # two blobs as text, which CAST gives back as the same bytes.
                await conn.executemany(
                    "INSERT INTO conflict_words (token, seqs) VALUES (?, ?) "
                    "ON CONFLICT (token) DO UPDATE SET seqs = CAST(seqs || excluded.seqs AS BLOB)",
                    [(word, pack_seqs(added[word])) for word in sorted(added)],
                )
            if rows:
                await conn.executemany(
                    "INSERT INTO conflict_memories (seq, words, numbers, negated) "
                    "VALUES (?, ?, ?, ?)",
                    [
                        (seq, _SEP.join(words), _SEP.join(numbers), int(negated))
                        for seq, _, (words, numbers, negated) in rows
                    ],
                )
                singles = [
                    (w, seq) for seq, _, (words, _, _) in rows if len(words) == 1 for w in words
                ]
                if singles:
                    await conn.executemany(
                        "INSERT INTO conflict_singles (token, seq) VALUES (?, ?)", singles
                    )
            if mark is not None:
                await conn.execute(
                    "INSERT INTO store_meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [MARK_KEY, str(mark)],
                )

        await self._run(write)


async def _drop(conn: aiosqlite.Connection, ids: Sequence[str], gone: dict[str, set[int]]) -> None:
    """Delete the stored tokens of the memories ``ids`` name, noting in ``gone`` which words
    lose which holders. The tokens are keyed by ``seq``: a memory still in the table is found
    through its id there; one deleted since (forgotten, by any process) leaves an entry
    whose ``seq`` no memory has, found by one pass over the entries."""
    wanted = list(dict.fromkeys(ids))
    found = [
        int(str(r[0]))
        for r in await conn.execute_fetchall(
            "SELECT seq FROM memories WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps(wanted)],
        )
    ]
    old = list(
        await conn.execute_fetchall(
            "DELETE FROM conflict_memories WHERE seq IN (SELECT value FROM json_each(?)) "
            "RETURNING seq, words",
            [json.dumps(found)],
        )
    )
    if len(found) < len(wanted):
        old += await conn.execute_fetchall(
            "DELETE FROM conflict_memories WHERE seq NOT IN (SELECT seq FROM memories) "
            "RETURNING seq, words"
        )
    singles: list[tuple[str, int]] = []
    for seq, words in old:
        held = _split(str(words))
        for word in held:
            gone[word].add(int(seq))
        if len(held) == 1:
            singles.extend((word, int(seq)) for word in held)
    if singles:
        await conn.executemany("DELETE FROM conflict_singles WHERE token = ? AND seq = ?", singles)
