"""``loadprofile capacity`` on real processes: a mock whose capacity is known exactly."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import run_cli

# 3 slots; each request holds one for 40 ms + 5 x 12 ms = 100 ms. A 4th concurrent user (no
# think time) always waits for a slot: its TTFT is 40 ms plus up to 100 ms of queueing.
THREE_SLOTS = """
[models.slots]
ttft_base_ms = 40.0
itl_ms = 12.0
output_tokens_min = 6
output_tokens_max = 6
max_concurrency = 3
"""


def test_capacity_finds_the_slot_count_exactly(mock_factory, dataset: Path, tmp_path: Path) -> None:
    mock = mock_factory(THREE_SLOTS)
    out = tmp_path / "cap"
    flags = ["capacity", "--host", mock.url, "--model", "slots", "--slo-ttft-p99-ms", "70"]
    flags += ["--max-users", "4", "--warmup", "1s", "--min-time", "2s", "--probe-time", "4s"]
    flags += ["--stable-metrics", "ttft_ms.p90", "--stable-ci", "10", "--think-time", "0"]
    flags += ["--dataset", str(dataset), "--out", str(out), "--expect-at-least", "3"]
    done = run_cli(flags, tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    answer = json.loads((out / "capacity.json").read_text())["models"]["slots"]
    assert answer["max_users"] == 3 and answer["interval"] == [3, 3], answer
    assert answer["limited_by"] == "ttft_ms.p99"
    probes = {p["load"]: p for p in answer["probes"]}
    assert list(probes) == [1, 2, 4, 3]
    assert probes[4]["verdict"] in ("fail", "over-saturated") and probes[3]["verdict"] == "pass"
    assert (out / probes[3]["dir"] / "summary.json").is_file()
    assert "slots serves 3 concurrent users" in done.stdout
