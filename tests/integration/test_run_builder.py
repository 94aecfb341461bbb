"""One run builder: ``loadprofile run`` and plain ``locust -f locustfiles/chat.py`` given the
same inputs write the same run.json, apart from what differs by nature (times, ids, the
command line, the port of each run's own mock, what was measured)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import FIXED_PROFILE, Launcher

pytestmark = pytest.mark.integration

#: run.json keys that differ between any two runs, whichever way they were started.
PER_RUN = {
    "run_id",
    "started_at",
    "ended_at",
    "duration_s",
    "command",  # `loadprofile run ...` against `locust -f ...`
    "generator",  # the generator's CPU and loop lag, measured
    "load_duration_s",
    "dataset_passes",
    "unfinished_at_stop",
    "server_metrics_scrapes",
}

SAME_INPUTS = [
    "--model",
    "fixed",
    "-u",
    "3",
    "-r",
    "10",
    "-t",
    "2s",
    "--think-time",
    "0",
    "--max-tokens",
    "16",
    "--timeout",
    "20s",
    "--slo-ttft-ms",
    "500",
    "--extra-body",
    '{"temperature": 0}',
    "--max-prompt-tokens",
    "4000",
    "--sample-outputs",
    "3",
]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path_factory.mktemp("both"))
    try:
        launcher.launch("cli", FIXED_PROFILE, ["run", *SAME_INPUTS, "--no-report"])
        launcher.launch(
            "locust",
            FIXED_PROFILE,
            [*SAME_INPUTS, "--headless", "--only-summary"],
            locustfile="chat.py",
        )
        launcher.wait_all()
        yield launcher
    finally:
        launcher.close()


def _comparable(launcher: Launcher, name: str) -> dict[str, Any]:
    run = launcher.runs[name]
    done = run.done()
    assert done.returncode == 0, done.stderr[-2000:]
    text = (run.out / "run.json").read_text(encoding="utf-8").replace(run.mock.url, "HOST")
    meta = json.loads(text)
    # the end of the run adds what it measured (e.g. how often the dataset was replayed)
    meta["warnings"] = [w for w in meta["warnings"] if "were replayed" not in w]
    return {key: value for key, value in meta.items() if key not in PER_RUN}


def test_both_paths_write_the_same_run_json(both: Launcher) -> None:
    from_cli, from_locust = _comparable(both, "cli"), _comparable(both, "locust")
    assert from_cli.keys() == from_locust.keys()
    differ = {k: (from_cli[k], from_locust[k]) for k in from_cli if from_cli[k] != from_locust[k]}
    assert differ == {}
    # and it is a real run.json: what the builder adds, on both paths
    assert from_cli["dataset"]["conversations"] > 0
    assert from_cli["dataset"]["max_prompt_tokens"]["limit"] == 4000
    assert from_cli["target"] == {"kind": "host", "hosts": ["HOST"]}
    assert from_cli["load"]["extra_body"] == '{"temperature": 0}'
