"""A first run against a server with a small context: the real CLI against real mock processes
that publish and enforce it as llama.cpp and vLLM do. The preflight warns and names the flag,
the flag skips the turns that would not fit, and a run whose requests were still running at
the stop says so in its end summary."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import Launched, Launcher, get_json, run_cli

pytestmark = pytest.mark.integration

#: 27 characters, 5 tokens by the mock's tokenizer: the local estimate (characters / 4) of a
#: prompt of it is larger than the mock's count, so what the estimate fits, the mock accepts.
LOREM = "lorem ipsum dolor sit amet "
CONTEXT, MAX_TOKENS = 400, 64
CAP = CONTEXT - MAX_TOKENS  # what the warning suggests
SHORT = [
    {"role": "user", "content": "Hello, who are you?"},
    {"role": "assistant", "content": "A helpful assistant."},
    {"role": "user", "content": "What can you do?"},
]
CONVERSATIONS = [
    *({"id": f"short-{i}", "messages": SHORT} for i in range(4)),
    # ~675 tokens estimated (504 by the mock): over the context from its first turn
    {"id": "long-at-once", "messages": [{"role": "user", "content": LOREM * 100}]},
    # turn 1 fits (~205 estimated); turn 2 (~614) does not
    {
        "id": "long-later",
        "messages": [
            {"role": "user", "content": "Read this: " + LOREM * 30},
            {"role": "assistant", "content": "Done."},
            {"role": "user", "content": "And this: " + LOREM * 60},
        ],
    },
]

FAST = """
ttft_base_ms = 5.0
itl_ms = 1.0
output_tokens_min = 8
output_tokens_max = 8
"""
LLAMA_CPP = f"[models.llama]{FAST}context_tokens = {CONTEXT}\nmax_concurrency = 4\n"
VLLM = (
    f'[models.vllm]{FAST}context_tokens = {CONTEXT}\ncontext_style = "vllm"\n[models.plain]{FAST}'
)
SLOW = """
[models.slow]
ttft_base_ms = 4000.0
itl_ms = 10.0
output_tokens_min = 5
output_tokens_max = 5
"""
SHORT_RUN = [
    "-u",
    "2",
    "-r",
    "20",
    "-t",
    "3s",
    "--think-time",
    "0",
    "--max-tokens",
    str(MAX_TOKENS),
    "--no-report",
]


@pytest.fixture(scope="module")
def launched(launcher: Launcher) -> Launcher:
    """Four short runs, started together, each against its own mock."""
    launcher.dataset.write_text(
        "".join(json.dumps(c) + "\n" for c in CONVERSATIONS), encoding="utf-8"
    )
    launcher.launch("llama-over", LLAMA_CPP, ["run", "--model", "llama", *SHORT_RUN])
    launcher.launch(
        "llama-capped",
        LLAMA_CPP,
        ["run", "--model", "llama", *SHORT_RUN, "--max-prompt-tokens", str(CAP)],
    )
    launcher.launch("vllm-over", VLLM, ["run", "--model", "vllm", "--model", "plain", *SHORT_RUN])
    launcher.launch(
        "stopped",
        SLOW,
        [
            "run",
            "--model",
            "slow",
            "-u",
            "3",
            "-r",
            "50",
            "-t",
            "2s",
            "--think-time",
            "0",
            "--stop-timeout",
            "1s",
            "--timeout",
            "60s",
            "--no-report",
        ],
    )
    return launcher


def _finished(run: Launched) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    done = run.done()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads((run.out / "summary.json").read_text())
    meta = json.loads((run.out / "run.json").read_text())
    return done.stdout, done.stderr, summary, meta


def _lines(text: str, fragment: str) -> list[str]:
    return [line for line in text.splitlines() if fragment in line]


def test_the_mocks_publish_their_context_as_the_real_servers_do(launched: Launcher) -> None:
    llama, vllm = launched.runs["llama-over"].mock, launched.runs["vllm-over"].mock
    props = get_json(llama.url + "/props")
    assert props["default_generation_settings"]["n_ctx"] == CONTEXT
    assert props["total_slots"] == 4
    listed = {m["id"]: m for m in get_json(vllm.url + "/v1/models")["data"]}
    assert listed["vllm"]["max_model_len"] == CONTEXT
    assert "max_model_len" not in listed["plain"]


def test_llama_cpp_context_warns_and_names_the_flag(launched: Launcher) -> None:
    run = launched.runs["llama-over"]
    _, stderr, summary, meta = _finished(run)
    warned = _lines(stderr, "server context")
    assert warned == [
        f"warning: llama: server context {CONTEXT} tokens (llama.cpp /props n_ctx): 2 of 6 "
        "conversations have turns that would not fit (prompt + max_tokens, prompts estimated "
        f"at 4 characters a token; 2 of 11 turns); --max-prompt-tokens {CAP} skips them"
    ]
    assert warned[0].removeprefix("warning: ") in meta["warnings"]
    # The warning was right: the server rejected those turns as llama-server does.
    errors = summary["models"]["llama"]["errors"]
    assert set(errors) == {"http_4xx"} and errors["http_4xx"] >= 1
    with (run.out / "requests.csv").open(encoding="utf-8") as fh:
        failed = [r for r in csv.DictReader(fh) if r["error_class"]]
    assert {r["conversation_id"] for r in failed} <= {"long-at-once", "long-later"}
    assert all("exceeds the available context size" in r["error"] for r in failed)


def test_the_flag_skips_the_turns_that_would_not_fit(launched: Launcher) -> None:
    run = launched.runs["llama-capped"]
    stdout, stderr, summary, meta = _finished(run)
    assert _lines(stdout, "--max-prompt-tokens") == [
        f"--max-prompt-tokens {CAP}: skipped 2 of 11 turns (a conversation ends before its "
        "first longer prompt: 1 cut short, 1 left out); 5 of 6 conversations run (prompts "
        "estimated at 4 characters a token)"
    ]
    assert "server context" not in stderr  # what is left fits: nothing to warn about
    assert "still running at the stop" not in stderr
    llama = summary["models"]["llama"]
    assert llama["requests"] >= 10 and llama["errors"] == {}
    assert meta["load"]["max_prompt_tokens"] == CAP
    assert meta["dataset"]["conversations"] == 5
    assert meta["dataset"]["max_prompt_tokens"] == {
        "limit": CAP,
        "turns_skipped": 2,
        "turns_run": 9,
        "conversations_cut": 1,
        "conversations_dropped": 1,
        "conversations_run": 5,
    }
    served = [r for r in get_json(run.mock.url + "/mock/requests") if r["max_tokens"] != 1]
    assert served and all(r["status"] == 200 for r in served)
    # long-later was sent, but only its first turn
    assert any(m["content"].startswith("Read this: ") for r in served for m in r["messages"])
    assert not any(m["content"].startswith("And this: ") for r in served for m in r["messages"])


def test_vllm_context_warns_for_its_model_only(launched: Launcher) -> None:
    _, stderr, summary, _ = _finished(launched.runs["vllm-over"])
    warned = _lines(stderr, "server context")
    assert len(warned) == 1
    assert warned[0].startswith(
        f"warning: vllm: server context {CONTEXT} tokens (vLLM "
        "/v1/models max_model_len): 2 of 6 conversations"
    )
    assert warned[0].endswith(f"--max-prompt-tokens {CAP} skips them")
    assert summary["models"]["vllm"]["errors"].get("http_4xx", 0) >= 1
    assert summary["models"]["plain"]["errors"] == {}  # publishes nothing, enforces nothing


def test_requests_still_running_at_the_stop_are_explained(launched: Launcher) -> None:
    _, stderr, summary, meta = _finished(launched.runs["stopped"])
    slow = summary["models"]["slow"]
    assert slow["requests"] == meta["unfinished_at_stop"] >= 1
    assert slow["errors"] == {"timeout": slow["requests"]}
    explained = _lines(stderr, "still running at the stop")
    assert len(explained) == 1
    assert re.fullmatch(
        r"warning: (\d) of \1 requests were still running at the stop \(1s "
        r"after the run time\) and count as timeout errors: raise "
        r"--stop-timeout or lower -u",
        explained[0],
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "max prompt tokens must be at least 1, got 0"),
        ("-3", "max prompt tokens must be at least 1, got -3"),
        ("many", "argument --max-prompt-tokens: invalid int value: 'many'"),
        (
            "4",
            "--max-prompt-tokens 4 skips every conversation: the shortest first prompt is about "
            "5 tokens",
        ),
    ],
)
def test_bad_values_end_in_one_line_and_exit_2(tmp_path: Path, value: str, message: str) -> None:
    dataset = tmp_path / "c.jsonl"
    dataset.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS), encoding="utf-8")
    done = run_cli(
        ["run", "--dataset", str(dataset), "-t", "1s", "--max-prompt-tokens", value], cwd=tmp_path
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("loadprofile: error: "), done.stderr
    assert message in lines[0]
    assert not (tmp_path / "reports").exists()


def test_the_config_file_takes_it_too(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text("[load]\nmax_prompt_tokens = 0\n", encoding="utf-8")
    done = run_cli(["run", "--config", str(config), "-t", "1s"], cwd=tmp_path)
    assert done.returncode == 2
    assert "max prompt tokens must be at least 1, got 0" in done.stderr
