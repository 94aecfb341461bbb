"""Extra body fields: checked once with one-line reasons, merged in layers (later wins)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadprofile.config.extra_body import apply_extra_body, check_extra_body, merge_layers
from loadprofile.dataset.conversations import DatasetError, load_conversations
from loadprofile.errors import ConfigError


def test_an_object_becomes_canonical_text_and_nothing_is_empty() -> None:
    assert check_extra_body('{"b": 1, "a": {"x": true}}', "--extra-body") == (
        '{"a": {"x": true}, "b": 1}'
    )
    assert check_extra_body({"temperature": 0}, "t") == '{"temperature": 0}'
    assert check_extra_body(None, "t") == check_extra_body("", "t") == ""
    assert check_extra_body({}, "t") == ""


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("{oops", "--extra-body: not valid JSON"),
        ("[1]", "--extra-body: must be a JSON object"),
        (3, "--extra-body: must be a JSON object"),
        ('{"model": "x", "stream": false}', "--extra-body: cannot set model, stream"),
        ({"messages": []}, "--extra-body: cannot set messages"),
    ],
)
def test_what_is_not_an_object_of_free_fields_is_refused(value: object, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_extra_body(value, "--extra-body")
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)


def test_layers_merge_in_order_later_keys_winning() -> None:
    run, target, turn = '{"a": 1, "b": 1}', '{"b": 2, "c": 2}', '{"c": 3}'
    body = apply_extra_body({"model": "m", "a": 0}, run, "", target, turn)
    assert body == {"model": "m", "a": 1, "b": 2, "c": 3}
    assert json.loads(merge_layers(run, target, turn)) == {"a": 1, "b": 2, "c": 3}
    assert merge_layers("", target) == target and merge_layers("", "") == ""


def test_a_dataset_turn_takes_its_record_and_message_fields(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    record = {
        "id": "c",
        "extra_body": {"top_p": 0.5, "seed": 1},
        "messages": [
            {"role": "user", "content": "a", "extra_body": {"seed": 2}},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ],
    }
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    first, second = load_conversations(path)[0].turns
    assert json.loads(first.extra_body) == {"top_p": 0.5, "seed": 2}
    assert json.loads(second.extra_body) == {"top_p": 0.5, "seed": 1}


def test_a_bad_dataset_extra_body_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    bad = {"messages": [{"role": "user", "content": "a", "extra_body": {"stream": False}}]}
    path.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"d.jsonl:1: .*message 1 extra_body: cannot set stream"):
        load_conversations(path)
