"""Chat models the conflict judge asks: Ollama's ``/api/chat`` and any OpenAI-compatible
``/chat/completions``, over the same HTTP plumbing as the embedders (``HTTPProvider``).

A chat model is any object with a ``name`` and an async ``complete(system, user)`` returning
the answer's text: the judge (``writes/_judge.py``) needs nothing more. Nothing here is used
unless a judge was configured (``judge=`` or ``MEMORYMESH_JUDGE``).
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .._errors import InvalidInputError, JudgeError
from ._embedders import HTTPProvider

__all__ = [
    "JUDGE_ENV",
    "JUDGE_KEY_ENV",
    "JUDGE_URL_ENV",
    "ChatModel",
    "OllamaChat",
    "OpenAIChat",
    "resolve_judge",
]

#: ``provider:model`` of the judge (``ollama:llama3.2``, ``openai:gpt-4o-mini``); unset: none.
JUDGE_ENV = "MEMORYMESH_JUDGE"
#: The judge's server, when it is not the one the embedders use.
JUDGE_URL_ENV = "MEMORYMESH_JUDGE_URL"
#: The bearer key an OpenAI-compatible judge sends, when not ``OPENAI_API_KEY``.
JUDGE_KEY_ENV = "MEMORYMESH_JUDGE_KEY"


@runtime_checkable
class ChatModel(Protocol):
    """A model that answers one system + user message with text."""

    @property
    def name(self) -> str:
        """A stable id of the model (``ollama:llama3.2``): recorded as who decided."""
        ...

    async def complete(self, system: str, user: str) -> str:
        """The model's answer to ``user`` under the ``system`` instructions."""
        ...


class _HTTPChat(HTTPProvider):
    role = "judge"
    error = JudgeError

    @abstractmethod
    def _payload(self, system: str, user: str) -> dict[str, Any]:
        """The provider's request body for one system + user message."""

    @abstractmethod
    def _content(self, body: Any) -> str:
        """The answer's text from the provider's response body."""

    async def complete(self, system: str, user: str) -> str:
        import httpx

        async with httpx.AsyncClient(timeout=self.timeout) as client:
            body = await self._post(client, self._payload(system, user))
        try:
            content = self._content(body)
        except (KeyError, TypeError, IndexError) as exc:
            raise JudgeError(f"{self.name} answered in an unexpected shape: {exc!r}") from None
        if not isinstance(content, str):
            raise JudgeError(f"{self.name} answered without text")
        return content


def _messages(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class OllamaChat(_HTTPChat):
    """A model on an Ollama server, asked through ``POST /api/chat`` for a JSON answer.

    Args:
        model: e.g. ``llama3.2`` or ``qwen2.5``.
        base_url: The server (default ``$MEMORYMESH_JUDGE_URL``, ``$OLLAMA_HOST`` or
            ``http://localhost:11434``).
        timeout: Seconds per request (a batch of pairs can take a while on a CPU).
        retries: Extra attempts after a timeout, connection error, 429 or 5xx.
    """

    provider = "ollama"

    def __init__(
        self,
        model: str = "llama3.2",
        *,
        base_url: str | None = None,
        timeout: float = 120.0,
        retries: int = 1,
    ) -> None:
        host = (
            base_url
            or os.environ.get(JUDGE_URL_ENV)
            or os.environ.get("OLLAMA_HOST")
            or "http://localhost:11434"
        )
        if "://" not in host:
            host = "http://" + host
        super().__init__(model, base_url=host, timeout=timeout, retries=retries)

    @property
    def url(self) -> str:
        return self.base_url + "/api/chat"

    def _payload(self, system: str, user: str) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": _messages(system, user),
            "stream": False,
            "format": "json",
            "options": {"temperature": 0},
        }

    def _content(self, body: Any) -> str:
        content: str = body["message"]["content"]
        return content


class OpenAIChat(_HTTPChat):
    """A model behind any OpenAI-compatible ``POST /chat/completions`` (OpenAI, LM Studio,
    vLLM, llama.cpp's server…), asked for a JSON object.

    Args:
        model: e.g. ``gpt-4o-mini``.
        base_url: Up to and including ``/v1`` (default ``$MEMORYMESH_JUDGE_URL``,
            ``$OPENAI_BASE_URL`` or OpenAI's).
        api_key: Sent as a bearer token (default ``$MEMORYMESH_JUDGE_KEY`` or
            ``$OPENAI_API_KEY``; local servers need none).
        timeout: Seconds per request.
        retries: Extra attempts after a timeout, connection error, 429 or 5xx.
    """

    provider = "openai"

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int = 1,
    ) -> None:
        key = (
            api_key
            if api_key is not None
            else os.environ.get(JUDGE_KEY_ENV) or os.environ.get("OPENAI_API_KEY")
        )
        super().__init__(
            model,
            base_url=base_url
            or os.environ.get(JUDGE_URL_ENV)
            or os.environ.get("OPENAI_BASE_URL")
            or "https://api.openai.com/v1",
            timeout=timeout,
            retries=retries,
            headers={"Authorization": f"Bearer {key}"} if key else None,
        )

    @property
    def url(self) -> str:
        return self.base_url + "/chat/completions"

    def _payload(self, system: str, user: str) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": _messages(system, user),
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }

    def _content(self, body: Any) -> str:
        content: str = body["choices"][0]["message"]["content"]
        return content


_PROVIDERS: dict[str, Callable[[str], ChatModel]] = {"ollama": OllamaChat, "openai": OpenAIChat}


def resolve_judge(spec: str | ChatModel | None) -> ChatModel | None:
    """The judge ``spec`` names: ``None`` reads ``$MEMORYMESH_JUDGE`` (unset: no judge),
    ``"none"`` is no judge, ``"ollama:MODEL"`` / ``"openai:MODEL"`` a provider and model, or
    any object with ``name`` and async ``complete(system, user)``.

    Raises:
        InvalidInputError: an unknown provider, a missing model, or an object that is not a
            chat model.
    """
    if spec is None:
        spec = os.environ.get(JUDGE_ENV) or None
        if spec is None:
            return None
    if isinstance(spec, str):
        if spec.strip().lower() in ("", "none", "off"):
            return None
        provider, _, model = spec.strip().partition(":")
        factory = _PROVIDERS.get(provider)
        if factory is None or not model:
            raise InvalidInputError(
                f"judge {spec!r} is not PROVIDER:MODEL with a provider of "
                f"{', '.join(sorted(_PROVIDERS))} (e.g. ollama:llama3.2), or none"
            )
        return factory(model)
    if isinstance(spec, ChatModel):
        return spec
    raise InvalidInputError(
        f"{type(spec).__name__} is not a judge: it needs `name` and async `complete(system, user)`"
    )
