"""``loadprofile capacity`` on real processes: a mock whose capacity is known exactly."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

from tests.integration.conftest import get_json, run_cli

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
    page = (out / "capacity.html").read_text()
    assert "slots serves 3 concurrent users within TTFT p99 ≤ 70 ms (exactly)" in page


# 1 slot held 100 ms: 10 requests a second at most. Offered 30 a second, the queue (and the
# TTFT) grows without bound from the first probe on.
ONE_SLOT = """
[models.one]
ttft_base_ms = 50.0
itl_ms = 10.0
output_tokens_min = 6
output_tokens_max = 6
max_concurrency = 1
"""


def test_an_overloaded_server_is_cut_short_and_marked(
    mock_factory, dataset: Path, tmp_path: Path
) -> None:
    mock = mock_factory(ONE_SLOT)
    out = tmp_path / "cap"
    flags = ["capacity", "--host", mock.url, "--model", "one", "--slo-ttft-p99-ms", "100"]
    flags += ["--mode", "rate", "--start-rate", "30", "--budget", "20s", "--probe-time", "20s"]
    flags += ["--warmup", "1s", "--min-time", "18s"]
    flags += ["--dataset", str(dataset), "--out", str(out), "--", "--interval", "0.5s"]
    done = run_cli(flags, tmp_path, timeout=90)
    assert done.returncode == 0, done.stderr + done.stdout
    answer = json.loads((out / "capacity.json").read_text())["models"]["one"]
    first = answer["probes"][0]
    assert first["load"] == 30 and first["verdict"] == "over-saturated", answer
    assert first["stopped_because"] == "over-saturated"
    assert first["seconds"] < 16, first  # cut (~5 s in, then its shutdown) before its -t
    assert answer["max_rate"] == 0 and answer["limited_by"] == "budget", answer
    assert "over-saturated" in (out / "capacity.html").read_text()


def _freeze_once_serving(url: str, seconds: float) -> None:
    """Freeze the mock (nothing leaves it) as soon as it has served its first requests."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not get_json(url + "/mock/stats")["one"]["completed"]:
        time.sleep(0.05)
    body = json.dumps({"seconds": seconds}).encode()
    request = urllib.request.Request(url + "/mock/freeze", method="POST", data=body)
    with urllib.request.urlopen(request, timeout=10):
        pass


def test_a_frozen_server_is_cut_short_and_marked(
    mock_factory, dataset: Path, tmp_path: Path
) -> None:
    """A server that stops answering gives no TTFT to watch climb: the probe is cut once no
    request has completed for a while after its warm-up, and marked failed."""
    mock = mock_factory(ONE_SLOT)
    out = tmp_path / "cap"
    flags = ["capacity", "--host", mock.url, "--model", "one", "--slo-ttft-p99-ms", "100"]
    flags += ["--max-users", "1", "--probe-time", "25s", "--warmup", "1s", "--min-time", "20s"]
    flags += ["--think-time", "0", "--dataset", str(dataset), "--out", str(out)]
    freezer = threading.Thread(target=_freeze_once_serving, args=(mock.url, 30.0), daemon=True)
    freezer.start()
    done = run_cli(flags, tmp_path, timeout=90)
    freezer.join(5)
    assert done.returncode == 0, done.stderr + done.stdout
    first = json.loads((out / "capacity.json").read_text())["models"]["one"]["probes"][0]
    assert first["verdict"] == "failed" and first["stopped_because"] == "no answers", first
    assert first["seconds"] < 20, first  # cut ~5 s after the last answer, long before -t
