"""The database schema, as named migrations applied in order.

A migration is never edited once released: change the schema by appending a new one. Each is
applied in its own transaction and recorded in ``schema_migrations``, so a database always
says exactly which steps built it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ENCRYPTION_META_KEY",
    "INDEXED_COLUMNS",
    "INDEXED_METADATA_KEYS",
    "MIGRATIONS",
    "UNIQUE_ITEM_INDEX",
    "Migration",
]


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    statements: tuple[str, ...]


_INITIAL = Migration(
    "0001_initial",
    (
        # `seq` is the stable integer key the FTS index points at (a rowid that VACUUM can
        # renumber would silently corrupt an external-content FTS table); `id` is the public one.
        """
        CREATE TABLE memories (
            seq              INTEGER PRIMARY KEY,
            id               TEXT    NOT NULL UNIQUE,
            text             TEXT    NOT NULL,
            content_hash     TEXT    NOT NULL,
            category         TEXT    NOT NULL,
            importance       REAL    NOT NULL CHECK (importance >= 0.0 AND importance <= 1.0),
            scope            TEXT    NOT NULL CHECK (scope IN ('project', 'global')),
            pinned           INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
            metadata         TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
            session_id       TEXT,
            source           TEXT    NOT NULL DEFAULT 'api',
            agent            TEXT,
            redactions       TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(redactions)),
            created_at       REAL    NOT NULL,
            updated_at       REAL    NOT NULL,
            event_time       REAL,
            expires_at       REAL,
            access_count     INTEGER NOT NULL DEFAULT 0,
            last_accessed_at REAL,
            superseded_by    TEXT    REFERENCES memories (id) ON DELETE SET NULL,
            superseded_at    REAL,
            embedding        BLOB,
            embedding_model  TEXT
        )
        """,
        "CREATE INDEX memories_category ON memories (category)",
        "CREATE INDEX memories_created_at ON memories (created_at)",
        "CREATE INDEX memories_importance ON memories (importance)",
        "CREATE INDEX memories_session ON memories (session_id) WHERE session_id IS NOT NULL",
        "CREATE INDEX memories_content_hash ON memories (content_hash)",
        "CREATE INDEX memories_superseded_by ON memories (superseded_by) "
        "WHERE superseded_by IS NOT NULL",
        "CREATE INDEX memories_expires_at ON memories (expires_at) WHERE expires_at IS NOT NULL",
        """
        CREATE VIRTUAL TABLE memories_fts USING fts5 (
            text,
            content = 'memories',
            content_rowid = 'seq',
            tokenize = 'porter unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
            INSERT INTO memories_fts (rowid, text) VALUES (new.seq, new.text);
        END
        """,
        """
        CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
            INSERT INTO memories_fts (memories_fts, rowid, text)
            VALUES ('delete', old.seq, old.text);
        END
        """,
        """
        CREATE TRIGGER memories_fts_update AFTER UPDATE OF text ON memories BEGIN
            INSERT INTO memories_fts (memories_fts, rowid, text)
            VALUES ('delete', old.seq, old.text);
            INSERT INTO memories_fts (rowid, text) VALUES (new.seq, new.text);
        END
        """,
        """
        CREATE TABLE store_meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )
        """,
    ),
)

_WRITE_LOG = Migration(
    "0002_write_log",
    (
        # Every write decision (stored, deduplicated, superseded, redacted, forgotten...) with
        # its reasons, so `memorymesh log` can explain what happened to a memory.
        """
        CREATE TABLE write_log (
            seq       INTEGER PRIMARY KEY,
            at        REAL    NOT NULL,
            action    TEXT    NOT NULL,
            memory_id TEXT,
            source    TEXT,
            detail    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
        )
        """,
        "CREATE INDEX write_log_memory ON write_log (memory_id)",
    ),
)

_REVIEW_QUEUE = Migration(
    "0003_review_queue",
    (
        # A memory's life cycle beyond current/superseded: `pending` rows wait in the review
        # queue (captured by hooks, not yet trusted), `rejected` rows stay so the same capture
        # is never queued again, `archived` rows were pruned by compaction and can be restored.
        # Only `active` rows are recalled, listed, counted and synced.
        "ALTER TABLE memories ADD COLUMN status TEXT NOT NULL DEFAULT 'active' "
        "CHECK (status IN ('active', 'pending', 'rejected', 'archived'))",
        "CREATE INDEX memories_status ON memories (status) WHERE status != 'active'",
    ),
)

# -- 0004_indexed_metadata (polish) ------------------------------------------------------------
#: Metadata keys with an expression index. The store inlines their JSON path as a constant
#: (a bound path can never use an index): LangGraph's namespace and key, looked up on every
#: get and put by ``langchain_memorymesh.MemoryMeshStore``.
INDEXED_METADATA_KEYS: tuple[str, ...] = ("langgraph_ns", "langgraph_key")

_INDEXED_METADATA = Migration(
    "0004_indexed_metadata",
    (
        # Partial: only the rows that carry a namespace pay for the index. A query's
        # `json_extract(...) = ?` or range implies IS NOT NULL, so SQLite still uses it.
        "CREATE INDEX memories_meta_langgraph ON memories ("
        "json_extract(metadata, '$.langgraph_ns'), json_extract(metadata, '$.langgraph_key')"
        ") WHERE json_extract(metadata, '$.langgraph_ns') IS NOT NULL",
    ),
)
# -- end 0004_indexed_metadata ---------------------------------------------------------------------

#: The columns a process's in-memory indexes (vectors, conflict tokens) are built from: a
#: change to any of them by another process must reach those indexes.
INDEXED_COLUMNS: tuple[str, ...] = (
    "text", "category", "importance", "pinned", "session_id", "created_at", "expires_at",
    "superseded_by", "status", "embedding", "embedding_model",
)  # fmt: skip

_CHANGE_FEED = Migration(
    "0005_change_feed",
    (
        # Several processes share one file (an MCP server per assistant, CLI hooks), and
        # each keeps vectors and conflict tokens in memory. Triggers record every memory an
        # insert, delete or indexed-column update touches, whoever wrote it, so a process
        # catches up on the others' writes by reading the rows after its own mark.
        # AUTOINCREMENT: a mark must never be reused once old changes are pruned.
        """
        CREATE TABLE memory_changes (
            seq       INTEGER PRIMARY KEY AUTOINCREMENT,
            memory_id TEXT NOT NULL
        )
        """,
        """
        CREATE TRIGGER memories_change_insert AFTER INSERT ON memories BEGIN
            INSERT INTO memory_changes (memory_id) VALUES (new.id);
        END
        """,
        f"""
        CREATE TRIGGER memories_change_update AFTER UPDATE OF {", ".join(INDEXED_COLUMNS)}
        ON memories BEGIN
            INSERT INTO memory_changes (memory_id) VALUES (new.id);
        END
        """,
        """
        CREATE TRIGGER memories_change_delete AFTER DELETE ON memories BEGIN
            INSERT INTO memory_changes (memory_id) VALUES (old.id);
        END
        """,
    ),
)

#: The index that makes a keyed item (LangGraph's namespace + key, see ``UNIQUE_METADATA_KEYS``
#: in ``stores/base.py``) unique among current memories; its name is how a violation is told
#: apart from any other constraint.
UNIQUE_ITEM_INDEX = "memories_unique_item"

#: The ``store_meta`` key an encrypted store keeps its key check under (see ``_crypto``).
ENCRYPTION_META_KEY = "encryption"

_ITEM_CURRENT = (
    "json_extract(metadata, '$.langgraph_ns') IS NOT NULL "
    "AND status = 'active' AND superseded_by IS NULL"
)

_UNIQUE_ITEMS = Migration(
    "0006_unique_items",
    (
        # Before this, two concurrent puts of one LangGraph key could both insert. Keep the
        # most recently written of each group current and archive the others (restorable,
        # never deleted), so the unique index below can be built on any existing database.
        f"""
        UPDATE memories SET status = 'archived'
        WHERE seq IN (
            SELECT seq FROM (
                SELECT seq, row_number() OVER (
                    PARTITION BY json_extract(metadata, '$.langgraph_ns'),
                                 json_extract(metadata, '$.langgraph_key')
                    ORDER BY updated_at DESC, seq DESC
                ) AS rank
                FROM memories WHERE {_ITEM_CURRENT}
            ) WHERE rank > 1
        )
        """,
        # A put is then an atomic upsert in every process: whoever inserts second gets a
        # constraint error (KeyConflictError) and updates the winner's row instead. Expired
        # items stay in the index until swept, so an adapter looks them up too.
        f"CREATE UNIQUE INDEX {UNIQUE_ITEM_INDEX} ON memories ("
        "json_extract(metadata, '$.langgraph_ns'), json_extract(metadata, '$.langgraph_key')"
        f") WHERE {_ITEM_CURRENT}",
    ),
)

_SESSIONS = Migration(
    "0007_sessions",
    (
        # Each session_start, linked to the session it continues: a chain follows the work
        # from one session to the next ("last time" at the start of the next one).
        """
        CREATE TABLE sessions (
            id         TEXT PRIMARY KEY,
            started_at REAL NOT NULL,
            client     TEXT,
            continues  TEXT
        )
        """,
        "CREATE INDEX sessions_started ON sessions (started_at)",
        "CREATE INDEX sessions_client ON sessions (client, started_at)",
    ),
)

#: A memory counted by ``memory_counts``: current apart from expiry, which depends on when
#: the counts are read (the few expired ones are subtracted then, through their index).
_COUNTED = "superseded_by IS NULL AND status = 'active'"

_COUNTS = Migration(
    "0008_memory_counts",
    (
        # `stats` used to count by scanning every row (~100-300 ms at 100k memories, growing
        # with the store, paid by each one-shot `memorymesh stats`). Triggers keep the counts
        # per scope, category and pinned instead, whoever writes, so reading them is flat.
        """
        CREATE TABLE memory_counts (
            scope    TEXT NOT NULL,
            category TEXT NOT NULL,
            pinned   INTEGER NOT NULL,
            n        INTEGER NOT NULL,
            PRIMARY KEY (scope, category, pinned)
        ) WITHOUT ROWID
        """,
        f"""
        INSERT INTO memory_counts (scope, category, pinned, n)
        SELECT scope, category, pinned, COUNT(*) FROM memories WHERE {_COUNTED}
        GROUP BY scope, category, pinned
        """,
        f"""
        CREATE TRIGGER memory_counts_insert AFTER INSERT ON memories
        WHEN new.{_COUNTED.replace(" AND ", " AND new.")} BEGIN
            INSERT INTO memory_counts (scope, category, pinned, n)
            VALUES (new.scope, new.category, new.pinned, 1)
            ON CONFLICT (scope, category, pinned) DO UPDATE SET n = n + 1;
        END
        """,
        f"""
        CREATE TRIGGER memory_counts_delete AFTER DELETE ON memories
        WHEN old.{_COUNTED.replace(" AND ", " AND old.")} BEGIN
            UPDATE memory_counts SET n = n - 1
            WHERE scope = old.scope AND category = old.category AND pinned = old.pinned;
        END
        """,
        f"""
        CREATE TRIGGER memory_counts_update
        AFTER UPDATE OF scope, category, pinned, superseded_by, status ON memories BEGIN
            UPDATE memory_counts SET n = n - 1
            WHERE old.{_COUNTED.replace(" AND ", " AND old.")}
              AND scope = old.scope AND category = old.category AND pinned = old.pinned;
            INSERT INTO memory_counts (scope, category, pinned, n)
            SELECT new.scope, new.category, new.pinned, 1
            WHERE new.{_COUNTED.replace(" AND ", " AND new.")}
            ON CONFLICT (scope, category, pinned) DO UPDATE SET n = n + 1;
        END
        """,
    ),
)

#: The ``store_meta`` key of the change-feed mark the conflict tokens reflect (as
#: ``_tokens.MARK_KEY``; repeated here so the schema imports nothing).
_TOKENS_MARK = "conflict_tokens_mark"

_CONFLICT_TOKENS = Migration(
    "0009_conflict_tokens",
    (
        # A write used to find its conflict candidates in a token index built in memory from
        # every memory on the first write after opening: a one-shot `memorymesh remember` paid
        # for the whole store. The tokens now live here, kept from the change feed in each
        # write's transaction (`writes/_postings.py`); an existing store is filled by its first
        # keyword-mode write (tokenising needs Python, which a migration cannot run).
        # WITHOUT ROWID, keyed (token, seq): a word's newest holders are one backward range.
        """
        CREATE TABLE conflict_tokens (
            token TEXT    NOT NULL,
            seq   INTEGER NOT NULL,
            PRIMARY KEY (token, seq)
        ) WITHOUT ROWID
        """,
        # Memories whose subject is one word: judged against any text holding that word.
        """
        CREATE TABLE conflict_singles (
            token TEXT    NOT NULL,
            seq   INTEGER NOT NULL,
            PRIMARY KEY (token, seq)
        ) WITHOUT ROWID
        """,
        # How many memories hold each word: a lookup probes a text's rarest words.
        """
        CREATE TABLE conflict_token_counts (
            token TEXT    PRIMARY KEY,
            n     INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        # Each memory's tokens, to judge candidates without reading (and re-tokenising) texts.
        """
        CREATE TABLE conflict_memories (
            seq     INTEGER PRIMARY KEY,
            id      TEXT    NOT NULL UNIQUE,
            words   TEXT    NOT NULL,
            numbers TEXT    NOT NULL,
            negated INTEGER NOT NULL
        )
        """,
    ),
)


_JUDGE = Migration(
    "0010_judge",
    (
        # The uncertain pairs a write kept both of (a `possible_` conflict), until a judge or
        # a person decides: ids only, so an encrypted store holds no text in the clear here.
        """
        CREATE TABLE conflict_pairs (
            new_id     TEXT NOT NULL,
            old_id     TEXT NOT NULL,
            kind       TEXT NOT NULL,
            similarity REAL NOT NULL,
            policy     TEXT NOT NULL,
            reason     TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            PRIMARY KEY (new_id, old_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX conflict_pairs_created ON conflict_pairs (created_at)",
        # A memory superseded by one of the other scope's store (project vs global): its
        # superseded_by links to itself (the foreign key stays within the store and every
        # currency test stays `superseded_by IS NULL`) and this names the successor.
        "ALTER TABLE memories ADD COLUMN superseded_across TEXT",
        # A judge's verdicts, keyed by a hash of its model and the two texts: the same pair is
        # never sent twice. The verdict is a small JSON object with no text of the memories.
        """
        CREATE TABLE judge_verdicts (
            key        TEXT PRIMARY KEY,
            verdict    TEXT NOT NULL CHECK (json_valid(verdict)),
            created_at REAL NOT NULL
        ) WITHOUT ROWID
        """,
    ),
)

_COMPACT_TOKENS = Migration(
    "0011_compact_conflict_tokens",
    (
        # 0009's tables grew a keyword store by ~70% (9.7 -> 16.5 MB at 10k memories; 45 MB
        # of ~105 at 100k): a (word, seq) row per posting (~19 bytes each, the word repeated
        # per holder), a count per word beside them, and each memory's 32-character id again
        # with its own unique index. Now one row per word holds its holders' seqs packed in a
        # blob (4 bytes a posting; the count is the blob's length), and each memory's tokens
        # are keyed by seq alone (`stores/sqlite/_tokens.py`). Tokenising needs Python, so
        # the tables start empty and the next keyword-mode write fills them, as after 0009.
        "DROP TABLE conflict_tokens",
        "DROP TABLE conflict_token_counts",
        "DROP TABLE conflict_memories",
        "DELETE FROM conflict_singles",
        f"DELETE FROM store_meta WHERE key = '{_TOKENS_MARK}'",
        # A rowid table: its rows can be kilobytes (a common word's holders), which a
        # WITHOUT ROWID table stores poorly.
        """
        CREATE TABLE conflict_words (
            token TEXT PRIMARY KEY,
            seqs  BLOB NOT NULL
        )
        """,
        """
        CREATE TABLE conflict_memories (
            seq     INTEGER PRIMARY KEY,
            words   TEXT    NOT NULL,
            numbers TEXT    NOT NULL,
            negated INTEGER NOT NULL
        )
        """,
    ),
)

_ACROSS_INDEX = Migration(
    "0012_superseded_across_index",
    (
        # history() from a successor finds the memories it superseded in the other scope's
        # store by this column (export/import and `migrate` carry it; the write log they may
        # not): few rows have one, so the index is small.
        "CREATE INDEX memories_superseded_across ON memories (superseded_across) "
        "WHERE superseded_across IS NOT NULL",
    ),
)

_UPDATED_ORDER = Migration(
    "0013_updated_order",
    (
        # Reads by last update (`list --order updated`, and the Claude Code hook's check of
        # each capture against the 300 most recently updated memories) sorted every row
        # first: ~80-120 ms at 100k memories, growing with the store, paid by each capture.
        # With the index they read only the rows they return (`seq` is the rowid, the
        # index's own tie-break, so ORDER BY updated_at DESC, seq DESC walks it backwards).
        "CREATE INDEX memories_updated_at ON memories (updated_at)",
    ),
)

_RETOKENISE = Migration(
    "0014_retokenise_conflicts",
    (
        # The conflict tokeniser changed (session 8: "HR" is no longer "hour" unless after a
        # number, "note" no longer stems to "not", a first-person text holds "user", and
        # common nouns fold to one word: "apartment" / "flat"). Tokens stored by the earlier
        # one would never equal a memory's tokens now, so those memories would drop out of
        # keyword-mode conflict checks: the tables are emptied and the next keyword-mode
        # write fills them again (tokenising needs Python), as after 0009 and 0011.
        "DELETE FROM conflict_words",
        "DELETE FROM conflict_memories",
        "DELETE FROM conflict_singles",
        f"DELETE FROM store_meta WHERE key = '{_TOKENS_MARK}'",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    _INITIAL, _WRITE_LOG, _REVIEW_QUEUE, _INDEXED_METADATA, _CHANGE_FEED, _UNIQUE_ITEMS,
    _SESSIONS,
    _COUNTS,
    _CONFLICT_TOKENS,
    _JUDGE,
    _COMPACT_TOKENS,
    _ACROSS_INDEX,
    _UPDATED_ORDER,
    _RETOKENISE,
)  # fmt: skip
