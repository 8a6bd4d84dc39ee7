"""The optional judge, for real: a chat server on 127.0.0.1 speaking Ollama's ``/api/chat``
and OpenAI's ``/v1/chat/completions`` request and response shapes (no model is reachable
offline, so the server answers what each test tells it to), against real SQLite stores."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from _http_server import ChatServer

from memorymesh import (
    AsyncMemoryMesh,
    InvalidInputError,
    JudgeError,
    MemoryMesh,
    OllamaChat,
    OpenAIChat,
)
from memorymesh.cli import main
from memorymesh.embeddings._chat import resolve_judge
from memorymesh.writes._judge import parse_answer, verdict_key
from memorymesh.writes._privacy import redact

pytestmark = pytest.mark.anyio

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
#: Two pairs the detector is unsure of (checked by each test before it relies on them).
PAIRS = [
    (
        f"Ana's sister lives in Madrid, token {TOKEN}",
        f"Ana's sister works in Madrid, token {TOKEN}",
    ),
    ("Maria owns the billing service", "Maria owns the billing service and its on-call rotation"),
]

#: What the model answers, given the (old, new) texts of the pairs in the request.
Answer = Callable[[list[tuple[str, str]]], str]


def verdicts(*items: tuple[str, float]) -> Answer:
    """An answer giving the pair whose old text is ``PAIRS[i]``'s the i-th (verdict,
    confidence), whatever order the pairs come in."""

    def answer(pairs: list[tuple[str, str]]) -> str:
        found = []
        for n, (old, _) in enumerate(pairs, 1):
            i = next(i for i, (o, _) in enumerate(PAIRS) if o[:20] == old[:20])
            if i < len(items):
                kind, confidence = items[i]
                found.append({"pair": n, "verdict": kind, "confidence": confidence})
        return json.dumps({"verdicts": found})

    return answer


class _ChatServer(ChatServer):
    """The chat server, answering the verdicts each test gives (none by default)."""

    def __init__(self) -> None:
        super().__init__()
        self.answer: Answer = verdicts()


@pytest.fixture
def server() -> Iterator[_ChatServer]:
    with _ChatServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _no_judge_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MEMORYMESH_JUDGE", "MEMORYMESH_JUDGE_URL", "MEMORYMESH_JUDGE_KEY"):
        monkeypatch.delenv(name, raising=False)


def _mesh(tmp_path: Path, judge: Any = None, **kw: Any) -> AsyncMemoryMesh:
    return AsyncMemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", privacy="allow", judge=judge, **kw
    )


async def _store_pairs(mesh: AsyncMemoryMesh, pairs: list[tuple[str, str]] = PAIRS) -> list[Any]:
    """Store the old texts, then the new ones in one batch; return (old, new) memories,
    checking each pair is one the detector is unsure of."""
    olds = await mesh.remember_many([{"text": o, "scope": "project"} for o, _ in pairs])
    news = await mesh.remember_many([{"text": n, "scope": "project"} for _, n in pairs])
    for old, new in zip(olds, news, strict=True):
        assert [(c.kind[:9], c.memory_id) for c in new.conflicts] == [("possible_", old.id)]
        assert new.conflicts[0].action == "kept_both"
    return list(zip(olds, news, strict=True))


def _request(server: _ChatServer, path: str) -> dict[str, Any]:
    [(got_path, body, _)] = server.requests
    assert got_path == path
    return body


async def test_nothing_is_sent_when_no_judge_is_configured(
    tmp_path: Path, server: _ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even with a server running where an Ollama would be, nothing reaches it.
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    async with _mesh(tmp_path) as mesh:
        assert mesh.judge is None
        await _store_pairs(mesh)
        report = await mesh.judge_pending()
        assert (report.judge, report.pairs, report.sent, report.applied) == (None, 2, 0, 0)
        assert len(await mesh.conflict_pairs()) == 2  # still waiting for a person
    assert server.requests == []
    assert resolve_judge(None) is None and resolve_judge("none") is None


async def test_the_environment_names_the_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORYMESH_JUDGE", "openai:gpt-4o-mini")
    monkeypatch.setenv("MEMORYMESH_JUDGE_URL", "http://127.0.0.1:9/v1")
    judge = resolve_judge(None)
    assert isinstance(judge, OpenAIChat) and judge.name == "openai:gpt-4o-mini"
    assert judge.url == "http://127.0.0.1:9/v1/chat/completions"
    with pytest.raises(InvalidInputError, match="PROVIDER:MODEL"):
        resolve_judge("ollama")
    with pytest.raises(InvalidInputError, match="PROVIDER:MODEL"):
        resolve_judge("gemini:pro")


async def test_ollama_one_batched_redacted_request_and_the_verdict_is_applied_and_undoable(
    tmp_path: Path, server: _ChatServer
) -> None:
    server.answer = verdicts(("contradiction", 0.95), ("duplicate", 0.9))
    judge = OllamaChat("llama3.2", base_url=server.url)
    async with _mesh(tmp_path, judge) as mesh:
        (old1, new1), (old2, new2) = await _store_pairs(mesh)
        # Writes return without waiting for the judge; let its background run finish.
        with anyio.fail_after(30):
            while await mesh.conflict_pairs():
                await anyio.lowlevel.checkpoint()
        body = _request(server, "/api/chat")
        assert body["model"] == "llama3.2"
        assert (body["stream"], body["format"], body["options"]) == (
            False,
            "json",
            {"temperature": 0},
        )
        system, user = body["messages"]
        assert (system["role"], user["role"]) == ("system", "user")
        assert '"verdicts"' in system["content"]
        # Both pairs in one request, old then new, the secret redacted though the mesh
        # stores text as given (privacy="allow").
        assert TOKEN not in json.dumps(body)
        assert "[REDACTED:github_token]" in user["content"]
        assert user["content"].index("lives in Madrid") < user["content"].index("works in Madrid")
        assert "on-call rotation" in user["content"] and "Pair 2" in user["content"]
        # Applied with the write's policy (supersede): both new memories replace the old ones.
        assert (await mesh.get(old1.id)).superseded_by == new1.id
        assert (await mesh.get(old2.id)).superseded_by == new2.id
        assert [m.id for m in await mesh.history(new1.id)] == [old1.id, new1.id]
        log = await mesh.log(limit=50)
        judged = [e for e in log if e.action == "judged" and e.memory_id == new1.id]
        [entry] = judged
        assert entry.detail["decided_by"] == "judge:ollama:llama3.2"
        [conflict] = entry.detail["conflicts"]
        assert (conflict["kind"], conflict["action"], conflict["memory_id"]) == (
            "contradiction",
            "superseded",
            old1.id,
        )
        assert conflict["decided_by"] == "judge:ollama:llama3.2"
        superseded = [e for e in log if e.action == "superseded" and e.memory_id == old1.id]
        assert superseded[0].detail["decided_by"] == "judge:ollama:llama3.2"
        # Undoable from history.
        back = await mesh.restore(old1.id)
        assert back.superseded_by is None
        assert (await mesh.get(new1.id)).superseded_by == old1.id


async def test_a_cached_verdict_is_never_sent_again(tmp_path: Path, server: _ChatServer) -> None:
    # Not confident: the pair stays in the review queue, the verdict is cached.
    server.answer = verdicts(("contradiction", 0.4))
    mesh = _mesh(tmp_path, OllamaChat("llama3.2", base_url=server.url))
    try:
        await _store_pairs(mesh, PAIRS[:1])
        first = await mesh.judge_pending()
        assert (first.sent, first.cached, first.unsure, first.applied) == (1, 0, 1, 0)
        second = await mesh.judge_pending()
        assert (second.sent, second.cached, second.unsure) == (0, 1, 1)
        assert len(server.requests) == 1  # the second run sent nothing
        assert len(await mesh.conflict_pairs()) == 1
    finally:
        await mesh.aclose()


async def test_openai_shape_with_key_and_a_compatible_verdict_keeps_both(
    tmp_path: Path, server: _ChatServer
) -> None:
    server.answer = verdicts(("contradiction", 0.9), ("compatible", 0.9))
    judge = OpenAIChat("gpt-4o-mini", base_url=server.url + "/v1", api_key="sk-test")
    with MemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", judge=judge
    ) as mesh:  # the blocking twin holds a task group too
        assert mesh.judge is judge
        old = mesh.remember(PAIRS[1][0], scope="project")
        new = mesh.remember(PAIRS[1][1], scope="project")
        mesh.judge_pending()  # waits for the background run; never sends a pair twice
        assert mesh.conflict_pairs() == []
        assert mesh.get(old.id).superseded_by is None and mesh.get(new.id).superseded_by is None
        judged = [e for e in mesh.log(limit=20) if e.action == "judged"]
        assert judged[0].detail["conflicts"][0]["action"] == "kept_both"
    [(path, body, headers)] = server.requests
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["response_format"] == {"type": "json_object"} and body["temperature"] == 0
    assert body["model"] == "gpt-4o-mini"


@pytest.mark.parametrize(
    "answer",
    [
        "this is not JSON",
        json.dumps({"verdict": "contradiction"}),  # not the agreed shape
        json.dumps({"verdicts": [{"pair": 3, "verdict": "contradiction", "confidence": 0.9}]}),
        json.dumps({"verdicts": [{"pair": 1, "verdict": "maybe", "confidence": 0.9}]}),
        json.dumps({"verdicts": [{"pair": 1, "verdict": "duplicate", "confidence": 7}]}),
    ],
)
async def test_a_malformed_answer_leaves_the_pair_queued(
    tmp_path: Path, server: _ChatServer, answer: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.answer = lambda pairs: answer
    mesh = _mesh(tmp_path, OllamaChat("llama3.2", base_url=server.url))
    try:
        [(old, new)] = await _store_pairs(mesh, PAIRS[:1])
        report = await mesh.judge_pending()
        assert (report.sent, report.applied, report.unsure) == (1, 0, 1)
        assert "malformed" in caplog.text
        assert [(p.new.id, p.old.id) for p in await mesh.conflict_pairs()] == [(new.id, old.id)]
        assert (await mesh.get(old.id)).superseded_by is None
        # Nothing was cached: the next run asks again.
        await mesh.judge_pending()
        assert len(server.requests) == 2
    finally:
        await mesh.aclose()


def test_parse_answer_takes_the_valid_entries_only() -> None:
    text = json.dumps(
        {
            "verdicts": [
                {"pair": 1, "verdict": "duplicate", "confidence": 0.8},
                {"pair": 2, "verdict": "contradiction", "confidence": True},
                {"pair": "3", "verdict": "compatible", "confidence": 0.9},
                {"pair": 4, "verdict": "compatible", "confidence": 1},
            ]
        }
    )
    assert {n: (v.kind, v.confidence) for n, v in parse_answer(text, 4).items()} == {
        0: ("duplicate", 0.8),
        3: ("compatible", 1.0),
    }
    assert parse_answer("[1, 2]", 2) == {}


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_judge_that_is_down_raises_a_typed_error_and_loses_nothing(
    tmp_path: Path,
) -> None:
    mesh = _mesh(tmp_path, OllamaChat("llama3.2", base_url=_closed_port(), retries=0))
    try:
        [(old, new)] = await _store_pairs(mesh, PAIRS[:1])
        with pytest.raises(JudgeError, match="cannot reach"):
            await mesh.judge_pending()
        assert [(p.new.id, p.old.id) for p in await mesh.conflict_pairs()] == [(new.id, old.id)]
    finally:
        await mesh.aclose()


async def test_a_busy_judge_is_retried(tmp_path: Path, server: _ChatServer) -> None:
    server.fail_next = [503]
    server.answer = verdicts(("contradiction", 0.9))
    mesh = _mesh(tmp_path, OllamaChat("llama3.2", base_url=server.url, retries=1))
    try:
        [(old, new)] = await _store_pairs(mesh, PAIRS[:1])
        report = await mesh.judge_pending()
        assert report.applied == 1 and len(server.requests) == 2
        assert (await mesh.get(old.id)).superseded_by == new.id
    finally:
        await mesh.aclose()


async def test_a_background_judge_that_is_down_leaves_the_pairs_for_review(
    tmp_path: Path,
) -> None:
    async with _mesh(tmp_path, OllamaChat("llama3.2", base_url=_closed_port(), retries=0)) as mesh:
        await _store_pairs(mesh, PAIRS[:1])
        with anyio.fail_after(30):
            while mesh._judge_scope is not None:  # the background run, until it gives up
                await anyio.lowlevel.checkpoint()
        assert len(await mesh.conflict_pairs()) == 1


async def test_skip_policy_keeps_the_old_memory(tmp_path: Path, server: _ChatServer) -> None:
    server.answer = verdicts(("contradiction", 0.9), ("duplicate", 0.9))
    mesh = _mesh(tmp_path, OllamaChat("llama3.2", base_url=server.url), on_conflict="skip")
    try:
        [(old, new)] = await _store_pairs(mesh, PAIRS[1:])
        await mesh.judge_pending()
        assert (await mesh.get(new.id)).superseded_by == old.id
        assert (await mesh.get(old.id)).superseded_by is None
    finally:
        await mesh.aclose()


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _cli_pair(capsys: pytest.CaptureFixture[str], old_text: str, new_text: str) -> tuple[str, str]:
    ids = []
    for text in (old_text, new_text):
        code, out, _ = _cli(capsys, "remember", "--json", "--scope", "project", text)
        assert code == 0
        ids.append(json.loads(out)["id"])
    return ids[0], ids[1]


def test_review_cli_lists_and_settles_possible_conflicts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = _cli_pair(capsys, *PAIRS[1])
    code, out, _ = _cli(capsys, "review")
    assert code == 0 and "1 possible conflicts kept both" in out
    assert f"{new[:8]} {old[:8]}" in out and "on-call rotation" in out
    code, out, _ = _cli(capsys, "review", "--json")
    [pair] = json.loads(out)["conflicts"]
    assert (pair["new"]["id"], pair["old"]["id"]) == (new, old)
    code, out, _ = _cli(capsys, "review", "--replace", new[:8], old[:8])
    assert code == 0 and f"replaced {old[:8]}" in out and "The review queue is empty." in out
    code, out, _ = _cli(capsys, "show", "--json", old[:8])
    assert json.loads(out)["superseded_by"] == new
    # keep both, on another pair
    old2, new2 = _cli_pair(capsys, *PAIRS[0])
    code, out, _ = _cli(capsys, "review", "--keep-both", new2[:8], old2[:8], "--json")
    assert code == 0 and json.loads(out)["decided"][0]["action"] == "kept_both"
    code, _, err = _cli(capsys, "review", "--keep-both", new2[:8], old2[:8])
    assert code == 2 and "no uncertain pair" in err


def test_review_cli_settles_a_possible_conflict_across_scopes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The earlier memory is global, the newer one the project's: queued and settled the same.
    ids = []
    for scope, text in (("global", PAIRS[1][0]), ("project", PAIRS[1][1])):
        code, out, _ = _cli(capsys, "remember", "--json", "--scope", scope, text)
        assert code == 0
        ids.append(json.loads(out)["id"])
    old, new = ids
    code, out, _ = _cli(capsys, "review", "--json")
    [pair] = json.loads(out)["conflicts"]
    assert (pair["new"]["scope"], pair["old"]["scope"]) == ("project", "global")
    code, out, _ = _cli(capsys, "review", "--replace", new[:8], old[:8])
    assert code == 0 and f"replaced {old[:8]}" in out and "The review queue is empty." in out
    code, out, _ = _cli(capsys, "show", "--json", old[:8])
    assert json.loads(out)["superseded_by"] == new


def test_judge_cli(
    capsys: pytest.CaptureFixture[str], server: _ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = _cli_pair(capsys, *PAIRS[1])
    code, out, err = _cli(capsys, "judge")
    assert code == 2 and "no judge is configured" in err and "1 possible conflicts" in err
    assert server.requests == []
    server.answer = verdicts(("contradiction", 0.9), ("duplicate", 0.9))
    monkeypatch.setenv("MEMORYMESH_JUDGE_URL", server.url)
    code, out, _ = _cli(capsys, "judge", "--model", "ollama:llama3.2")
    assert code == 0, out
    assert "ollama:llama3.2: 1 possible conflicts, 1 sent" in out and "1 decided" in out
    monkeypatch.setenv("MEMORYMESH_JUDGE", "ollama:llama3.2")
    code, out, _ = _cli(capsys, "judge", "--json")
    assert code == 0 and json.loads(out)["pairs"] == 0
    assert len(server.requests) == 1
    code, out, _ = _cli(capsys, "show", "--json", old[:8])
    assert json.loads(out)["superseded_by"] == new


async def test_an_encrypted_store_keeps_no_text_in_the_queue_or_the_cache(
    tmp_path: Path, server: _ChatServer
) -> None:
    pytest.importorskip("cryptography")
    server.answer = verdicts(("contradiction", 0.9), ("duplicate", 0.4))
    judge = OllamaChat("llama3.2", base_url=server.url)
    mesh = _mesh(tmp_path, judge, encryption_key="correct horse battery")
    try:
        await _store_pairs(mesh, PAIRS[1:])
        [pair] = await mesh.conflict_pairs()
        assert pair.reason == ""  # the detector's reason quotes the texts' words
        assert (await mesh.judge_pending()).sent == 1
        assert (await mesh.judge_pending()).cached == 1  # found again under its keyed hash
    finally:
        await mesh.aclose()
    with sqlite3.connect(tmp_path / "p.db") as db:
        [(key,)] = db.execute("SELECT key FROM judge_verdicts").fetchall()
        [(reason,)] = db.execute("SELECT reason FROM conflict_pairs").fetchall()
    texts = (redact(PAIRS[1][0])[0], redact(PAIRS[1][1])[0])
    assert key != verdict_key("ollama:llama3.2", *texts) and reason == ""


async def test_verdicts_exported_into_an_encrypted_store_are_found_there_and_not_back(
    tmp_path: Path, server: _ChatServer
) -> None:
    # An encrypted file keeps only keyed hashes of the verdicts' keys: an export from it can
    # carry no verdict another store could look up (the judge asks again there), and an
    # import into it keys the plain keys it is given, so its judge finds them.
    pytest.importorskip("cryptography")
    server.answer = verdicts(("duplicate", 0.4), ("duplicate", 0.4))
    judge = OllamaChat("llama3.2", base_url=server.url)
    plain = AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db", judge=judge)
    try:
        await _store_pairs(plain)
        assert (await plain.judge_pending()).sent == 2
        document = tmp_path / "plain.jsonl"
        await plain.export(document)
    finally:
        await plain.aclose()
    key = "correct horse battery"
    sealed = AsyncMemoryMesh(
        tmp_path / "e.db", global_path=tmp_path / "eg.db", judge=judge, encryption_key=key
    )
    try:
        report = await sealed.import_(document)
        assert (report.pairs, report.verdicts) == (2, 2)
        assert {p.reason for p in await sealed.conflict_pairs()} == {""}  # no words kept
        judged = await sealed.judge_pending()
        assert (judged.sent, judged.cached) == (0, 2)
        back = tmp_path / "sealed.jsonl"
        await sealed.export(back, encrypt=False)
    finally:
        await sealed.aclose()
    lines = [json.loads(line) for line in back.read_text(encoding="utf-8").splitlines()[1:]]
    assert {r.get("type") for r in lines} == {None, "conflict_pair"}
    with sqlite3.connect(tmp_path / "e.db") as db:
        stored = {k for (k,) in db.execute("SELECT key FROM judge_verdicts").fetchall()}
    assert len(stored) == 2 and not stored & {r["key"] for r in _verdict_lines(document)}


def _verdict_lines(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    return [r for r in lines if r.get("type") == "judge_verdict"]
