"""Which cloud answers: Anthropic's API, Amazon Bedrock, Google Vertex AI or Microsoft Foundry.

The SDK has a client for each; this module only picks one, builds it from the provider's own
environment variables and credential chain (the SDK reads them; nothing is kept here), and knows
what each provider does not offer, so a cell that needs it gets one line naming the provider instead
of a traceback or a 404.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from .failures import BadInput

PROVIDERS = ("anthropic", "bedrock", "vertex", "foundry")
CLOUDS = PROVIDERS[1:]
NAMES = {"anthropic": "the Anthropic API", "bedrock": "Amazon Bedrock", "vertex": "Google Vertex AI",
         "foundry": "Microsoft Foundry"}
# The SDK's client class for each provider, sync and async.
_CLASSES = {"anthropic": ("Anthropic", "AsyncAnthropic"), "bedrock": ("AnthropicBedrock", "AsyncAnthropicBedrock"),
            "vertex": ("AnthropicVertex", "AsyncAnthropicVertex"),
            "foundry": ("AnthropicFoundry", "AsyncAnthropicFoundry")}
# What the SDK's provider clients refuse or the provider does not serve (the SDK's own docs for each
# client: Bedrock has no token counting, batches or Files API; Vertex and Foundry no models endpoint).
LACKS = {
    "bedrock": {"models", "count_tokens", "files", "batches", "web"},
    "vertex": {"models", "files", "batches"},
    "foundry": {"models", "batches"},
}
FEATURES = {
    "models": ("the models endpoint", "`%claude models` lists the API's models only"),
    "count_tokens": ("token counting", "`--count` and `%claude tokens` need the Anthropic API or Vertex"),
    "files": ("the Files API", "send a smaller file, or raise `ClaudeMagics.upload_above` to send it inline"),
    "batches": ("Message Batches", "drop `--batch`: `--map` alone asks the prompts one by one"),
    "web": ("the web search tool", "drop `--web`"),
}
# What the SDK needs installed for a provider's credentials or stream format.
EXTRAS = {"bedrock": ("botocore", "claude-magic[bedrock]"), "vertex": ("google.auth", "claude-magic[vertex]")}
# Where the SDK's provider clients read their settings: hashed (never kept) to notice a change.
_ENVIRONMENT = ("ANTHROPIC_", "AWS_", "CLOUD_ML_", "GOOGLE_")


def provider_of(client: Any) -> str:
    """The provider an SDK client talks to, from its class (a subclass counts as its parent)."""
    names = {cls.__name__ for cls in type(client).__mro__}
    for provider in CLOUDS:
        if names & set(_CLASSES[provider]):
            return provider
    return "anthropic"


def check(client: Any, feature: str) -> None:
    """Nothing when the client's provider offers `feature`; else one line saying so (nothing is sent)."""
    provider = provider_of(client)
    if feature in LACKS.get(provider, ()):
        what, instead = FEATURES[feature]
        raise BadInput(f"{NAMES[provider]} does not offer {what} (provider = {provider!r}): {instead}.")


def environment_signature() -> str:
    """A hash of the variables the SDK's clients read, so a changed variable rebuilds the client."""
    items = sorted((name, value) for name, value in os.environ.items() if name.startswith(_ENVIRONMENT))
    return hashlib.sha256(repr(items).encode()).hexdigest()


def build(provider: str, *, asynchronous: bool = False, **options: Any) -> Any:
    """The SDK's client for `provider`, configured by the provider's own environment; or one line why not."""
    import anthropic

    _require_extra(provider, f"provider = {provider!r}")
    cls = getattr(anthropic, _CLASSES[provider][1 if asynchronous else 0])
    try:
        return cls(**options)
    except (ValueError, anthropic.AnthropicError) as exc:  # the SDK names the variable it missed
        raise BadInput(f"{NAMES[provider]} (provider = {provider!r}): {exc}") from exc


def as_given(client: Any, asynchronous: bool) -> Any:
    """A client passed to `use_client`, checked to be the SDK's; retries are the magic's (see retry.py)."""
    from anthropic._base_client import AsyncAPIClient, SyncAPIClient

    expected = AsyncAPIClient if asynchronous else SyncAPIClient
    if not isinstance(client, expected):
        kind = "an async SDK client (AsyncAnthropic, AsyncAnthropicBedrock, …)" if asynchronous else \
            "an SDK client (Anthropic, AnthropicBedrock, AnthropicVertex, AnthropicFoundry)"
        raise BadInput(f"use_client takes {kind}, not {type(client).__name__}.")
    if provider_of(client) == "bedrock":  # its stream decoder is botocore's (Vertex's token may be given)
        _require_extra("bedrock", f"use_client({type(client).__name__})")
    try:
        return client.with_options(max_retries=0)
    except Exception:  # noqa: BLE001 - a client that cannot be copied is used as it is
        return client


def _require_extra(provider: str, who: str) -> None:
    needs = EXTRAS.get(provider)
    if needs and not _importable(needs[0]):
        raise BadInput(f"{who} needs {needs[0]}: `pip install '{needs[1]}'`, then run the cell again.")


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
