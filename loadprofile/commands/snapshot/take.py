"""``loadprofile snapshot``: one model's answers to a dataset's prompts, kept for drift checks.

Not a load test: a bounded pool of threads (``--concurrency``) sends every prompt once, at
temperature 0 with a fixed ``seed`` (for the APIs that take one), through the same client
and contract checks as a load run. Answers are appended to ``outputs.jsonl`` as they come,
so an interrupted snapshot resumes where it stopped: the same command again sends only the
prompts without an answer (failed ones are retried). No Locust, no gevent here.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadprofile.client.apis.endpoints import endpoint_path
from loadprofile.client.apis.flavours import flavour
from loadprofile.client.http.client import HttpClient
from loadprofile.client.streaming import send_chat
from loadprofile.client.target_client import api_client
from loadprofile.config.run_config import Target
from loadprofile.core.prefix import prefix_nonce, with_unique_prefix
from loadprofile.core.results import RequestResult
from loadprofile.dataset.turns import Conversation, build_messages, every_turn
from loadprofile.errors import UsageError
from loadprofile.quality.snapshot_format import (
    OUTPUTS,
    SCHEMA,
    SNAPSHOT,
    Output,
    output_of,
    prompt_key,
    read_meta,
    read_outputs,
)
from loadprofile.rundir.meta import versions


@dataclass(frozen=True)
class SnapshotPlan:
    target: Target
    conversations: list[Conversation]
    dataset_path: str
    out_dir: Path
    limit: int | None = None  # -n: the first N prompts
    concurrency: int = 8
    max_tokens: int | None = 256
    seed: int = 0
    timeout_s: float = 300.0
    host_label: str | None = None  # what snapshot.json names as host (the mock's port varies)
    repeat_to_n: bool = False  # a dataset with fewer prompts than -n: ask them again, renamed

    @property
    def host(self) -> str | None:
        return self.host_label or self.target.host


@dataclass(frozen=True)
class Prompt:
    conversation: Conversation
    turn_index: int
    copy: int = 0  # --repeat-to-n: the k-th pass over the dataset (0: the dataset itself)

    @property
    def conversation_id(self) -> str:
        return self.conversation.id if not self.copy else f"{self.conversation.id}~{self.copy}"

    @property
    def key(self) -> str:
        return prompt_key(self.conversation_id, self.turn_index + 1)

    def messages(self) -> list[dict[str, Any]]:
        """The turn with its recorded history; a further pass opens it with a nonce, so the
        model (and its prefix cache) sees a prompt of its own."""
        messages: list[dict[str, Any]] = list(
            build_messages(self.conversation, self.turn_index, None)
        )
        if not self.copy:
            return messages
        return with_unique_prefix(messages, prefix_nonce(self.conversation_id))


def prompts_of(
    conversations: list[Conversation], limit: int | None, repeat_to_n: bool = False
) -> list[Prompt]:
    """Every turn of every conversation (with its recorded history), in dataset order; the
    first ``limit``, and with ``repeat_to_n`` further passes until there are ``limit``."""
    once = [Prompt(c, i) for c, i in every_turn(conversations)]
    if limit is None or len(once) >= limit or not repeat_to_n or not once:
        return once[:limit] if limit is not None else once
    passes = -(-limit // len(once))
    out = [Prompt(p.conversation, p.turn_index, k) for k in range(passes) for p in once]
    return out[:limit]


def dataset_turns(conversations: list[Conversation]) -> int:
    return len(every_turn(conversations))


def dataset_sha256(prompts: list[Prompt]) -> str:
    """Fingerprint of exactly the prompts asked: two snapshots compare only if they match."""
    digest = hashlib.sha256()
    for p in prompts:
        digest.update(json.dumps(p.messages(), sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def snapshot_meta(plan: SnapshotPlan, prompts: list[Prompt]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "kind": "loadprofile-snapshot",
        "model": plan.target.model,
        "host": plan.host,
        "api": plan.target.api,
        "dataset": {
            "path": plan.dataset_path,
            "sha256": dataset_sha256(prompts),
            "prompts": len(prompts),
            "turns": dataset_turns(plan.conversations),  # prompts in one pass of the file
            "short_of_n": max(0, (plan.limit or 0) - len(prompts)),  # -n beyond the dataset
        },
        "params": {
            "temperature": 0,
            "seed": plan.seed,
            "max_tokens": plan.max_tokens,
            "n": plan.limit,
            "repeat_to_n": plan.repeat_to_n,
            "concurrency": plan.concurrency,
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "versions": versions(),
    }


def prepare_folder(plan: SnapshotPlan, prompts: list[Prompt]) -> dict[str, Output]:
    """Create the folder, or check that it holds this same snapshot; returns what is done."""
    meta = snapshot_meta(plan, prompts)
    folder = plan.out_dir
    if (folder / SNAPSHOT).exists():
        try:
            old = read_meta(folder)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        same = (
            old.get("model"),
            old.get("host"),
            old.get("dataset", {}).get("sha256"),
            old.get("params", {}).get("max_tokens"),
            old.get("params", {}).get("seed"),
        )
        new = (meta["model"], meta["host"], meta["dataset"]["sha256"], plan.max_tokens, plan.seed)
        if same != new:
            raise UsageError(
                f"--out {folder}: holds a snapshot of another model, host, dataset "
                "or parameters; choose another folder"
            )
        return {k: o for k, o in read_outputs(folder).items() if o.ok}
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"--out {folder}: not empty and not a snapshot; choose another folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {folder}: cannot create the folder: {exc.strerror}") from None
    (folder / SNAPSHOT).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return {}


def ask(client: HttpClient, plan: SnapshotPlan, prompt: Prompt) -> Output:
    """One prompt, answered (or failed, classified) through the load run's own client."""
    messages = prompt.messages()
    body = flavour(plan.target.api).request(
        plan.target.model, messages, plan.max_tokens, temperature=0.0, extra={"seed": plan.seed}
    )
    result = RequestResult(plan.target.name, prompt.conversation_id, prompt.turn_index + 1, 0.0)
    send_chat(client, body, result, api=plan.target.api, path=endpoint_path(plan.target))
    blob = json.dumps(messages, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return output_of(result, hashlib.sha256(blob).hexdigest())


Progress = Callable[[int, int, int], None]  # (done, total, failed)


def take_snapshot(
    plan: SnapshotPlan, progress: Progress, stop: threading.Event
) -> tuple[int, int, int]:
    """Ask every prompt not answered yet; returns (answered now, failed now, still missing).
    ``stop`` ends it early (Ctrl-C): what was answered stays in the folder."""
    prompts = prompts_of(plan.conversations, plan.limit, plan.repeat_to_n)
    done = prepare_folder(plan, prompts)
    todo = [p for p in prompts if p.key not in done]
    local = threading.local()
    clients: list[HttpClient] = []
    lock = threading.Lock()

    def work(prompt: Prompt) -> Output:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = api_client(plan.target, plan.timeout_s)
            with lock:
                clients.append(client)
        return ask(client, plan, prompt)

    answered = failed = 0
    with (
        (plan.out_dir / OUTPUTS).open("a", encoding="utf-8") as fh,
        ThreadPoolExecutor(max_workers=plan.concurrency) as pool,
    ):
        pending: set[Future[Output]] = set()
        queue: Iterator[Prompt] = iter(todo)
        progress(len(done), len(prompts), 0)
        while True:
            while not stop.is_set() and len(pending) < plan.concurrency * 2:
                nxt = next(queue, None)
                if nxt is None:
                    break
                pending.add(pool.submit(work, nxt))
            if not pending:
                break
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                output = future.result()
                fh.write(output.to_line())
                fh.flush()
                answered += output.ok
                failed += not output.ok
            progress(len(done) + answered, len(prompts), failed)
    for client in clients:
        client.close()
    return answered, failed, len(prompts) - len(done) - answered


class ProgressBar:
    """One line on stderr: redrawn on a terminal, a plain line every 10 s in a log."""

    def __init__(self, stream: Any, tty: bool) -> None:
        self.stream, self.tty = stream, tty
        self.started = time.monotonic()
        self._last_line = 0.0
        self._first_done: int | None = None

    def __call__(self, done: int, total: int, failed: int) -> None:
        if self._first_done is None:
            self._first_done = done
        now = time.monotonic()
        rate = (done - self._first_done) / max(1e-9, now - self.started)
        eta = f"{(total - done) / rate:.0f}s" if rate > 0 else "?"
        width = 30
        filled = int(width * done / total) if total else width
        line = (
            f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total} "
            f"{rate:.1f}/s ETA {eta} failed {failed}"
        )
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
        elif now - self._last_line >= 10.0 or done == total:
            self._last_line = now
            print(line, file=self.stream, flush=True)

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
