"""One run from resolved options, for both ways in: ``loadprofile run`` and plain ``locust -f``.

Both paths load the dataset, trim it to ``--max-prompt-tokens``, check the targets, make
the run id, prepare the run folder and write the run metadata here, so a run folder says
the same whichever way the run was started (a test compares the two run.json files). What
differs stays with the caller: ``loadprofile run`` starts the embedded mock and drives
Locust itself; the plugin takes hosts, users and run time from Locust's own flags.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from loadprofile.client.http.connect import SocketTransport
from loadprofile.client.http.reach import use_reach
from loadprofile.client.http.transport import Origin
from loadprofile.client.preflight import check_target, context_warnings
from loadprofile.client.server_scrape import server_scraper
from loadprofile.config.extra_body import asks_greedy
from loadprofile.config.run_config import RunConfig, Target
from loadprofile.dataset.conversations import (
    Conversation,
    DatasetError,
    default_dataset_path,
    load_conversations,
)
from loadprofile.dataset.prompt_fit import PromptSkip, limit_prompts
from loadprofile.dataset.stats import dataset_stats
from loadprofile.errors import ConfigError, UsageError
from loadprofile.rundir.meta import build_meta, new_run_id
from loadprofile.rundir.recorder import RunRecorder
from loadprofile.rundir.writer import REQUESTS, SUMMARY


class Say(Protocol):
    """Where the builder's notes go: the run's ``Console``, or stderr under plain Locust."""

    def info(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...


@dataclass(frozen=True)
class LoadedDataset:
    """The conversations a run replays: what fits ``--max-prompt-tokens`` of the file."""

    path: Path
    conversations: list[Conversation]
    skipped: PromptSkip | None


@dataclass(frozen=True)
class BuiltRun:
    """Everything a session needs, checked; nothing has been sent yet."""

    config: RunConfig
    conversations: list[Conversation]
    run_id: str
    run_dir: Path
    meta: dict[str, Any]
    recorder: RunRecorder


def build_run(
    config: RunConfig,
    say: Say,
    *,
    command: list[str],
    target_kind: str,
    dataset: LoadedDataset | None = None,
    open_ended: bool = False,
) -> BuiltRun:
    """The run described by ``config`` (every target has its host): its conversations,
    folder, metadata and recorder. ``dataset``: already loaded (``loadprofile run`` loads it
    before starting a mock, to fail fast); ``open_ended``: no run time (plain Locust without
    -t runs until stopped). Raises UsageError (one line, exit 2) on bad input."""
    transport = use_reach(config.reach)  # a bad certificate file fails here, before the load
    if config.reach.tls.insecure:
        say.warn("--insecure: the certificates of https targets are not verified")
    dataset = dataset or load_dataset(config, say)
    conversations = dataset.conversations
    warnings = [w for w in (check_target(t) for t in config.targets) if w]
    warnings += context_warnings(config.targets, conversations, config.load.max_tokens)
    sampling = [
        t.name for t in config.targets if not asks_greedy(config.load.extra_body, t.extra_body)
    ]
    if config.samples.baselines and sampling:
        warnings.append(
            f"--baseline snapshots are taken at temperature 0, but {', '.join(sampling)} "
            "sample(s): the drift figures include sampling; add "
            "--extra-body '{\"temperature\": 0}' to compare like with like"
        )
    if config.load.users < len(config.targets):
        warnings.append(
            f"{config.load.users} users for {len(config.targets)} models: "
            "some models get no traffic"
        )
    for warning in warnings:
        say.warn(warning)
    run_id = new_run_id()
    run_dir = config.out_dir or Path("reports") / run_id
    prepare_out_dir(run_dir)
    meta = build_meta(
        config,
        run_id=run_id,
        command=command,
        target_kind=target_kind,
        dataset=describe_dataset(dataset),
        warnings=warnings,
    )
    if open_ended:
        meta["load"]["run_time_s"] = None
    proxied = proxies_used(transport, config.targets)
    if proxied:
        meta.setdefault("reach", {})["proxied"] = proxied
    recorder = RunRecorder(run_dir, meta, scraper=server_scraper(config.server_metrics, say.warn))
    return BuiltRun(config, conversations, run_id, run_dir, meta, recorder)


def proxies_used(transport: SocketTransport, targets: Sequence[Target]) -> dict[str, str]:
    """run.json's ``reach.proxied``: the proxy (host and port only) of each proxied target."""
    used = {}
    for target in targets:
        assert target.host is not None
        proxy = transport.proxy(Origin.from_url(target.host))
        if proxy is not None:
            used[target.name] = proxy.display
    return used


def load_dataset(config: RunConfig, say: Say) -> LoadedDataset:
    """The dataset file's conversations, less the turns over --max-prompt-tokens (said)."""
    path = config.dataset or default_dataset_path()
    try:
        kept, skipped = limit_prompts(load_conversations(path), config.load.max_prompt_tokens)
    except (DatasetError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    if skipped is not None:
        say.info(skipped.describe())
    return LoadedDataset(path, kept, skipped)


def describe_dataset(dataset: LoadedDataset) -> dict[str, Any]:
    """run.json's ``dataset``: where it came from and what of it is run."""
    described: dict[str, Any] = {
        "path": str(dataset.path),
        "conversations": len(dataset.conversations),
        "stats": dataset_stats(dataset.conversations),
    }
    if dataset.skipped is not None:
        described["max_prompt_tokens"] = dataset.skipped.to_json()
    return described


def prepare_out_dir(run_dir: Path) -> None:
    """Create the run folder before any load, so a bad --out fails fast and cleanly."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--out {run_dir}: exists and is not a folder")
    if (run_dir / SUMMARY).exists() or (run_dir / REQUESTS).exists():
        raise UsageError(f"--out {run_dir}: already holds a run; choose another folder")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {run_dir}: cannot create the folder: {exc.strerror}") from None
    if not os.access(run_dir, os.W_OK):
        raise UsageError(f"--out {run_dir}: the folder is not writable")
