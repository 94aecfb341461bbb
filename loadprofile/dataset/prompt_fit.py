"""How large each turn's prompt is, and which turns a server's context or a prompt cap leaves
out (pure).

A turn's prompt is what it sends with its recorded history: the system prompt, every earlier
user message and recorded reply, and its own user message. Its size is the project's local
estimate (characters / 4, ``estimate_tokens``, as for servers that report no usage): no
server tokenizer is at hand before the run, and the estimate is good enough to find the
conversations that are far too long for a server, which is what a first run trips over.

Prompts only grow along a conversation (each turn's prompt holds the previous one), so the
turns over any bound are always a conversation's last ones: cutting a conversation at its
first turn over the bound skips exactly the turns over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from loadprofile.client.apis.openai_chat import CHARS_PER_TOKEN, estimate_tokens
from loadprofile.dataset.turns import Conversation
from loadprofile.errors import ConfigError

__all__ = [
    "ContextFit",
    "PromptSkip",
    "context_fit",
    "context_warning",
    "limit_prompts",
    "skip_long_prompts",
    "turn_prompt_tokens",
]


def turn_prompt_tokens(conv: Conversation) -> list[int]:
    """The estimated prompt tokens of each turn, sent with its recorded history (the sum of
    the message texts ``build_messages`` sends, as ``prompt_chars`` counts them)."""
    chars = len(conv.system) if conv.system is not None else 0
    sizes = []
    for turn in conv.turns:
        sizes.append(estimate_tokens(chars + len(turn.user)))
        chars += len(turn.user) + len(turn.assistant or "")
    return sizes


# --- --max-prompt-tokens ----------------------------------------------------------------


@dataclass(frozen=True)
class PromptSkip:
    """What ``--max-prompt-tokens`` left out of the dataset, for the console and run.json."""

    limit: int
    conversations: int  # in the dataset
    turns: int
    conversations_cut: int  # kept, without their turns from the first one over the limit
    conversations_dropped: int  # their first turn was already over the limit
    turns_skipped: int

    @property
    def conversations_run(self) -> int:
        return self.conversations - self.conversations_dropped

    def to_json(self) -> dict[str, int]:
        return {
            "limit": self.limit,
            "turns_skipped": self.turns_skipped,
            "turns_run": self.turns - self.turns_skipped,
            "conversations_cut": self.conversations_cut,
            "conversations_dropped": self.conversations_dropped,
            "conversations_run": self.conversations_run,
        }

    def describe(self) -> str:
        """One console line."""
        if not self.turns_skipped:
            return (
                f"--max-prompt-tokens {self.limit:,}: every turn's prompt fits; all "
                f"{self.conversations:,} conversations run"
            )
        return (
            f"--max-prompt-tokens {self.limit:,}: skipped {self.turns_skipped:,} of "
            f"{self.turns:,} turns (a conversation ends before its first longer prompt: "
            f"{self.conversations_cut:,} cut short, {self.conversations_dropped:,} left "
            f"out); {self.conversations_run:,} of {self.conversations:,} conversations run "
            f"(prompts estimated at {CHARS_PER_TOKEN:g} characters a token)"
        )


def skip_long_prompts(
    convs: Sequence[Conversation], limit: int
) -> tuple[list[Conversation], PromptSkip]:
    """The conversations without their turns whose estimated prompt exceeds ``limit``.

    A conversation is cut at its first such turn, never skipped past it: every later turn's
    prompt holds that turn (its history), so sending a later turn without it would send a
    prompt nobody recorded, and with it the prompt is longer still. Since prompts only grow,
    the cut skips exactly the turns over the limit. A conversation whose first turn is over
    the limit is left out; the others keep their ids, so runs stay comparable turn by turn.
    """
    kept: list[Conversation] = []
    cut = dropped = skipped = 0
    for conv in convs:
        sizes = turn_prompt_tokens(conv)
        first_over = next((i for i, size in enumerate(sizes) if size > limit), len(sizes))
        skipped += len(sizes) - first_over
        if first_over == 0:
            dropped += 1
        elif first_over < len(sizes):
            cut += 1
            kept.append(replace(conv, turns=conv.turns[:first_over]))
        else:
            kept.append(conv)
    skip = PromptSkip(
        limit=limit,
        conversations=len(convs),
        turns=sum(len(c.turns) for c in convs),
        conversations_cut=cut,
        conversations_dropped=dropped,
        turns_skipped=skipped,
    )
    return kept, skip


def limit_prompts(
    convs: list[Conversation], limit: int | None
) -> tuple[list[Conversation], PromptSkip | None]:
    """``skip_long_prompts`` for a run (``limit`` None: the dataset as it is); a limit that
    leaves nothing to send is a usage error, not an empty run."""
    if limit is None:
        return convs, None
    kept, skip = skip_long_prompts(convs, limit)
    if not kept:
        shortest = min(turn_prompt_tokens(c)[0] for c in convs)
        raise ConfigError(
            f"--max-prompt-tokens {limit} skips every conversation: the shortest "
            f"first prompt is about {shortest:,} tokens"
        )
    return kept, skip


# --- a server's context -------------------------------------------------------------------


@dataclass(frozen=True)
class ContextFit:
    """How much of a dataset fits a server's context: a turn fits when its estimated prompt
    plus its max_tokens does (a server that cannot hold both rejects the request, as vLLM
    does, or cuts the reply short, as llama.cpp does when only the prompt fits)."""

    context_tokens: int
    conversations: int
    turns: int
    conversations_over: int  # with at least one turn that does not fit
    turns_over: int
    #: The --max-prompt-tokens that skips every turn that does not fit (None: max_tokens
    #: alone fills the context, no prompt cap helps).
    max_prompt_tokens: int | None


def context_fit(
    convs: Sequence[Conversation], context_tokens: int, default_max_tokens: int | None
) -> ContextFit:
    """Count the turns (and conversations) over ``context_tokens``. A turn's max_tokens is its
    own from the dataset, else ``default_max_tokens`` (None: only the prompt must fit)."""
    conversations_over = turns_over = 0
    largest_budget = 0  # of the turns over: the cap must leave room for it
    for conv in convs:
        over = 0
        for turn, prompt in zip(conv.turns, turn_prompt_tokens(conv), strict=True):
            budget = turn.max_tokens if turn.max_tokens is not None else default_max_tokens or 0
            if prompt + budget > context_tokens:
                over += 1
                largest_budget = max(largest_budget, budget)
        turns_over += over
        conversations_over += over > 0
    cap = context_tokens - largest_budget
    return ContextFit(
        context_tokens=context_tokens,
        conversations=len(convs),
        turns=sum(len(c.turns) for c in convs),
        conversations_over=conversations_over,
        turns_over=turns_over,
        max_prompt_tokens=cap if cap >= 1 else None,
    )


def context_warning(fit: ContextFit, source: str) -> str | None:
    """One console line when some turns would not fit (None when all do); ``source`` says
    where the context size came from, e.g. "llama.cpp /props n_ctx"."""
    if not fit.turns_over:
        return None
    head = (
        f"server context {fit.context_tokens:,} tokens ({source}): "
        f"{fit.conversations_over:,} of {fit.conversations:,} conversations have turns "
        f"that would not fit (prompt + max_tokens, prompts estimated at "
        f"{CHARS_PER_TOKEN:g} characters a token; {fit.turns_over:,} of {fit.turns:,} "
        "turns)"
    )
    if fit.max_prompt_tokens is None:
        return f"{head}; max_tokens alone fills the context: lower --max-tokens"
    return f"{head}; --max-prompt-tokens {fit.max_prompt_tokens} skips them"
