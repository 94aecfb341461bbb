"""JSON replies (`content = "json"`): valid objects of the drawn length, invalid on purpose
at the profile's rate, and the stream's closing events as the profile asks."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random
from collections import Counter
from typing import Any

import pytest

from loadprofile.mock.delivery import closing_events
from loadprofile.mock.generation import make_plan
from loadprofile.mock.json_reply import json_reply_chunks
from loadprofile.mock.profiles import BUILTIN_PROFILES, JSON_MIN_TOKENS
from loadprofile.mock.state import Record
from loadprofile.mock.tokens import count_tokens
from loadprofile.mock.wire import DONE, ChunkEncoder, completion_body

JSON = BUILTIN_PROFILES["mock-json"]
FIXED = BUILTIN_PROFILES["mock-fixed"]


def msgs(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def parses(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def test_json_replies_parse_for_many_seeds() -> None:
    plans = [make_plan(JSON, seed, msgs(f"q{seed}"), None) for seed in range(400)]
    lengths = set()
    for plan in plans:
        obj = json.loads(plan.text)
        assert isinstance(obj, dict) and isinstance(obj["answer"], str) and obj["answer"]
        assert set(obj) <= {"answer", "items", "confidence"}
        assert plan.finish_reason == "stop" and not plan.invalid_json
        # json.dumps layout, each chunk one token: usage counts exactly the chunks sent.
        assert json.dumps(obj) == plan.text
        assert all(count_tokens(c) == 1 for c in plan.chunks)
        assert count_tokens(plan.text) == plan.completion_tokens == len(plan.chunks)
        assert JSON.output_tokens_min <= plan.completion_tokens <= JSON.output_tokens_max
        lengths.add(plan.completion_tokens)
    assert len(lengths) > 50  # the length follows the profile's range
    shapes = Counter(tuple(json.loads(p.text)) for p in plans)
    assert shapes[("answer", "items", "confidence")] > 300
    assert sum(bool(json.loads(p.text).get("items")) for p in plans) > 300


def test_every_length_is_hit_exactly() -> None:
    for n, seed in itertools.product(range(JSON_MIN_TOKENS, 301), range(3)):
        chunks = json_reply_chunks(random.Random(seed), n, invalid=False)
        assert len(chunks) == count_tokens("".join(chunks)) == n
        obj = json.loads("".join(chunks))
        assert obj["answer"] and (n < 17 or 0.5 < obj["confidence"] < 1)
        bad = json_reply_chunks(random.Random(seed), n, invalid=True)
        assert len(bad) == count_tokens("".join(bad)) == n
        assert not parses("".join(bad))


def test_json_reply_too_short_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 9 tokens"):
        json_reply_chunks(random.Random(0), JSON_MIN_TOKENS - 1, invalid=False)


def test_invalid_json_rate_matches_the_profile() -> None:
    n, rate = 600, 0.2
    profile = dataclasses.replace(JSON, invalid_json=rate)
    plans = [make_plan(profile, 1, msgs(f"request {i}"), None) for i in range(n)]
    invalid = [p for p in plans if p.invalid_json]
    assert abs(len(invalid) / n - rate) < 4.5 * math.sqrt(rate * (1 - rate) / n), len(invalid)
    for p in plans:
        # Invalid exactly when drawn so; the stream itself stays normal (no fault kind).
        assert parses(p.text) is not p.invalid_json
        assert p.injected is None and p.finish_reason == "stop"
    defects = Counter("missing" if not p.text.endswith("}") else "comma" for p in invalid)
    assert defects["missing"] > 10 and defects["comma"] > 10
    assert all(",}" in p.text or ",]" in p.text for p in invalid if p.text.endswith("}"))


def test_invalid_json_is_never_set_on_http_errors() -> None:
    profile = dataclasses.replace(JSON, invalid_json=1.0, error_429=0.3, error_500=0.3)
    plans = [make_plan(profile, 0, msgs(f"q{i}"), None) for i in range(300)]
    kinds = Counter((p.injected, p.invalid_json) for p in plans)
    assert set(kinds) == {("error_429", False), ("error_500", False), (None, True)}


def test_max_tokens_cuts_the_json_text() -> None:
    """A length cut is the start of a reply, as from a real server: not a whole object."""
    for i in range(50):
        whole = make_plan(JSON, 0, msgs(f"q{i}"), None)
        cut = make_plan(JSON, 0, msgs(f"q{i}"), 25)
        assert whole.completion_tokens >= JSON.output_tokens_min > 25
        assert cut.finish_reason == "length" and cut.completion_tokens == 25
        assert cut.text.startswith('{"answer": "') and not cut.invalid_json
        assert not parses(cut.text)


def test_prose_plans_have_no_json() -> None:
    plan = make_plan(BUILTIN_PROFILES["mock-small"], 0, msgs("q"), None)
    assert not plan.invalid_json and not parses(plan.text)


ENC = ChunkEncoder("chatcmpl-abc", "mock-x", 1700000000)
PLAN = make_plan(FIXED, 0, msgs("q"), None)


def events(raw: bytes) -> list[Any]:
    assert raw.endswith(b"\n\n")
    parts = [e.removeprefix(b"data: ") for e in raw.split(b"\n\n")[:-1]]
    return [p.decode() if p == b"[DONE]" else json.loads(p) for p in parts]


@pytest.mark.parametrize("include_usage", [True, False])
def test_default_closing_events_are_unchanged(include_usage: bool) -> None:
    usage = ENC.usage(PLAN.prompt_tokens, 20) if include_usage else b""
    assert closing_events(ENC, PLAN, FIXED, include_usage) == ENC.finish("stop") + usage + DONE


def test_omit_usage_sends_no_usage_even_when_asked() -> None:
    profile = dataclasses.replace(FIXED, omit_usage=True)
    got = events(closing_events(ENC, PLAN, profile, include_usage=True))
    assert [e if e == "[DONE]" else e["choices"][0]["finish_reason"] for e in got] == [
        "stop",
        "[DONE]",
    ]
    body = completion_body("c1", "m", 5, "Hi.", "stop", 3, 2, include_usage=False)
    assert "usage" not in body and body["choices"][0]["message"]["content"] == "Hi."


@pytest.mark.parametrize("omit_usage", [False, True])
def test_omit_done_ends_after_finish_and_usage(omit_usage: bool) -> None:
    profile = dataclasses.replace(FIXED, omit_done=True, omit_usage=omit_usage)
    raw = closing_events(ENC, PLAN, profile, include_usage=True)
    assert b"[DONE]" not in raw
    got = events(raw)
    assert got[0]["choices"][0]["finish_reason"] == "stop"
    assert [e["usage"]["completion_tokens"] for e in got[1:]] == ([] if omit_usage else [20])


def test_contract_break_encoder_changes_only_the_id() -> None:
    other = ENC.with_id("chatcmpl-other")
    a, b = events(ENC.content("Hi")), events(other.content("Hi"))
    assert a[0]["id"] == "chatcmpl-abc" and b[0]["id"] == "chatcmpl-other"
    assert {**b[0], "id": "chatcmpl-abc"} == a[0]


def test_record_shows_invalid_json_next_to_the_fault_kind() -> None:
    rec = Record(request_id="r", received_ns=0)
    assert rec.to_json()["invalid_json"] is False and rec.to_json()["injected"] is None
    rec.injected, rec.invalid_json = "contract_break", True
    assert (rec.to_json()["injected"], rec.to_json()["invalid_json"]) == ("contract_break", True)
