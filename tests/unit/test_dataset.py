"""Tests for loadprofile.dataset.conversations: formats, normalisation, replay messages,
errors, the sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loadprofile.dataset.conversations import (
    Conversation,
    DatasetError,
    Turn,
    build_messages,
    default_dataset_path,
    load_conversations,
)
from loadprofile.dataset.stats import dataset_stats

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "datasets"
GENERATOR = REPO / "scripts" / "make_sample_dataset.py"


def write_lines(tmp_path: Path, *records: Any, name: str = "data.jsonl") -> Path:
    """One JSONL line per record; strings are written verbatim (for broken lines)."""
    path = tmp_path / name
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def user(text: Any) -> dict[str, Any]:
    return {"role": "user", "content": text}


def bot(text: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def system(text: Any) -> dict[str, Any]:
    return {"role": "system", "content": text}


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "openai_chat.jsonl",
            [
                Conversation(
                    "greeting",
                    "Be brief.",
                    (Turn("Hi", "Hello!"), Turn("Bye", "Goodbye.")),
                ),
                Conversation("42", None, (Turn("Part one.\nPart two.", "Got both parts."),)),
                Conversation(
                    "openai_chat-4",
                    None,
                    (Turn("First.\n\nSecond.", "A\n\nB", 64), Turn("Open question", None, 64)),
                ),
            ],
        ),
        (
            "sharegpt.json",
            [
                Conversation("sg-1", None, (Turn("What is 2+2?", "4."),)),
                Conversation(
                    "sharegpt-2",
                    "You are terse.",
                    (Turn("Name a colour.", "Blue."), Turn("Another?", None)),
                ),
            ],
        ),
        (
            "mixed.jsonl",
            [
                Conversation("openai", None, (Turn("Ping", "Pong"),)),
                Conversation("sharegpt", None, (Turn("Ping", "Pong"), Turn("Again", "Pong again"))),
            ],
        ),
    ],
)
def test_fixture_files_load_exactly(fixture: str, expected: list[Conversation]) -> None:
    assert load_conversations(FIXTURES / fixture) == expected


@pytest.mark.parametrize(
    ("messages", "system_text", "turns"),
    [
        pytest.param([user("a"), bot("b")], None, [("a", "b")], id="one-turn"),
        pytest.param([user("a")], None, [("a", None)], id="ends-with-user"),
        pytest.param(
            [system("s"), user("a"), bot("b"), user("c"), bot("d")],
            "s",
            [("a", "b"), ("c", "d")],
            id="system-first",
        ),
        pytest.param(
            [system("s1"), system("s2"), user("a")], "s1\n\ns2", [("a", None)], id="two-systems"
        ),
        pytest.param(
            [{"role": "developer", "content": "dev"}, user("a")],
            "dev",
            [("a", None)],
            id="developer-is-system",
        ),
        pytest.param(
            [bot("greeting"), bot("more"), user("a"), bot("b")],
            None,
            [("a", "b")],
            id="leading-assistant-dropped",
        ),
        pytest.param(
            [system("s"), bot("greeting"), user("a")], "s", [("a", None)], id="system-then-bot"
        ),
        pytest.param(
            [user("a1"), user("a2"), user("a3"), bot("b1"), bot("b2"), user("c")],
            None,
            [("a1\n\na2\n\na3", "b1\n\nb2"), ("c", None)],
            id="same-role-runs-merged",
        ),
        pytest.param(
            [user([{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]), bot("b")],
            None,
            [("x\ny", "b")],
            id="content-parts",
        ),
        pytest.param(
            [user("  padded \n"), bot("")], None, [("  padded \n", "")], id="text-kept-verbatim"
        ),
        pytest.param(
            [user("line\u2028sep"), bot("b")], None, [("line\u2028sep", "b")], id="u2028-in-text"
        ),
    ],
)
def test_openai_normalisation(
    tmp_path: Path,
    messages: list[dict[str, Any]],
    system_text: str | None,
    turns: list[tuple[str, str | None]],
) -> None:
    path = tmp_path / "data.jsonl"
    # ensure_ascii=False so that U+2028 is written raw, as JSON allows
    path.write_text(json.dumps({"messages": messages}, ensure_ascii=False) + "\n", "utf-8")
    (conv,) = load_conversations(path)
    assert conv.system == system_text
    assert [(t.user, t.assistant) for t in conv.turns] == turns


@pytest.mark.parametrize("human", ["human", "user", "Human"])
@pytest.mark.parametrize("model", ["gpt", "assistant", "chatgpt", "bing", "bard", "model"])
def test_sharegpt_role_aliases(tmp_path: Path, human: str, model: str) -> None:
    record = {
        "conversations": [
            {"from": "system", "value": "s"},
            {"from": human, "value": "q"},
            {"from": model, "value": "a"},
        ]
    }
    (conv,) = load_conversations(write_lines(tmp_path, record))
    assert conv == Conversation("data-1", "s", (Turn("q", "a"),))


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"messages": [user("a"), bot("b")]}, [None]),
        ({"messages": [user("a"), bot("b"), user("c")], "max_tokens": 50}, [50, 50]),
        ({"messages": [user("a")], "max_completion_tokens": 7}, [7]),
        (
            {"messages": [{**user("a"), "max_tokens": 5}, bot("b"), user("c")], "max_tokens": 9},
            [5, 9],
        ),
    ],
)
def test_max_tokens(tmp_path: Path, record: dict[str, Any], expected: list[int | None]) -> None:
    (conv,) = load_conversations(write_lines(tmp_path, record))
    assert [t.max_tokens for t in conv.turns] == expected


@pytest.mark.parametrize(
    ("raw_id", "expected"),
    [("abc", "abc"), (7, "7"), (None, "data-2")],
)
def test_ids(tmp_path: Path, raw_id: Any, expected: str) -> None:
    record: dict[str, Any] = {"messages": [user("a")]}
    if raw_id is not None:
        record["id"] = raw_id
    path = write_lines(tmp_path, "", record)  # the record sits on line 2
    assert load_conversations(path)[0].id == expected


def test_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "windows.jsonl"
    line = json.dumps({"messages": [user("a"), bot("b")]}).encode()
    path.write_bytes(b"\xef\xbb\xbf" + line + b"\r\n\r\n   \r\n" + line + b"\r\n")
    convs = load_conversations(path)
    assert [c.id for c in convs] == ["windows-1", "windows-4"]
    assert convs[0].turns == (Turn("a", "b"),)


def test_json_array_with_bom_and_ids_by_record(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    records = [{"conversations": [{"from": "human", "value": str(i)}]} for i in range(3)]
    path.write_bytes(b"\xef\xbb\xbf\n  " + json.dumps(records, indent=2).encode())
    assert [c.id for c in load_conversations(path)] == ["dump-1", "dump-2", "dump-3"]


# --- limit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "count"), [(None, 3), (1, 1), (2, 2), (3, 3), (10, 3)])
def test_limit(limit: int | None, count: int) -> None:
    assert len(load_conversations(FIXTURES / "openai_chat.jsonl", limit=limit)) == count


def test_limit_stops_reading_before_later_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path, {"messages": [user("a")]}, "not json")
    assert len(load_conversations(path, limit=1)) == 1
    with pytest.raises(DatasetError):
        load_conversations(path)


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1"):
        load_conversations(FIXTURES / "openai_chat.jsonl", limit=limit)


# --- errors --------------------------------------------------------------------------------

GOOD = {"messages": [user("fine"), bot("ok")]}


@pytest.mark.parametrize(
    ("lines", "where", "reason"),
    [
        pytest.param([], None, "no conversations", id="empty-file"),
        pytest.param(["", "   "], None, "no conversations", id="blank-lines-only"),
        pytest.param(
            [GOOD, '{"messages": [}'],
            2,
            "invalid JSON: Expecting value (column 15)",
            id="invalid-json",
        ),
        pytest.param(
            ["{", '  "messages": []', "}"],
            1,
            "invalid JSON: Expecting property name enclosed in double quotes (column 2); "
            "JSONL needs one whole JSON object per line",
            id="pretty-printed-object",
        ),
        pytest.param(
            [GOOD, GOOD, [1, 2]], 3, "record is a JSON array, expected an object", id="array"
        ),
        pytest.param(['"text"'], 1, "record is a JSON string, expected an object", id="string"),
        pytest.param(
            [{"prompt": "hi"}], 1, 'record has neither "messages" nor "conversations"', id="no-keys"
        ),
        pytest.param(
            [{"messages": {"role": "user"}}], 1, '"messages" must be a list, got object', id="dict"
        ),
        pytest.param(
            [{"messages": [user("a"), "b"]}],
            1,
            "message 2 is a JSON string, expected an object",
            id="message-not-object",
        ),
        pytest.param(
            [{"messages": [{"role": "tool", "content": "x"}]}],
            1,
            'message 1: unknown role "tool" (expected one of assistant, developer, system, user)',
            id="unknown-role",
        ),
        pytest.param(
            [{"messages": [{"content": "x"}]}],
            1,
            "message 1: unknown role null (expected one of assistant, developer, system, user)",
            id="missing-role",
        ),
        pytest.param(
            [{"messages": [user("a"), {"role": "assistant"}]}],
            1,
            'message 2 has no "content"',
            id="missing-content",
        ),
        pytest.param(
            [{"messages": [user(None)]}],
            1,
            "message 1: content is null, expected a string or a list of text parts",
            id="null-content",
        ),
        pytest.param(
            [{"messages": [user(3)]}],
            1,
            "message 1: content is a number, expected a string or a list of text parts",
            id="number-content",
        ),
        pytest.param(
            [{"messages": [user([{"type": "text", "text": "a"}, {"type": "image_url"}])]}],
            1,
            'message 1: content part 2 has type "image_url", only text is supported',
            id="image-part",
        ),
        pytest.param(
            [{"messages": [user(["plain string part"])]}],
            1,
            "message 1: content part 1 is a JSON string",
            id="part-not-object",
        ),
        pytest.param(
            [{"messages": [user([{"type": "text", "text": 1}])]}],
            1,
            'message 1: content part 1 has no string "text"',
            id="part-text-not-string",
        ),
        pytest.param(
            [{"messages": [user([])]}], 1, "message 1: content has no text parts", id="no-parts"
        ),
        pytest.param(
            [{"conversations": [{"from": "robot", "value": "x"}]}],
            1,
            'message 1: unknown role "robot" (expected one of assistant, bard, bing, chatgpt, '
            "gpt, human, model, system, user)",
            id="sharegpt-unknown-role",
        ),
        pytest.param(
            [{"conversations": [{"from": "human"}]}],
            1,
            'message 1 has no "value"',
            id="sharegpt-missing-value",
        ),
        pytest.param(
            [{"conversations": [{"from": "human", "value": ["x"]}]}],
            1,
            'message 1: "value" is an array, expected a string',
            id="sharegpt-value-not-string",
        ),
        pytest.param(
            [{"conversations": "hello"}],
            1,
            '"conversations" must be a list, got string',
            id="sharegpt-not-list",
        ),
        pytest.param(
            [GOOD, {"messages": [system("s")]}],
            2,
            "conversation has no user turn",
            id="system-only",
        ),
        pytest.param(
            [{"messages": [bot("hello")]}], 1, "conversation has no user turn", id="assistant-only"
        ),
        pytest.param([{"messages": []}], 1, "conversation has no user turn", id="no-messages"),
        pytest.param(
            [{"messages": [user("a"), bot("b"), system("late")]}],
            1,
            "message 3: a system message is only allowed first",
            id="system-not-first",
        ),
        pytest.param(
            [{"id": 1.5, "messages": [user("a")]}],
            1,
            '"id" must be a string or an integer, got number',
            id="bad-id",
        ),
        pytest.param(
            [{"id": True, "messages": [user("a")]}],
            1,
            '"id" must be a string or an integer, got boolean',
            id="bool-id",
        ),
        pytest.param(
            [{"messages": [user("a")], "max_tokens": 0}],
            1,
            "max_tokens must be a positive integer, got 0",
            id="zero-max-tokens",
        ),
        pytest.param(
            [{"messages": [{**user("a"), "max_tokens": "10"}]}],
            1,
            'message 1 max_tokens must be a positive integer, got "10"',
            id="string-max-tokens",
        ),
    ],
)
def test_jsonl_errors(tmp_path: Path, lines: list[Any], where: int | None, reason: str) -> None:
    path = write_lines(tmp_path, *lines)
    with pytest.raises(DatasetError) as caught:
        load_conversations(path)
    err = caught.value
    prefix = f"{path}:{where}: " if where is not None else f"{path}: "
    assert str(err) == prefix + reason
    assert (err.path, err.line, err.reason) == (str(path), where, reason)
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("[]", "{path}: no conversations", id="empty-array"),
        pytest.param(
            '[\n  {"conversations": [{"from": "human", "value": "a"}]},\n  7\n]',
            "{path}: record 2: record is a JSON number, expected an object",
            id="record-index",
        ),
        pytest.param(
            '[\n  {"conversations": [{"from": "human", "value": "a"}]},\n  {"messages": [}\n]',
            "{path}:3: invalid JSON: Expecting value (column 17)",
            id="invalid-json-line",
        ),
        pytest.param(
            '[{"conversations": [{"from": "gpt", "value": "only the model"}]}]',
            "{path}: record 1: conversation has no user turn",
            id="no-user-turn",
        ),
    ],
)
def test_json_array_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "dump.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_conversations(path)
    assert str(caught.value) == expected.format(path=path)


def test_json_array_error_attributes(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text('[{"conversations": []}]', encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_conversations(path)
    assert (caught.value.line, caught.value.unit) == (1, "record")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param(
            "bad.jsonl",
            json.dumps(GOOD).encode()
            + b"\n\n"
            + b'{"messages": [{"role": "user", "content": "\xff"}]}\n',
            "{path}:3: not valid UTF-8 (byte 44)",
            id="jsonl",
        ),
        pytest.param(
            "bad.json",
            b'[\n {"conversations": [\n  {"from": "human", "value": "caf\xe9"}]}\n]',
            "{path}:3: not valid UTF-8",
            id="json-array",
        ),
    ],
)
def test_non_utf8(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DatasetError) as caught:
        load_conversations(path)
    assert str(caught.value) == expected.format(path=path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(DatasetError) as caught:
        load_conversations(path)
    assert str(caught.value) == f"{path}: no such file"
    assert caught.value.line is None


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        load_conversations(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a directory, expected a .jsonl or .json file"


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulated: tests may run as root, for whom chmod 000 does not stop reading.
    path = write_lines(tmp_path, GOOD)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(DatasetError) as caught:
        load_conversations(path)
    assert str(caught.value) == f"{path}: cannot read: Permission denied"


def test_dataset_error_format() -> None:
    assert str(DatasetError("a.jsonl", 3, "bad\nthing")) == "a.jsonl:3: bad thing"
    assert str(DatasetError("a.json", 2, "bad", unit="record")) == "a.json: record 2: bad"
    assert str(DatasetError(Path("a.jsonl"), None, "empty")) == "a.jsonl: empty"
    assert isinstance(DatasetError("a", None, "b"), ValueError)


# --- build_messages ------------------------------------------------------------------------

CONV = Conversation("c", "Be nice.", (Turn("u1", "a1"), Turn("u2", "a2"), Turn("u3", None)))
NO_SYSTEM = Conversation("n", None, (Turn("u1", "a1"), Turn("u2", "a2")))


@pytest.mark.parametrize(
    ("conv", "index", "live", "expected"),
    [
        pytest.param(CONV, 0, None, [system("Be nice."), user("u1")], id="first-turn"),
        pytest.param(
            CONV,
            2,
            None,
            [system("Be nice."), user("u1"), bot("a1"), user("u2"), bot("a2"), user("u3")],
            id="recorded-history",
        ),
        pytest.param(
            CONV,
            2,
            ["live1", "live2"],
            [system("Be nice."), user("u1"), bot("live1"), user("u2"), bot("live2"), user("u3")],
            id="live-history",
        ),
        pytest.param(
            CONV,
            1,
            ["live1", "extra"],
            [system("Be nice."), user("u1"), bot("live1"), user("u2")],
            id="extra-live-replies-ignored",
        ),
        pytest.param(NO_SYSTEM, 1, None, [user("u1"), bot("a1"), user("u2")], id="no-system"),
        pytest.param(NO_SYSTEM, 0, [], [user("u1")], id="empty-live-first-turn"),
    ],
)
def test_build_messages(
    conv: Conversation, index: int, live: list[str] | None, expected: list[dict[str, str]]
) -> None:
    assert build_messages(conv, index, live) == expected


def test_build_messages_does_not_share_state() -> None:
    first = build_messages(CONV, 1)
    first.append(user("mutated"))
    assert build_messages(CONV, 1) == [system("Be nice."), user("u1"), bot("a1"), user("u2")]


@pytest.mark.parametrize("index", [-1, 3, 10])
def test_build_messages_index_out_of_range(index: int) -> None:
    with pytest.raises(IndexError):
        build_messages(CONV, index)


def test_build_messages_live_history_too_short() -> None:
    with pytest.raises(ValueError, match="needs 2 live replies, got 1"):
        build_messages(CONV, 2, ["only one"])


def test_build_messages_missing_recorded_reply() -> None:
    gap = Conversation("gap", None, (Turn("u1", None), Turn("u2", "a2")))
    with pytest.raises(ValueError, match="turn 1 has no recorded reply"):
        build_messages(gap, 1)
    assert build_messages(gap, 1, ["live"]) == [user("u1"), bot("live"), user("u2")]


# --- stats ---------------------------------------------------------------------------------


def test_dataset_stats() -> None:
    convs = [CONV, NO_SYSTEM, Conversation("x", None, (Turn("hello", None),))]
    stats = dataset_stats(convs)
    sha = stats.pop("sha256")
    assert len(sha) == 64
    assert stats == {
        "conversations": 3,
        "turns_total": 6,
        "with_system": 1,
        "turns": {"min": 1, "mean": 2.0, "max": 3},
        "turns_histogram": {"1": 1, "2": 1, "3": 1},
        "user_chars": {"min": 2, "p50": 2, "p90": 5, "max": 5, "mean": 2.5},
        # CONV: 8+2, 8+2+2+2, 8+2+2+2+2+2; NO_SYSTEM: 2, 2+2+2; x: 5
        "prompt_chars": {"min": 2, "p50": 6, "p90": 18, "max": 18, "mean": 9.2},
        "reply_chars": {"min": 2, "p50": 2, "p90": 2, "max": 2, "mean": 2.0},
    }
    json.dumps(stats)  # must be serialisable for run.json


def test_dataset_stats_fingerprint_tracks_content() -> None:
    changed = Conversation("n", None, (Turn("u1", "a1"), Turn("u2", "a2!")))
    assert dataset_stats([NO_SYSTEM])["sha256"] == dataset_stats([NO_SYSTEM])["sha256"]
    assert dataset_stats([NO_SYSTEM])["sha256"] != dataset_stats([changed])["sha256"]


def test_dataset_stats_empty() -> None:
    stats = dataset_stats([])
    assert stats["conversations"] == 0
    assert stats["turns"] == {"min": 0, "mean": 0.0, "max": 0}


# --- the packaged sample and its generator -------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> list[Conversation]:
    return load_conversations(default_dataset_path())


def test_default_dataset_path_is_packaged() -> None:
    path = default_dataset_path()
    assert path.name == "sample_conversations.jsonl"
    assert path.is_file()
    assert path.stat().st_size < 1_500_000


def test_sample_shape(sample: list[Conversation]) -> None:
    assert len(sample) >= 240
    assert [c.id for c in sample[:2]] == ["sample-0001", "sample-0002"]
    assert len({c.id for c in sample}) == len(sample)
    counts = dataset_stats(sample)["turns_histogram"]
    assert set(counts) == {"1", "2", "3", "4", "5", "6"}
    assert counts["1"] > counts["6"]  # a spread weighted to short chats, not uniform
    assert all(t.assistant for c in sample for t in c.turns)  # a recorded reply every turn
    with_system = sum(c.system is not None for c in sample)
    assert 0.2 < with_system / len(sample) < 0.45


def test_sample_prompt_lengths_spread(sample: list[Conversation]) -> None:
    words = sorted(len(t.user.split()) for c in sample for t in c.turns)
    assert words[0] <= 5  # one-line questions
    assert words[-1] >= 900  # pasted documents
    assert sum(w >= 200 for w in words) >= 20
    replies = sorted(len(t.assistant or "") for c in sample for t in c.turns)
    assert replies[0] < 100 and replies[-1] > 1000


def test_sample_conversations_are_distinct(sample: list[Conversation]) -> None:
    firsts = {(c.system, c.turns[0].user) for c in sample}
    assert len(firsts) == len(sample)


def run_generator(out: Path, *args: str) -> bytes:
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.read_bytes()


def test_generator_is_deterministic(tmp_path: Path) -> None:
    first = run_generator(tmp_path / "a.jsonl", "--count", "12")
    second = run_generator(tmp_path / "b.jsonl", "--count", "12")
    assert first == second
    assert len(first.splitlines()) == 12
    # each conversation is seeded from (seed, index): a smaller count is a prefix
    shorter = run_generator(tmp_path / "c.jsonl", "--count", "5")
    assert first.splitlines()[:5] == shorter.splitlines()
    other_seed = run_generator(tmp_path / "d.jsonl", "--count", "12", "--seed", "7")
    assert other_seed != first
    assert len(load_conversations(tmp_path / "d.jsonl")) == 12


def test_generator_reproduces_packaged_sample(tmp_path: Path) -> None:
    packaged = default_dataset_path().read_bytes()
    count = str(len(packaged.splitlines()))
    assert run_generator(tmp_path / "sample.jsonl", "--count", count) == packaged
