"""One flag registry: `loadprofile run`, `loadprofile gate` and plain Locust's parser take
their flags from it, and docs/flags.md's tables are generated from it."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from loadprofile.cli import build_parser
from loadprofile.config.flag_table import render, spliced
from loadprofile.config.flags import FLAGS, Command, InLocust, add_flags, cli_values, flags_for

FLAGS_DOC = Path(__file__).parents[2] / "docs" / "flags.md"


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions for name in action.option_strings} - {
        "-h",
        "--help",
    }


def _subparser(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def test_the_docs_tables_are_generated_from_the_registry() -> None:
    document = FLAGS_DOC.read_text(encoding="utf-8")
    assert spliced(document) == document, "docs/flags.md is stale: run `make flags-doc`"
    for flag in flags_for("run"):
        assert f"`{'/'.join(flag.names)}" in render()


@pytest.mark.parametrize("command", ["run", "gate"])
def test_every_flag_of_the_command_comes_from_the_registry(command: Command) -> None:
    declared = {name for flag in flags_for(command) for name in flag.names}
    assert _options(_subparser(command)) == declared


def test_names_are_unique_and_each_flag_has_help() -> None:
    names = [name for flag in FLAGS for name in flag.names]
    assert len(names) == len(set(names))
    assert all(flag.help and flag.group for flag in FLAGS)


def test_environment_variables_stand_in_for_a_flag_not_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOADPROFILE_DATASET", str(tmp_path / "prod.jsonl"))
    parser = argparse.ArgumentParser()
    add_flags(parser, "run")
    assert cli_values(parser.parse_args([]), "run").dataset == str(tmp_path / "prod.jsonl")
    assert cli_values(parser.parse_args(["--dataset", "x"]), "run").dataset == "x"


def test_plain_locust_takes_the_same_flags_without_clashing() -> None:
    """In a child process: importing Locust patches the process for gevent."""
    script = """
import sys
from locust.argument_parser import get_parser
from loadprofile.config.flags import FLAGS, InLocust, add_flags, cli_values
parser = get_parser()
own = {n for a in parser._actions for n in a.option_strings}
add_flags(parser, "locust")  # argparse raises on a clash with Locust's own names
for flag in FLAGS:
    if flag.locust is InLocust.OWN:
        assert set(flag.names) & own, flag.names
args = parser.parse_args(["--loadprofile-config", "run.toml", "--seed", "7",
                          "--max-prompt-tokens", "9", "--unique-prefix", "--model", "m"])
values = cli_values(args, "locust")
assert (str(values.config), values.seed, values.max_prompt_tokens) == ("run.toml", 7, 9)
assert values.unique_prefix is True and values.models == ("m",) and args.config != "run.toml"
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_flags_locust_lacks_are_said_so() -> None:
    no = {flag.dest for flag in FLAGS if flag.locust is InLocust.NO}
    assert {"max_requests", "no_report", "slo", "canary"} <= no


def test_the_documented_sample_dataset_figures_match_the_data() -> None:
    from loadprofile.dataset.conversations import default_dataset_path, load_conversations

    conversations = load_conversations(default_dataset_path())
    turns = sum(len(c.turns) for c in conversations)
    shown = next(flag.default for flag in FLAGS if flag.dest == "dataset")
    assert f"({len(conversations)} conversations, {turns} turns)" in shown
