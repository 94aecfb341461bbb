"""Profiles: built-ins, TOML overrides and the errors a user sees for a bad file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadprofile.mock.profiles import BUILTIN_PROFILES, ModelProfile, ProfileError, load_profiles


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    return path


def test_builtins_are_served_in_order_without_a_file() -> None:
    profiles = load_profiles(None, None)
    assert list(profiles) == [
        "mock-small",
        "mock-large",
        "mock-fixed",
        "mock-json",
        "mock-slots",
    ]


def test_mock_slots_has_a_known_capacity() -> None:
    """docs/capacity.md: 8 slots, 40 ms + 5 x 10 ms of service, nothing random."""
    p = BUILTIN_PROFILES["mock-slots"]
    assert p.max_concurrency == 8 and p.max_queue == 0
    assert (p.ttft_base_ms, p.itl_ms, p.output_tokens_min, p.output_tokens_max) == (40, 10, 6, 6)
    assert p.ttft_jitter_ms == p.itl_jitter_ms == p.ttft_per_prompt_token_ms == 0
    assert p.stall_probability == 0 and p.slow_every == 0


def test_builtin_defaults_keep_prose_and_the_full_stream() -> None:
    for name in ("mock-small", "mock-large", "mock-fixed"):
        p = BUILTIN_PROFILES[name]
        assert (p.content, p.invalid_json, p.contract_break) == ("prose", 0.0, 0.0)
        assert not p.omit_usage and not p.omit_done


def test_mock_json_is_json_without_faults() -> None:
    p = BUILTIN_PROFILES["mock-json"]
    assert p.content == "json" and p.invalid_json == 0.0
    assert p.error_429 == p.error_500 == p.truncate == p.malformed == p.contract_break == 0.0
    assert not p.omit_usage and not p.omit_done


def test_mock_fixed_is_exact() -> None:
    p = BUILTIN_PROFILES["mock-fixed"]
    assert (p.ttft_base_ms, p.ttft_per_prompt_token_ms, p.ttft_jitter_ms) == (50.0, 0.0, 0.0)
    assert (p.itl_ms, p.itl_jitter_ms, p.stall_probability) == (10.0, 0.0, 0.0)
    assert (p.output_tokens_min, p.output_tokens_max, p.max_concurrency) == (20, 20, 0)
    assert p.error_429 == p.error_500 == p.truncate == p.malformed == 0.0


def test_new_keys_from_toml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[models.j]
content = "json"
invalid_json = 0.25
contract_break = 0.1
omit_usage = true
omit_done = true
""",
    )
    p = load_profiles(path, None)["j"]
    assert (p.content, p.invalid_json, p.contract_break) == ("json", 0.25, 0.1)
    assert p.omit_usage is True and p.omit_done is True
    # A model based on mock-json keeps its content unless told otherwise.
    path = write(tmp_path, '[models.k]\nbase = "mock-json"\ninvalid_json = 1\n')
    k = load_profiles(path, None)["k"]
    assert k.content == "json" and k.invalid_json == 1.0 and isinstance(k.invalid_json, float)


def test_override_keeps_other_builtin_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "[models.mock-small]\nitl_ms = 20\nclose_after_stream = true\n")
    p = load_profiles(path, None)["mock-small"]
    assert p.itl_ms == 20.0 and isinstance(p.itl_ms, float)
    assert p.close_after_stream is True
    assert p.ttft_base_ms == BUILTIN_PROFILES["mock-small"].ttft_base_ms


def test_new_model_from_defaults_and_from_base(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[models.tiny]
ttft_base_ms = 5.0
[models.big2]
base = "mock-large"
max_concurrency = 2
""",
    )
    profiles = load_profiles(path, None)
    assert list(profiles)[-2:] == ["tiny", "big2"]
    assert profiles["tiny"] == ModelProfile(name="tiny", ttft_base_ms=5.0)
    assert profiles["big2"].itl_ms == BUILTIN_PROFILES["mock-large"].itl_ms
    assert profiles["big2"].max_concurrency == 2


def test_only_selects_and_orders(tmp_path: Path) -> None:
    assert list(load_profiles(None, ["mock-fixed", "mock-small"])) == ["mock-fixed", "mock-small"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[models.x]\nttft_ms = 3\n", "unknown key(s) ttft_ms"),
        ("[model.x]\nitl_ms = 3\n", "unknown top-level key(s) model"),
        ("[models.x]\nitl_ms = 'fast'\n", "itl_ms must be a float"),
        ("[models.x]\nmax_concurrency = 1.5\n", "max_concurrency must be a int"),
        ("[models.x]\nclose_after_stream = 1\n", "close_after_stream must be a bool"),
        ("[models.x]\nerror_500 = 1.5\n", "error_500 must be within [0, 1]"),
        ("[models.x]\nerror_500 = 0.6\ntruncate = 0.6\n", "must be <= 1"),
        ("[models.x]\noutput_tokens_min = 30\noutput_tokens_max = 10\n", "output_tokens_min"),
        ("[models.x]\nitl_ms = 5\nitl_jitter_ms = 6\n", "itl_jitter_ms must be <= itl_ms"),
        ("[models.x]\nmax_queue = -1\n", "max_queue must be >= 0"),
        ("[models.x]\nbase = 'nope'\n", "base 'nope' is not a known model"),
        ("[models.x\n", "invalid TOML"),
        ("[models.x]\ncontent = 'xml'\n", "content must be one of 'prose', 'json', got 'xml'"),
        ("[models.x]\ncontent = 1\n", "content must be a str"),
        ("[models.x]\ninvalid_json = 0.1\n", 'invalid_json needs content = "json"'),
        ("[models.x]\nrewrite = 0.2\n", "rewrite needs text_of"),
        ("[models.x]\ntext_of = 'mock-small'\nrewrite = 2\n", "rewrite must be within"),
        ("[models.x]\ncontent = 'json'\ninvent_entities = 0.1\n", "invent_entities needs"),
        ("[models.x]\ntoken_inflation = 0\n", "token_inflation must be > 0"),
        (
            "[models.x]\nbase = 'mock-json'\ninvalid_json = 0.1\ncontent = 'prose'\n",
            'invalid_json needs content = "json"',
        ),
        ("[models.x]\ncontent = 'json'\ninvalid_json = 1.5\n", "invalid_json must be within"),
        ("[models.x]\ncontent = 'json'\ninvalid_json = true\n", "invalid_json must be a float"),
        (
            "[models.x]\ncontent = 'json'\noutput_tokens_min = 8\n",
            'content = "json" needs output_tokens_min >= 9',
        ),
        ("[models.x]\ncontract_break = -0.1\n", "contract_break must be within [0, 1]"),
        (
            "[models.x]\nmalformed = 0.5\ncontract_break = 0.6\n",
            "error_429 + error_500 + truncate + malformed + contract_break must be <= 1",
        ),
        ("[models.x]\nomit_usage = 'yes'\n", "omit_usage must be a bool"),
        ("[models.x]\nomit_done = 0\n", "omit_done must be a bool"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=re.escape(message)):
        load_profiles(write(tmp_path, text), None)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read profile file"):
        load_profiles(tmp_path / "absent.toml", None)


def test_unknown_model_in_only() -> None:
    with pytest.raises(ProfileError, match=r"unknown model.*nope.*known: mock-small"):
        load_profiles(None, ["mock-small", "nope"])


def test_shipped_example_file_is_valid() -> None:
    example = Path(load_profiles.__code__.co_filename).parent / "example-profiles.toml"
    profiles = load_profiles(example, ["my-model", "my-json-model"])
    profile = profiles["my-model"]
    assert profile.max_queue == 64 and profile.stall_ms == 400.0
    assert profile.contract_break > 0 and not profile.omit_usage and not profile.omit_done
    assert profiles["my-json-model"].content == "json"
    assert profiles["my-json-model"].invalid_json > 0
