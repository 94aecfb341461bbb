"""Prompt sizes per turn, the --max-prompt-tokens skip rule, and what a server context fits."""

from __future__ import annotations

import pytest

from loadprofile.client.apis.flavours import prompt_chars
from loadprofile.client.apis.openai_chat import estimate_tokens
from loadprofile.dataset.conversations import (
    Conversation,
    Turn,
    build_messages,
    default_dataset_path,
    load_conversations,
)
from loadprofile.dataset.prompt_fit import (
    context_fit,
    context_warning,
    limit_prompts,
    skip_long_prompts,
    turn_prompt_tokens,
)
from loadprofile.errors import ConfigError


def conv(
    cid: str, *sizes: int, system: int = 0, reply: int = 40, budgets: tuple[int | None, ...] = ()
) -> Conversation:
    """A conversation whose user messages have ``sizes`` characters (replies ``reply``)."""
    turns = tuple(
        Turn("u" * n, "a" * reply, budgets[i] if i < len(budgets) else None)
        for i, n in enumerate(sizes)
    )
    return Conversation(cid, "s" * system if system else None, turns)


def test_turn_sizes_are_the_estimate_of_what_each_turn_sends() -> None:
    """The same figure the client estimates for a request (prompt_chars of its messages)."""
    for c in load_conversations(default_dataset_path())[:60]:
        sent = [
            estimate_tokens(prompt_chars({"messages": build_messages(c, i)}))
            for i in range(len(c.turns))
        ]
        assert turn_prompt_tokens(c) == sent


def test_turn_sizes_grow_with_the_history() -> None:
    # system 40 chars; users of 80, 120, 0 chars, replies 40: 120, 280, 320 chars, / 4
    assert turn_prompt_tokens(conv("c", 80, 120, 0, system=40)) == [30, 70, 80]


def test_a_conversation_is_cut_at_its_first_turn_over_the_limit() -> None:
    convs = [
        conv("fits", 40, 40),
        conv("cut", 40, 400, 40),
        conv("dropped", 800, 40),
        conv("last", 40, 40, 40, 40, 4000),
    ]
    kept, skip = skip_long_prompts(convs, 100)
    assert [(c.id, len(c.turns)) for c in kept] == [("fits", 2), ("cut", 1), ("last", 4)]
    assert kept[0] is convs[0]
    assert kept[1].turns == convs[1].turns[:1] and kept[1].system == convs[1].system
    # The later turn of "cut" would fit on its own size but builds on the long one: skipped.
    assert skip.to_json() == {
        "limit": 100,
        "turns_skipped": 5,
        "turns_run": 7,
        "conversations_cut": 2,
        "conversations_dropped": 1,
        "conversations_run": 3,
    }
    assert skip.describe() == (
        "--max-prompt-tokens 100: skipped 5 of 12 turns (a conversation ends before its first "
        "longer prompt: 2 cut short, 1 left out); 3 of 4 conversations run (prompts estimated "
        "at 4 characters a token)"
    )


def test_the_limit_is_inclusive() -> None:
    c = conv("c", 400)  # 100 tokens exactly
    assert skip_long_prompts([c], 100)[0] == [c]
    assert skip_long_prompts([c], 99)[0] == []


def test_nothing_over_the_limit_keeps_the_dataset() -> None:
    convs = [conv("a", 40, 40), conv("b", 40)]
    kept, skip = skip_long_prompts(convs, 10_000)
    assert kept == convs and skip.turns_skipped == 0
    assert skip.describe() == (
        "--max-prompt-tokens 10,000: every turn's prompt fits; all 2 conversations run"
    )


def test_limit_prompts_without_a_limit_changes_nothing() -> None:
    convs = [conv("a", 4000)]
    assert limit_prompts(convs, None) == (convs, None)


def test_a_limit_that_leaves_nothing_is_a_usage_error() -> None:
    with pytest.raises(
        ConfigError,
        match=r"--max-prompt-tokens 5 skips every conversation: "
        r"the shortest first prompt is about 10 tokens",
    ):
        limit_prompts([conv("a", 40), conv("b", 400)], 5)


def test_context_fit_counts_turns_whose_prompt_and_max_tokens_exceed_it() -> None:
    convs = [
        conv("fits", 40, 40),
        conv("late", 40, 2000),
        conv("early", 4000, 40),
        conv("budget", 40, budgets=(1000,)),
    ]
    fit = context_fit(convs, 1024, 256)
    # late: turn 2 is 520 + 256 <= 1024 fits; early: 1000 + 256 and 1020 + 256 do not;
    # budget: its own max_tokens of 1000 wins over the run's 256 (10 + 1000 fits).
    assert (fit.conversations, fit.turns) == (4, 7)
    assert (fit.conversations_over, fit.turns_over) == (1, 2)
    assert fit.max_prompt_tokens == 1024 - 256
    assert context_fit(convs, 1024, 1015).turns_over == 6  # only "budget" (10 + 1000) fits


def test_the_suggested_cap_skips_exactly_the_turns_that_do_not_fit() -> None:
    convs = load_conversations(default_dataset_path())
    for context in (512, 1024, 2048):
        fit = context_fit(convs, context, 256)
        assert fit.max_prompt_tokens == context - 256
        kept, skip = skip_long_prompts(convs, fit.max_prompt_tokens)
        assert skip.turns_skipped == fit.turns_over > 0
        assert skip.conversations_cut + skip.conversations_dropped == fit.conversations_over
        assert context_fit(kept, context, 256).turns_over == 0


def test_a_larger_own_budget_lowers_the_suggested_cap() -> None:
    fit = context_fit([conv("a", 4000, budgets=(512,)), conv("b", 4000)], 1024, 256)
    assert fit.max_prompt_tokens == 1024 - 512
    assert skip_long_prompts([conv("a", 2100, budgets=(512,))], fit.max_prompt_tokens)[0] == []


def test_without_max_tokens_only_the_prompt_must_fit() -> None:
    fit = context_fit([conv("a", 4000), conv("b", 4400)], 1024, None)
    assert (fit.turns_over, fit.max_prompt_tokens) == (1, 1024)


def test_warning_names_the_counts_the_source_and_the_flag() -> None:
    fit = context_fit([conv("a", 40), conv("b", 4000), conv("c", 40, 4000)], 1024, 256)
    assert context_warning(fit, "llama.cpp /props n_ctx") == (
        "server context 1,024 tokens (llama.cpp /props n_ctx): 2 of 3 conversations have "
        "turns that would not fit (prompt + max_tokens, prompts estimated at 4 characters a "
        "token; 2 of 4 turns); --max-prompt-tokens 768 skips them"
    )


def test_no_warning_when_every_turn_fits() -> None:
    assert context_warning(context_fit([conv("a", 40)], 1024, 256), "x") is None


def test_max_tokens_filling_the_context_asks_for_fewer_max_tokens() -> None:
    text = context_warning(context_fit([conv("a", 40)], 256, 256), "vLLM")
    assert text is not None
    assert text.endswith("; max_tokens alone fills the context: lower --max-tokens")
    assert "--max-prompt-tokens" not in text
