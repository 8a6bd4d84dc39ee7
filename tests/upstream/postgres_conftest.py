"""The ``tests/conftest.py`` of LangGraph's PostgreSQL store suite, for ``make upstream``.

``run.py`` writes this file in place of LangGraph's own (which connects to a fixed server on
localhost:5441 and empties PostgresStore's tables before each test). The suite's test modules
import three names from it; the store fixtures stay in those modules and create their
databases on the real PostgreSQL ``run.py`` started (``$MEMORYMESH_UPSTREAM_PG_URL``).
"""

from __future__ import annotations

import os

import pytest
from tests.embed_test_utils import CharacterEmbeddings

#: The server's ``postgres`` database; the fixtures swap the database name for their own.
DEFAULT_URI = os.environ["MEMORYMESH_UPSTREAM_PG_URL"]

#: The pgvector column types PostgresStore's vector tests are parametrized over.
VECTOR_TYPES = ["vector", "halfvec"]

__all__ = ["DEFAULT_URI", "VECTOR_TYPES", "CharacterEmbeddings", "fake_embeddings"]


@pytest.fixture
def fake_embeddings() -> CharacterEmbeddings:
    return CharacterEmbeddings(dims=500)
