"""The optional judge: a chat model settles the pairs the detector was unsure of.

A write that finds a ``possible_`` conflict keeps both memories and queues the pair in its
store (``conflict_pairs``). :func:`judge_pending` takes the queued pairs, sends the ones with
no cached verdict to the model in one batched request (texts through the privacy guard's
redaction first, whatever the mesh's privacy mode: a secret never leaves the machine), checks
the strict JSON answer, caches every valid verdict (``judge_verdicts``, keyed by a hash of the
model and both texts) and applies the confident ones with the write's own policy. An answer
that is malformed, or a model that cannot be reached, leaves the pairs queued: nothing is
lost, nothing half-applied. :func:`settle` is the one place a verdict changes memories, for
the judge and for a person in the review queue alike, so both are logged the same way and
undone the same way (``restore``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Literal

from .._errors import InvalidInputError
from .._models import Conflict, ConflictPolicy, JudgeReport, Memory
from ..embeddings._chat import ChatModel
from ..stores.base import PairRow, Store
from ._indexes import Indexes
from ._privacy import redact

__all__ = [
    "MIN_CONFIDENCE",
    "SYSTEM_PROMPT",
    "Verdict",
    "judge_pending",
    "pair_memories",
    "parse_answer",
    "prompt_for",
    "settle",
    "verdict_key",
]

logger = logging.getLogger("memorymesh")

#: A verdict below this confidence is not applied: the pair stays in the review queue.
MIN_CONFIDENCE = 0.7
#: Pairs per request at most; a judge run sends one request per this many uncached pairs.
MAX_PAIRS_PER_REQUEST = 40

VerdictKind = Literal["contradiction", "duplicate", "compatible"]
_KINDS: frozenset[str] = frozenset({"contradiction", "duplicate", "compatible"})

SYSTEM_PROMPT = (
    "You compare pairs of short notes an assistant keeps about a user, a project or a team. "
    "For each numbered pair, decide how NEW relates to OLD:\n"
    '- "contradiction": the same subject with a changed fact; NEW replaces OLD, which is out '
    "of date.\n"
    '- "duplicate": NEW says the same as OLD, maybe in other words.\n'
    '- "compatible": both can be true at once (different facts, or one adds a detail).\n'
    "Answer with one JSON object and nothing else, one entry per pair:\n"
    '{"verdicts": [{"pair": 1, "verdict": "contradiction", "confidence": 0.9}]}\n'
    "confidence is a number from 0 to 1."
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judge's answer for one pair."""

    kind: VerdictKind
    confidence: float

    def dumps(self) -> str:
        return json.dumps({"verdict": self.kind, "confidence": self.confidence})

    @staticmethod
    def loads(text: str) -> Verdict | None:
        try:
            data = json.loads(text)
            return _verdict(data.get("verdict"), data.get("confidence"))
        except (ValueError, AttributeError):
            return None


def _verdict(kind: Any, confidence: Any) -> Verdict | None:
    if kind not in _KINDS:
        return None
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        return None
    if not 0.0 <= float(confidence) <= 1.0:
        return None
    return Verdict(kind, float(confidence))


def verdict_key(model: str, old_text: str, new_text: str) -> str:
    """The cache key of a pair's verdict: the same model asked about the same two texts."""
    digest = hashlib.sha256()
    for part in (model, old_text, new_text):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def prompt_for(pairs: Sequence[tuple[str, str]]) -> str:
    """The user message for ``(old_text, new_text)`` pairs, numbered from 1 (texts redacted
    by the caller)."""
    parts = [
        f"Pair {n}\nOLD: {json.dumps(old, ensure_ascii=False)}\n"
        f"NEW: {json.dumps(new, ensure_ascii=False)}"
        for n, (old, new) in enumerate(pairs, 1)
    ]
    return "\n\n".join(parts)


def parse_answer(text: str, count: int) -> dict[int, Verdict]:
    """The valid verdicts in a model's answer, by pair index (0-based).

    Anything else (not JSON, not the agreed shape, a pair number out of range, an unknown
    verdict, a confidence outside [0, 1]) is left out: those pairs stay queued.
    """
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    entries = data.get("verdicts") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return {}
    found: dict[int, Verdict] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        number = entry.get("pair")
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= count:
            continue
        verdict = _verdict(entry.get("verdict"), entry.get("confidence"))
        if verdict is not None and number - 1 not in found:
            found[number - 1] = verdict
    return found


def _current(memory: Memory | None) -> bool:
    return memory is not None and memory.superseded_by is None


async def pair_memories(
    stores: Sequence[Store], store: Store, pairs: Sequence[PairRow]
) -> dict[str, Memory]:
    """The memories of ``store``'s queued pairs; an old memory of the other scope's store (a
    pair queued across scopes) is read there."""
    ids = list(dict.fromkeys([p.new_id for p in pairs] + [p.old_id for p in pairs]))
    found = {m.id: m for m in await store.get_many(ids)} if ids else {}
    for other in stores:
        missing = [i for i in ids if i not in found]
        if other is not store and missing:
            found.update((m.id, m) for m in await other.get_many(missing))
    return found


async def _holder(stores: Sequence[Store], store: Store, memory_id: str) -> Store | None:
    """The store holding ``memory_id``: ``store`` itself, or another of ``stores``."""
    for candidate in (store, *(s for s in stores if s is not store)):
        if await candidate.get_many([memory_id]):
            return candidate
    return None


Decision = Literal["replace", "keep_both", "keep_old"]


def decision_for(verdict: Verdict, policy: ConflictPolicy) -> Decision:
    """What a confident verdict does under the write's policy (the detector's rules):
    ``supersede`` and ``merge`` make the new memory replace the old one, ``skip`` keeps only
    the old one (the new one becomes its history), ``keep_both`` changes nothing."""
    if verdict.kind == "compatible" or policy == "keep_both":
        return "keep_both"
    if policy == "skip":
        return "keep_old"
    return "replace"


async def settle(
    store: Store,
    pair: PairRow,
    decision: Decision,
    *,
    decided_by: str,
    indexes: Indexes | None,
    stores: Sequence[Store] = (),
    kind: str | None = None,
    similarity: float | None = None,
    detail: dict[str, Any] | None = None,
) -> Conflict | None:
    """Apply ``decision`` to a pair queued in ``store`` in one transaction, log who decided,
    and take the pair off the queue; None when the pair is no longer queued or a memory is no
    longer current (the pair is dropped then).

    The old memory may live in another of ``stores`` (a pair across scopes: project and
    global): both stores' transactions are then held, taken in ``stores``' order as a write
    to both takes them, and the supersede link is kept across scopes, as a write keeps it.
    """
    home = await _holder(stores, store, pair.old_id) if stores else store
    # Lock order as the write path's (the mesh's store order), so two writers never wait on
    # each other's locks.
    ordered = [s for s in stores if s is store or s is home] or [store]
    hidden: dict[Store, list[str]] = {}
    async with AsyncExitStack() as stack:
        txs = {s: await stack.enter_async_context(s.write()) for s in ordered}
        tx = txs[store]
        if not await tx.resolve_pairs([(pair.new_id, pair.old_id)]):
            return None
        if home is None:
            return None  # the old memory was forgotten
        there = txs[home]
        found = {m.id: m for m in await tx.get_many([pair.new_id])}
        found.update((m.id, m) for m in await there.get_many([pair.old_id]))
        new, old = found.get(pair.new_id), found.get(pair.old_id)
        if not (_current(new) and _current(old)):
            return None
        statuses = {**await tx.statuses([pair.new_id]), **await there.statuses([pair.old_id])}
        if any(status != "active" for status in statuses.values()):
            return None
        action: Literal["superseded", "kept_both", "skipped"]
        links: list[tuple[str, str]] = []
        if decision == "replace":
            links, action = [(pair.old_id, pair.new_id)], "superseded"
        elif decision == "keep_old":
            links, action = [(pair.new_id, pair.old_id)], "skipped"
        else:
            action = "kept_both"
        conflict = Conflict(
            kind=kind or pair.kind,
            memory_id=pair.old_id,
            similarity=pair.similarity if similarity is None else similarity,
            action=action,
            policy=pair.policy,
            reason=pair.reason,
            decided_by=decided_by,
        )
        source = "review" if decided_by == "review" else "judge"
        entries: list[tuple[str, str | None, str | None, dict[str, Any]]] = [
            (
                "judged",
                pair.new_id,
                source,
                {"decided_by": decided_by, **(detail or {}), "conflicts": [conflict.model_dump()]},
            )
        ]
        await tx.log(entries)
        for old_id, new_id in links:
            # The hidden memory's store keeps the link; across scopes it names its successor
            # in the other store (and the successor's store logs that it superseded it).
            keeper = there if old_id == pair.old_id else tx
            logged: dict[str, Any] = {"superseded_by": new_id, "decided_by": decided_by}
            if there is tx:
                await tx.supersede([(old_id, new_id)])
            else:
                await keeper.supersede_across([(old_id, new_id)])
                logged["across"] = True
                follower = tx if keeper is there else there
                await follower.log([("supersedes", new_id, source, {"across": old_id})])
            await keeper.log([("superseded", old_id, source, logged)])
            hidden.setdefault(home if keeper is there else store, []).append(old_id)
    for holder, ids in hidden.items():
        index = None if indexes is None else indexes.vectors.get(holder)
        if index is not None:
            index.set_superseded(ids)
    return conflict


async def judge_pending(
    stores: Sequence[Store],
    model: ChatModel,
    *,
    indexes: Indexes | None,
    limit: int = 200,
    min_confidence: float = MIN_CONFIDENCE,
) -> JudgeReport:
    """Judge up to ``limit`` queued pairs per store and apply the confident verdicts.

    Raises:
        JudgeError: the model could not be reached or refused; every pair stays queued and
            nothing was applied in the store whose request failed.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInputError("limit must be an integer from 1 to 10000")
    counts = {"pairs": 0, "sent": 0, "cached": 0, "applied": 0, "unsure": 0, "stale": 0}
    decisions: list[Conflict] = []
    for store in stores:
        pairs = await store.pending_pairs(limit=limit)
        if not pairs:
            continue
        counts["pairs"] += len(pairs)
        memories = await pair_memories(stores, store, pairs)
        live: list[tuple[PairRow, str, str, str]] = []  # pair, redacted old, new, cache key
        for pair in pairs:
            new, old = memories.get(pair.new_id), memories.get(pair.old_id)
            if new is None or old is None or not (_current(new) and _current(old)):
                async with store.write() as tx:
                    await tx.resolve_pairs([(pair.new_id, pair.old_id)])
                counts["stale"] += 1
                continue
            # Redacted whatever the mesh's privacy mode: a secret never goes to the model.
            old_text, new_text = redact(old.text)[0], redact(new.text)[0]
            live.append((pair, old_text, new_text, verdict_key(model.name, old_text, new_text)))
        cache = await store.cached_verdicts([key for *_, key in live])
        verdicts: dict[int, Verdict] = {}
        ask: list[int] = []
        for n, (*_, key) in enumerate(live):
            known = Verdict.loads(cache[key]) if key in cache else None
            if known is not None:
                verdicts[n] = known
                counts["cached"] += 1
            else:
                ask.append(n)
        fresh: list[tuple[str, str]] = []
        for start in range(0, len(ask), MAX_PAIRS_PER_REQUEST):
            chunk = ask[start : start + MAX_PAIRS_PER_REQUEST]
            answer = await model.complete(
                SYSTEM_PROMPT, prompt_for([(live[n][1], live[n][2]) for n in chunk])
            )
            counts["sent"] += len(chunk)
            parsed = parse_answer(answer, len(chunk))
            if len(parsed) < len(chunk):
                logger.warning(
                    "memorymesh judge %s: %d of %d verdicts missing or malformed; "
                    "those pairs stay in the review queue",
                    model.name,
                    len(chunk) - len(parsed),
                    len(chunk),
                )
            for position, answered in parsed.items():
                verdicts[chunk[position]] = answered
                fresh.append((live[chunk[position]][3], answered.dumps()))
        if fresh:
            async with store.write() as tx:
                await tx.cache_verdicts(fresh)
        for n, (pair, *_) in enumerate(live):
            verdict = verdicts.get(n)
            if verdict is None or verdict.confidence < min_confidence:
                counts["unsure"] += 1
                continue
            kind = {"contradiction": "contradiction", "duplicate": "near_duplicate"}.get(
                verdict.kind, pair.kind
            )
            conflict = await settle(
                store,
                pair,
                decision_for(verdict, pair.policy),  # type: ignore[arg-type]
                decided_by=f"judge:{model.name}",
                indexes=indexes,
                stores=stores,
                kind=kind,
                detail={"verdict": verdict.kind, "confidence": verdict.confidence},
            )
            if conflict is None:
                counts["stale"] += 1
                continue
            counts["applied"] += 1
            decisions.append(conflict)
    return JudgeReport(judge=model.name, decisions=tuple(decisions), **counts)
