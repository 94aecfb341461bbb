"""A mock model's context: published as llama.cpp or vLLM do, and enforced the same way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadprofile.mock.chat_request import ChatRequest, RequestError
from loadprofile.mock.context import model_entry, props_body, within_context
from loadprofile.mock.profiles import ModelProfile, ProfileError, load_profiles
from loadprofile.mock.tokens import prompt_tokens

LLAMA = ModelProfile("llama", context_tokens=100, max_concurrency=4)
VLLM = ModelProfile("vllm", context_tokens=100, context_style="vllm")
PLAIN = ModelProfile("plain")


def chat(words: int, max_tokens: int | None = 10) -> ChatRequest:
    """A request of ``words`` + 4 prompt tokens by the mock's tokenizer (one message)."""
    messages = [{"role": "user", "content": " ".join(["word"] * words)}]
    assert prompt_tokens(messages) == words + 4
    return ChatRequest("m", messages, stream=True, include_usage=True, max_tokens=max_tokens)


def test_without_a_context_every_request_passes_unchanged() -> None:
    request = chat(10_000, None)
    assert within_context(PLAIN, request) is request


def test_llama_cpp_rejects_a_prompt_that_fills_the_context() -> None:
    with pytest.raises(RequestError) as caught:
        within_context(LLAMA, chat(96))  # 100 tokens: nothing left to generate
    assert caught.value.status == 400
    assert caught.value.type == "exceed_context_size_error"
    assert caught.value.message == (
        "request (100 tokens) exceeds the available context size (100 tokens), try increasing it"
    )


def test_llama_cpp_cuts_the_reply_where_the_context_is_full() -> None:
    assert within_context(LLAMA, chat(86, 50)).max_tokens == 10  # 90 + 10 = 100
    assert within_context(LLAMA, chat(86, None)).max_tokens == 10
    assert within_context(LLAMA, chat(6, 50)).max_tokens == 50  # room enough


def test_vllm_rejects_prompt_plus_max_tokens_over_the_context() -> None:
    assert within_context(VLLM, chat(86, 10)).max_tokens == 10  # exactly 100
    with pytest.raises(RequestError) as caught:
        within_context(VLLM, chat(86, 11))
    assert caught.value.status == 400
    assert "maximum context length is 100 tokens" in caught.value.message
    assert (
        "you requested 101 tokens (90 in the messages, 11 in the completion)"
        in caught.value.message
    )
    with pytest.raises(RequestError):
        within_context(VLLM, chat(96, None))


def test_vllm_without_max_tokens_gives_the_room_left() -> None:
    assert within_context(VLLM, chat(56, None)).max_tokens == 40


def test_only_vllm_style_lists_max_model_len() -> None:
    assert model_entry(VLLM)["max_model_len"] == 100
    assert "max_model_len" not in model_entry(LLAMA)
    assert model_entry(PLAIN) == {
        "id": "plain",
        "object": "model",
        "created": 0,
        "owned_by": "loadprofile-mock",
    }


def test_props_are_the_first_llama_cpp_style_models() -> None:
    assert props_body([PLAIN, VLLM]) is None
    other = ModelProfile("other", context_tokens=50)
    props = props_body([PLAIN, VLLM, LLAMA, other])
    assert props is not None
    assert props["default_generation_settings"]["n_ctx"] == 100
    assert (props["total_slots"], props["model_alias"]) == (4, "llama")


def test_profile_checks_the_context_fields() -> None:
    with pytest.raises(ProfileError, match="context_tokens must be >= 0"):
        ModelProfile("x", context_tokens=-1)
    with pytest.raises(ProfileError, match=re.escape("context_style must be one of 'llama.cpp'")):
        ModelProfile("x", context_style="tgi")


def test_profile_file_sets_the_context(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[models.small-ctx]\nbase = "mock-fixed"\ncontext_tokens = 1024\ncontext_style = "vllm"\n'
    )
    profile = load_profiles(path, ["small-ctx"])["small-ctx"]
    assert (profile.context_tokens, profile.context_style) == (1024, "vllm")
    assert load_profiles(None, ["mock-small"])["mock-small"].context_tokens == 0
