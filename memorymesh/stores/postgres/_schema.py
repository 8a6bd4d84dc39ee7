"""The PostgreSQL schema, as named migrations applied in order under an advisory lock.

Like the SQLite engine's (``stores/sqlite/_schema.py``), a migration is never edited once
released: the schema changes by appending one. All of them run in one transaction that first
takes a database-wide advisory lock, so ten workers starting together migrate once: the first
applies them, the others wait for its commit and find them recorded.

One database serves many projects and users: every table carries a ``tenant`` column (the
store's tenant key, see ``_tenant.py``) that leads its primary key, and the engine filters
every statement by it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "HNSW_MAX_DIM",
    "INDEXED_COLUMNS",
    "MIGRATIONS",
    "MIGRATION_LOCK",
    "TS_CONFIG",
    "UNIQUE_ITEM_INDEX",
    "WORD_CHUNK",
    "Migration",
    "hnsw_index",
    "hnsw_index_name",
]


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    statements: tuple[str, ...]


#: The key of the advisory lock migrations run under (one per database: CREATE EXTENSION and
#: CREATE SCHEMA race across schemas too).
MIGRATION_LOCK = "memorymesh:migrate"

#: The text search configuration of the keyword index: English stemming, like the SQLite
#: engine's porter tokenizer.
TS_CONFIG = "english"

#: A word's conflict-token holders are kept in rows of seqs ``chunk * WORD_CHUNK`` up to the
#: next chunk (migration 0013), so adding a batch's holders rewrites the newest row of each
#: word, not every holder it ever had. Fixed by that migration: never change it.
WORD_CHUNK = 1024

#: The columns a process's in-memory indexes are built from (as in the SQLite engine): a change
#: to any of them must reach the change feed.
INDEXED_COLUMNS: tuple[str, ...] = (
    "text", "category", "importance", "pinned", "session_id", "created_at", "expires_at",
    "superseded_by", "status", "embedding", "embedding_model",
)  # fmt: skip

_INITIAL = Migration(
    "0001_initial",
    (
        # `seq` is the cursor pages and the vector index follow (strictly increasing in
        # insertion order); `(tenant, id)` is the key. Times are POSIX seconds, as in SQLite,
        # so both engines compare and export them identically. `metadata` is kept verbatim
        # and `meta` is its parsed form, for filters. `embedding` has no fixed dimension: one
        # database serves tenants whose embedders differ.
        f"""
        CREATE TABLE memories (
            tenant           TEXT             NOT NULL,
            seq              BIGINT           GENERATED ALWAYS AS IDENTITY,
            id               TEXT             NOT NULL,
            text             TEXT             NOT NULL,
            content_hash     TEXT             NOT NULL,
            category         TEXT             NOT NULL,
            importance       DOUBLE PRECISION NOT NULL
                             CHECK (importance >= 0.0 AND importance <= 1.0),
            scope            TEXT             NOT NULL CHECK (scope IN ('project', 'global')),
            pinned           SMALLINT         NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
            metadata         TEXT             NOT NULL DEFAULT '{{}}',
            meta             JSONB            GENERATED ALWAYS AS (metadata::jsonb) STORED,
            session_id       TEXT,
            source           TEXT             NOT NULL DEFAULT 'api',
            agent            TEXT,
            redactions       TEXT             NOT NULL DEFAULT '[]',
            created_at       DOUBLE PRECISION NOT NULL,
            updated_at       DOUBLE PRECISION NOT NULL,
            event_time       DOUBLE PRECISION,
            expires_at       DOUBLE PRECISION,
            access_count     BIGINT           NOT NULL DEFAULT 0,
            last_accessed_at DOUBLE PRECISION,
            superseded_by    TEXT,
            superseded_at    DOUBLE PRECISION,
            embedding        vector,
            embedding_model  TEXT,
            status           TEXT             NOT NULL DEFAULT 'active'
                             CHECK (status IN ('active', 'pending', 'rejected', 'archived')),
            search           tsvector         GENERATED ALWAYS AS
                             (to_tsvector('{TS_CONFIG}'::regconfig, text)) STORED,
            PRIMARY KEY (tenant, id),
            UNIQUE (seq),
            -- History links point forward within an import batch: checked at commit.
            FOREIGN KEY (tenant, superseded_by) REFERENCES memories (tenant, id)
                ON DELETE SET NULL (superseded_by) DEFERRABLE INITIALLY DEFERRED
        )
        """,
        "CREATE INDEX memories_tenant_seq ON memories (tenant, seq)",
        "CREATE INDEX memories_created_at ON memories (tenant, created_at)",
        "CREATE INDEX memories_content_hash ON memories (tenant, content_hash)",
        "CREATE INDEX memories_session ON memories (tenant, session_id, seq) "
        "WHERE session_id IS NOT NULL",
        "CREATE INDEX memories_superseded_by ON memories (tenant, superseded_by) "
        "WHERE superseded_by IS NOT NULL",
        "CREATE INDEX memories_status ON memories (tenant, status) WHERE status <> 'active'",
        "CREATE INDEX memories_embedding_model ON memories (tenant, embedding_model, seq)",
        # Keyword search on the generated tsvector (ranking: _store._search_text).
        "CREATE INDEX memories_search ON memories USING gin (search)",
        # LangGraph's namespace and key, looked up on every get and put (as SQLite's 0004).
        "CREATE INDEX memories_meta_langgraph ON memories "
        "(tenant, (meta ->> 'langgraph_ns'), (meta ->> 'langgraph_key')) "
        "WHERE meta ? 'langgraph_ns'",
        """
        CREATE TABLE store_meta (
            tenant TEXT NOT NULL,
            key    TEXT NOT NULL,
            value  TEXT NOT NULL,
            PRIMARY KEY (tenant, key)
        )
        """,
        # Every write decision with its reasons, for `memorymesh log`.
        """
        CREATE TABLE write_log (
            tenant    TEXT             NOT NULL,
            seq       BIGINT           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at        DOUBLE PRECISION NOT NULL,
            action    TEXT             NOT NULL,
            memory_id TEXT,
            source    TEXT,
            detail    TEXT             NOT NULL DEFAULT '{}'
        )
        """,
        "CREATE INDEX write_log_tenant ON write_log (tenant, seq)",
        "CREATE INDEX write_log_memory ON write_log (tenant, memory_id, seq)",
        # The change feed: every memory an insert, delete or indexed-column update touches,
        # numbered per tenant without gaps (a counter row, updated in the writer's own
        # transaction: writers to one tenant are serialised anyway), so "pruned past my mark"
        # is detected exactly as in SQLite and a mark is never reused after pruning.
        """
        CREATE TABLE change_counters (
            tenant   TEXT   PRIMARY KEY,
            last_seq BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE memory_changes (
            tenant    TEXT   NOT NULL,
            seq       BIGINT NOT NULL,
            memory_id TEXT   NOT NULL,
            PRIMARY KEY (tenant, seq)
        )
        """,
        # SET search_path FROM CURRENT: the function finds this schema's tables whatever
        # the calling session's search_path is.
        """
        CREATE FUNCTION memorymesh_note_change() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $body$
        DECLARE
            changed_tenant TEXT;
            changed_id     TEXT;
            next_seq       BIGINT;
        BEGIN
            IF TG_OP = 'DELETE' THEN
                changed_tenant := OLD.tenant; changed_id := OLD.id;
            ELSE
                changed_tenant := NEW.tenant; changed_id := NEW.id;
            END IF;
            INSERT INTO change_counters AS c (tenant, last_seq) VALUES (changed_tenant, 1)
                ON CONFLICT (tenant) DO UPDATE SET last_seq = c.last_seq + 1
                RETURNING c.last_seq INTO next_seq;
            INSERT INTO memory_changes (tenant, seq, memory_id)
                VALUES (changed_tenant, next_seq, changed_id);
            RETURN NULL;
        END
        $body$
        """,
        "CREATE TRIGGER memories_change_insert_delete AFTER INSERT OR DELETE ON memories "
        "FOR EACH ROW EXECUTE FUNCTION memorymesh_note_change()",
        f"CREATE TRIGGER memories_change_update AFTER UPDATE OF {', '.join(INDEXED_COLUMNS)} "
        "ON memories FOR EACH ROW EXECUTE FUNCTION memorymesh_note_change()",
    ),
)

#: The index that makes a keyed item (a LangGraph store's namespace + key, see
#: ``UNIQUE_METADATA_KEYS`` in ``stores/base.py``) unique among a tenant's current memories;
#: its name is how a violation is told apart from any other constraint.
UNIQUE_ITEM_INDEX = "memories_unique_item"

_ITEM_CURRENT = "meta ? 'langgraph_ns' AND status = 'active' AND superseded_by IS NULL"

_UNIQUE_ITEMS = Migration(
    "0002_unique_items",
    (
        # Before this, two concurrent puts of one LangGraph key could both insert. Keep the
        # most recently written of each group current and archive the others (restorable,
        # never deleted), so the unique index can be built on any existing database.
        f"""
        UPDATE memories SET status = 'archived'
        WHERE (tenant, seq) IN (
            SELECT tenant, seq FROM (
                SELECT tenant, seq, row_number() OVER (
                    PARTITION BY tenant, meta->>'langgraph_ns', meta->>'langgraph_key'
                    ORDER BY updated_at DESC, seq DESC
                ) AS rank
                FROM memories WHERE {_ITEM_CURRENT}
            ) AS ranked WHERE rank > 1
        )
        """,
        # A put is then an atomic upsert across every worker: whoever inserts second gets a
        # unique violation (KeyConflictError) and updates the winner's row instead.
        f"CREATE UNIQUE INDEX {UNIQUE_ITEM_INDEX} ON memories "
        f"(tenant, (meta->>'langgraph_ns'), (meta->>'langgraph_key')) WHERE {_ITEM_CURRENT}",
    ),
)

_SESSIONS = Migration(
    "0003_sessions",
    (
        # Each session_start, linked to the session it continues (see the SQLite engine's
        # 0007_sessions): per tenant, like every other table.
        """
        CREATE TABLE sessions (
            tenant     TEXT             NOT NULL,
            id         TEXT             NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            client     TEXT,
            continues  TEXT,
            seq        BIGSERIAL,
            PRIMARY KEY (tenant, id)
        )
        """,
        "CREATE INDEX sessions_started ON sessions (tenant, started_at)",
        "CREATE INDEX sessions_client ON sessions (tenant, client, started_at)",
    ),
)

#: pgvector's HNSW index takes ``vector`` columns of up to 2,000 dimensions; larger vectors are
#: searched exactly.
HNSW_MAX_DIM = 2000


def hnsw_index_name(dim: int) -> str:
    """The HNSW index over the vectors of ``dim`` dimensions (one per dimension in use)."""
    return f"memories_hnsw_{int(dim)}"


def hnsw_index(dim: int) -> str:
    """``CREATE INDEX`` for the HNSW index over ``dim``-dimensional vectors.

    The ``embedding`` column has no fixed dimension (tenants' embedders differ) and an HNSW
    index needs one, so each dimension in use gets a partial index on the column cast to it;
    a query uses it by naming the same cast and predicate (``_store._vector_search``). Cosine
    distance, pgvector's default build settings (m = 16, ef_construction = 64).
    """
    dim = int(dim)  # spliced into SQL: an int, never text
    return (
        f"CREATE INDEX IF NOT EXISTS {hnsw_index_name(dim)} ON memories "
        f"USING hnsw ((embedding::vector({dim})) vector_cosine_ops) "
        f"WHERE vector_dims(embedding) = {dim}"
    )


_VECTOR_SEARCH = Migration(
    "0004_vector_search",
    (
        # Vector recall runs in the database from now on: an HNSW index for every dimension a
        # tenant has recorded its embedder with (later ones are created when recorded, see
        # PostgresTransaction.set_meta).
        f"""
        DO $body$
        DECLARE dim INT;
        BEGIN
            FOR dim IN SELECT DISTINCT value::int FROM store_meta
                WHERE key = 'embedder_dim' AND value ~ '^[0-9]{{1,4}}$'
                AND value::int BETWEEN 1 AND {HNSW_MAX_DIM}
            LOOP
                EXECUTE format('CREATE INDEX IF NOT EXISTS memories_hnsw_%s ON memories '
                    'USING hnsw ((embedding::vector(%s)) vector_cosine_ops) '
                    'WHERE vector_dims(embedding) = %s', dim, dim, dim);
            END LOOP;
        END
        $body$
        """,
    ),
)

_CHANGE_NOTIFY = Migration(
    "0005_change_notify",
    (
        # As 0001's function, plus a NOTIFY per change (PostgreSQL delivers one per
        # transaction and payload, after commit): listeners learn of other workers' writes
        # without reading the feed (``_notify.py``). The payload names schema and tenant.
        """
        CREATE OR REPLACE FUNCTION memorymesh_note_change() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $body$
        DECLARE
            changed_tenant TEXT;
            changed_id     TEXT;
            next_seq       BIGINT;
        BEGIN
            IF TG_OP = 'DELETE' THEN
                changed_tenant := OLD.tenant; changed_id := OLD.id;
            ELSE
                changed_tenant := NEW.tenant; changed_id := NEW.id;
            END IF;
            INSERT INTO change_counters AS c (tenant, last_seq) VALUES (changed_tenant, 1)
                ON CONFLICT (tenant) DO UPDATE SET last_seq = c.last_seq + 1
                RETURNING c.last_seq INTO next_seq;
            INSERT INTO memory_changes (tenant, seq, memory_id)
                VALUES (changed_tenant, next_seq, changed_id);
            PERFORM pg_notify('memorymesh_changes', current_schema() || ' ' || changed_tenant);
            RETURN NULL;
        END
        $body$
        """,
    ),
)

_CONFLICT_TOKENS = Migration(
    "0006_conflict_tokens",
    (
        # As SQLite's 0009: each current memory's conflict tokens, kept from the change feed
        # in the writer's transaction (`writes/_postings.py`), so a write finds its conflict
        # candidates with a few indexed reads instead of an index built from every memory.
        # An existing tenant is filled by its first keyword-mode write.
        """
        CREATE TABLE conflict_tokens (
            tenant TEXT   NOT NULL,
            token  TEXT   NOT NULL,
            seq    BIGINT NOT NULL,
            PRIMARY KEY (tenant, token, seq)
        )
        """,
        """
        CREATE TABLE conflict_singles (
            tenant TEXT   NOT NULL,
            token  TEXT   NOT NULL,
            seq    BIGINT NOT NULL,
            PRIMARY KEY (tenant, token, seq)
        )
        """,
        """
        CREATE TABLE conflict_token_counts (
            tenant TEXT   NOT NULL,
            token  TEXT   NOT NULL,
            n      BIGINT NOT NULL,
            PRIMARY KEY (tenant, token)
        )
        """,
        """
        CREATE TABLE conflict_memories (
            tenant  TEXT    NOT NULL,
            seq     BIGINT  NOT NULL,
            id      TEXT    NOT NULL,
            words   TEXT[]  NOT NULL,
            numbers TEXT[]  NOT NULL,
            negated BOOLEAN NOT NULL,
            PRIMARY KEY (tenant, seq),
            UNIQUE (tenant, id)
        )
        """,
    ),
)


_JUDGE = Migration(
    "0007_judge",
    (
        # Uncertain pairs waiting for a judge or a person, and the judge's cached verdicts
        # (see the SQLite engine's 0010_judge): per tenant, like every other table.
        """
        CREATE TABLE conflict_pairs (
            tenant     TEXT             NOT NULL,
            new_id     TEXT             NOT NULL,
            old_id     TEXT             NOT NULL,
            kind       TEXT             NOT NULL,
            similarity DOUBLE PRECISION NOT NULL,
            policy     TEXT             NOT NULL,
            reason     TEXT             NOT NULL DEFAULT '',
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (tenant, new_id, old_id)
        )
        """,
        "CREATE INDEX conflict_pairs_created ON conflict_pairs (tenant, created_at)",
        # The successor of a memory superseded across scopes (see SQLite's 0010_judge).
        "ALTER TABLE memories ADD COLUMN superseded_across TEXT",
        """
        CREATE TABLE judge_verdicts (
            tenant     TEXT             NOT NULL,
            key        TEXT             NOT NULL,
            verdict    TEXT             NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (tenant, key)
        )
        """,
    ),
)

_COMPACT_TOKENS = Migration(
    "0009_compact_conflict_tokens",
    (
        # As SQLite's 0011: one row per word with its holders' seqs in an array (the count is
        # its length) instead of a row per posting and a count beside them, and each memory's
        # tokens keyed by seq alone (its id is read from `memories`). The tables start empty
        # and each tenant's next keyword-mode write fills them (tokenising needs Python).
        "DROP TABLE conflict_tokens",
        "DROP TABLE conflict_token_counts",
        "DROP TABLE conflict_memories",
        "DELETE FROM conflict_singles",
        "DELETE FROM store_meta WHERE key = 'conflict_tokens_mark'",
        """
        CREATE TABLE conflict_words (
            tenant TEXT     NOT NULL,
            token  TEXT     NOT NULL,
            seqs   BIGINT[] NOT NULL,
            PRIMARY KEY (tenant, token)
        )
        """,
        """
        CREATE TABLE conflict_memories (
            tenant  TEXT    NOT NULL,
            seq     BIGINT  NOT NULL,
            words   TEXT[]  NOT NULL,
            numbers TEXT[]  NOT NULL,
            negated BOOLEAN NOT NULL,
            PRIMARY KEY (tenant, seq)
        )
        """,
    ),
)

_ACROSS_INDEX = Migration(
    "0011_superseded_across_index",
    (
        # history() from a successor finds its predecessors in the other scope by this
        # column (see SQLite's 0012_superseded_across_index).
        "CREATE INDEX memories_superseded_across ON memories (tenant, superseded_across) "
        "WHERE superseded_across IS NOT NULL",
    ),
)

_STATEMENT_FEED = Migration(
    "0008_statement_change_feed",
    (
        # Inserts and deletes reach the change feed once per statement, not once per row.
        # The row trigger bumped the tenant's counter row for every row, and within one
        # transaction each bump leaves a version of that row the next one walks past: a
        # transaction's rows cost more the more it held (20,000 rows by COPY ran at 906/s
        # in one transaction, 2,850/s in twenty). Here each statement bumps the counter
        # once per tenant by its row count and numbers its rows from there (in `seq`
        # order), so the feed stays gapless per tenant; one NOTIFY per tenant, as before
        # (PostgreSQL folds a transaction's equal notifications into one anyway).
        # Updates keep the row trigger of 0001/0005: a trigger with a transition table
        # cannot name columns (UPDATE OF ...), and updates come one memory at a time.
        """
        CREATE FUNCTION memorymesh_note_changes() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $body$
        BEGIN
            WITH counted AS (
                SELECT tenant, count(*) AS n FROM changed_rows GROUP BY tenant
            ), bumped AS (
                INSERT INTO change_counters AS c (tenant, last_seq)
                    SELECT tenant, n FROM counted
                    ON CONFLICT (tenant) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq
                    RETURNING c.tenant, c.last_seq
            )
            INSERT INTO memory_changes (tenant, seq, memory_id)
                SELECT r.tenant,
                       b.last_seq - k.n
                           + row_number() OVER (PARTITION BY r.tenant ORDER BY r.seq),
                       r.id
                FROM changed_rows AS r
                JOIN bumped AS b ON b.tenant = r.tenant
                JOIN counted AS k ON k.tenant = r.tenant;
            PERFORM pg_notify('memorymesh_changes', current_schema() || ' ' || t.tenant)
                FROM (SELECT DISTINCT tenant FROM changed_rows) AS t;
            RETURN NULL;
        END
        $body$
        """,
        "DROP TRIGGER memories_change_insert_delete ON memories",
        # Both triggers name their transition table `changed_rows`: one function serves both.
        "CREATE TRIGGER memories_change_insert AFTER INSERT ON memories "
        "REFERENCING NEW TABLE AS changed_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION memorymesh_note_changes()",
        "CREATE TRIGGER memories_change_delete AFTER DELETE ON memories "
        "REFERENCING OLD TABLE AS changed_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION memorymesh_note_changes()",
    ),
)

_KEYWORD_STATISTICS = Migration(
    "0010_keyword_statistics",
    (
        # What keyword ranking weighs a word by, kept by the change-feed trigger instead of
        # counted on every search (``_store._search_text``): each tenant's number of memories
        # and, per word of the keyword index (a lexeme of the `search` tsvector), how many of
        # them hold it. Counting them took a scan of every match of every query word (and of
        # the whole tenant for the total): most of a search's time at a million memories.
        "ALTER TABLE change_counters ADD COLUMN memories BIGINT NOT NULL DEFAULT 0",
        """
        INSERT INTO change_counters AS c (tenant, last_seq, memories)
            SELECT tenant, 0, count(*) FROM memories GROUP BY tenant
            ON CONFLICT (tenant) DO UPDATE SET memories = excluded.memories
        """,
        """
        CREATE TABLE lexeme_counts (
            tenant TEXT   NOT NULL,
            lexeme TEXT   NOT NULL,
            n      BIGINT NOT NULL,
            PRIMARY KEY (tenant, lexeme)
        )
        """,
        """
        INSERT INTO lexeme_counts (tenant, lexeme, n)
            SELECT m.tenant, l.lexeme, count(*)
            FROM memories AS m, unnest(tsvector_to_array(m.search)) AS l (lexeme)
            GROUP BY m.tenant, l.lexeme
        """,
        # 0008's function, plus the counts: a statement adds (or, deleting, removes) its rows
        # and their words once per tenant and word.
        """
        CREATE OR REPLACE FUNCTION memorymesh_note_changes() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $body$
        DECLARE
            sign BIGINT := CASE WHEN TG_OP = 'DELETE' THEN -1 ELSE 1 END;
        BEGIN
            WITH counted AS (
                SELECT tenant, count(*) AS n FROM changed_rows GROUP BY tenant
            ), bumped AS (
                INSERT INTO change_counters AS c (tenant, last_seq, memories)
                    SELECT tenant, n, sign * n FROM counted
                    ON CONFLICT (tenant) DO UPDATE SET
                        last_seq = c.last_seq + excluded.last_seq,
                        memories = c.memories + excluded.memories
                    RETURNING c.tenant, c.last_seq
            )
            INSERT INTO memory_changes (tenant, seq, memory_id)
                SELECT r.tenant,
                       b.last_seq - k.n
                           + row_number() OVER (PARTITION BY r.tenant ORDER BY r.seq),
                       r.id
                FROM changed_rows AS r
                JOIN bumped AS b ON b.tenant = r.tenant
                JOIN counted AS k ON k.tenant = r.tenant;
            -- In key order: two writers of one tenant (a bare COPY beside a mesh) lock the
            -- rows they share in the same order, so they queue instead of deadlocking.
            INSERT INTO lexeme_counts AS c (tenant, lexeme, n)
                SELECT r.tenant, l.lexeme, sign * count(*)
                FROM changed_rows AS r, unnest(tsvector_to_array(r.search)) AS l (lexeme)
                GROUP BY r.tenant, l.lexeme ORDER BY r.tenant, l.lexeme
                ON CONFLICT (tenant, lexeme) DO UPDATE SET n = c.n + excluded.n;
            PERFORM pg_notify('memorymesh_changes', current_schema() || ' ' || t.tenant)
                FROM (SELECT DISTINCT tenant FROM changed_rows) AS t;
            RETURN NULL;
        END
        $body$
        """,
        # A rewritten text moves its words' counts (updates come one memory at a time).
        """
        CREATE FUNCTION memorymesh_note_rewrite() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $body$
        BEGIN
            IF OLD.search IS DISTINCT FROM NEW.search THEN
                INSERT INTO lexeme_counts AS c (tenant, lexeme, n)
                    SELECT NEW.tenant, d.lexeme, sum(d.n) FROM (
                        SELECT l, -1 FROM unnest(tsvector_to_array(OLD.search)) AS l
                        UNION ALL
                        SELECT l, 1 FROM unnest(tsvector_to_array(NEW.search)) AS l
                    ) AS d (lexeme, n)
                    GROUP BY d.lexeme HAVING sum(d.n) <> 0 ORDER BY d.lexeme
                    ON CONFLICT (tenant, lexeme) DO UPDATE SET n = c.n + excluded.n;
            END IF;
            RETURN NULL;
        END
        $body$
        """,
        "CREATE TRIGGER memories_rewrite AFTER UPDATE OF text ON memories "
        "FOR EACH ROW EXECUTE FUNCTION memorymesh_note_rewrite()",
        # OR-ing a variable number of tsqueries in one expression (the search's rarest words).
        "CREATE AGGREGATE memorymesh_tsquery_or (tsquery) (SFUNC = tsquery_or, STYPE = tsquery)",
    ),
)

_RETOKENISE = Migration(
    "0012_retokenise_conflicts",
    (
        # As SQLite's 0014: the conflict tokeniser changed, so every tenant's stored tokens
        # are emptied and its next keyword-mode write fills them again.
        "DELETE FROM conflict_words",
        "DELETE FROM conflict_memories",
        "DELETE FROM conflict_singles",
        "DELETE FROM store_meta WHERE key = 'conflict_tokens_mark'",
    ),
)

_WORD_CHUNKS = Migration(
    "0013_conflict_word_chunks",
    (
        # One row per word and range of WORD_CHUNK seqs instead of one per word: appending a
        # batch's holders to a common word rewrote (and re-compressed, and wrote to the WAL)
        # its whole array, which grows with the tenant: the batch's upsert took 1.8-2.4 s at
        # 100,000 memories (docs/benchmarks.md); now it rewrites at most WORD_CHUNK seqs.
        # The rows are split in place, so no tenant re-reads its texts.
        "ALTER TABLE conflict_words RENAME TO conflict_words_whole",
        "ALTER INDEX conflict_words_pkey RENAME TO conflict_words_whole_pkey",
        """
        CREATE TABLE conflict_words (
            tenant TEXT     NOT NULL,
            token  TEXT     NOT NULL,
            chunk  BIGINT   NOT NULL,
            seqs   BIGINT[] NOT NULL,
            PRIMARY KEY (tenant, token, chunk)
        )
        """,
        f"""
        INSERT INTO conflict_words (tenant, token, chunk, seqs)
            SELECT w.tenant, w.token, s.seq / {WORD_CHUNK}, array_agg(s.seq ORDER BY s.seq)
            FROM conflict_words_whole AS w, unnest(w.seqs) AS s (seq)
            GROUP BY w.tenant, w.token, s.seq / {WORD_CHUNK}
        """,
        "DROP TABLE conflict_words_whole",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    _INITIAL,
    _UNIQUE_ITEMS,
    _SESSIONS,
    _VECTOR_SEARCH,
    _CHANGE_NOTIFY,
    _CONFLICT_TOKENS,
    _JUDGE,
    _STATEMENT_FEED,
    _COMPACT_TOKENS,
    _KEYWORD_STATISTICS,
    _ACROSS_INDEX,
    _RETOKENISE,
    _WORD_CHUNKS,
)
