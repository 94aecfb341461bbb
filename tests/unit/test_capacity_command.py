"""``loadprofile capacity`` without real runs: bad input, capacity.json's shape, the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadprofile.cli import main
from loadprofile.commands.capacity import command
from loadprofile.commands.capacity.probe import (
    ProbeOutcome,
    ProbePlan,
    _climbing_beyond,
    judge,
    probe_dir_name,
)
from loadprofile.contract.capacity import Probe, decode_capacity
from loadprofile.core.capacity_verdict import Verdict


@pytest.fixture
def fake_probes(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Probes that pass up to 5 users (or 5 req/s), with the time they were given."""
    caps: list[float] = []

    def run_probe(plan: ProbePlan, load: float, cap_s: float) -> ProbeOutcome:
        caps.append(cap_s)
        ok = load <= 5
        found: Verdict = "pass" if ok else "fail"
        record = Probe(
            load=load,
            dir=f"{plan.model}/{probe_dir_name(plan.mode, load)}",
            verdict=found,
            p99s={"ttft_ms.p99": 40.0 if ok else 140.0},
            ci={"ttft_ms.p99": [38.0, 42.0] if ok else [130.0, 150.0]},
            seconds=3.0,
            stopped_because="stable",
        )
        return ProbeOutcome(record, found, None if ok else "ttft_ms.p99")

    monkeypatch.setattr(command, "run_probe", run_probe)
    return caps


BASE = ["capacity", "--host", "http://127.0.0.1:9", "--slo-ttft-p99-ms", "60"]


@pytest.mark.parametrize(
    "flags",
    [
        ["capacity", "--host", "http://127.0.0.1:9", "--model", "m"],  # no SLO
        [*BASE],  # --host without --model
        [*BASE, "--model", "m", "--budget", "soon"],
        [*BASE, "--model", "m", "--max-users", "0"],
        [*BASE, "--model", "m", "--mode", "rate", "--precision", "0"],
        [*BASE, "--model", "m", "--max-error-rate", "1.5"],
        [*BASE, "--model", "m", "--dataset", "/nonexistent.jsonl"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_probes: list[float]
) -> None:
    assert main([*flags, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("loadprofile: error:") and err.count("\n") == 1
    assert not fake_probes and not (tmp_path / "out" / "capacity.json").exists()


def test_an_unknown_mode_is_refused_by_the_parser(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        main([*BASE, "--model", "m", "--mode", "sideways", "--out", str(tmp_path)])
    assert stop.value.code == 2


def test_capacity_json_has_the_issue_shape(tmp_path: Path, fake_probes: list[float]) -> None:
    out = tmp_path / "out"
    flags = [*BASE, "--model", "a", "--model", "b", "--max-error-rate", "0.01"]
    assert main([*flags, "--out", str(out), "--budget", "1h", "--probe-time", "40s"]) == 0
    data = json.loads((out / "capacity.json").read_text())
    assert list(data) == ["schema", "slo", "mode", "models"]
    assert data["schema"] == 1 and data["mode"] == "concurrency"
    assert data["slo"] == {"ttft_ms.p99": 60.0, "error_rate": 0.01}
    for model in ("a", "b"):
        answer = data["models"][model]
        assert list(answer) == ["max_users", "interval", "limited_by", "probes"]
        assert answer["max_users"] == 5 and answer["interval"] == [5, 5]
        assert answer["limited_by"] == "ttft_ms.p99"
        assert [p["load"] for p in answer["probes"]] == [1, 2, 4, 8, 6, 5]
        assert set(answer["probes"][0]) == {
            "load", "dir", "verdict", "p99s", "ci", "seconds", "stopped_because"
        }  # fmt: skip
    assert max(fake_probes) == 40.0  # --probe-time caps each probe
    decode_capacity((out / "capacity.json").read_bytes())


def test_rate_mode_answers_max_rate(tmp_path: Path, fake_probes: list[float]) -> None:
    out = tmp_path / "out"
    assert main([*BASE, "--model", "m", "--mode", "rate", "--out", str(out)]) == 0
    answer = json.loads((out / "capacity.json").read_text())["models"]["m"]
    assert "max_users" not in answer and 5 / 1.05 <= answer["max_rate"] <= 5
    assert answer["interval"][1] <= answer["max_rate"] * 1.05


def test_expect_at_least_unmet_exits_1(tmp_path: Path, fake_probes: list[float]) -> None:
    flags = [*BASE, "--model", "m", "--out", str(tmp_path / "out")]
    assert main([*flags, "--expect-at-least", "6"]) == 1
    assert main([*flags, "--expect-at-least", "5"]) == 0


def test_the_budget_limits_the_answer(tmp_path: Path, fake_probes: list[float]) -> None:
    out = tmp_path / "out"
    # each probe needs warm-up + min time (40 s); 1 s of budget allows none
    assert main([*BASE, "--model", "m", "--out", str(out), "--budget", "1s"]) == 0
    answer = json.loads((out / "capacity.json").read_text())["models"]["m"]
    assert answer["limited_by"] == "budget" and answer["probes"] == []


def _plan(tmp_path: Path) -> ProbePlan:
    return ProbePlan(
        "http://127.0.0.1:9", "m", "concurrency", tmp_path / "m", [], 1.0, {"ttft_ms.p99": 60.0},
        None,
    )  # fmt: skip


def test_a_probe_that_left_no_run_folder_is_failed(tmp_path: Path) -> None:
    outcome = judge(_plan(tmp_path), 4, tmp_path / "m" / "u4", 9.0, None, 1)
    assert outcome.verdict == "failed" and not outcome.passed
    assert outcome.record.stopped_because == "run exited 1"
    assert outcome.record.dir == "m/u4" and outcome.record.p99s == {"ttft_ms.p99": None}


def test_a_climbing_ttft_beyond_the_bound_is_cut(tmp_path: Path) -> None:
    run_dir = tmp_path / "m" / "r50"
    run_dir.mkdir(parents=True)
    header = "start_s,end_s,model,users,requests,failures,output_tokens,good,"
    header += "ttft_p50_ms,ttft_p95_ms,ttft_p99_ms\n"

    def write(ttfts: list[float]) -> None:
        rows = [f"{i},{i + 1},m,10,50,0,300,50,{t},{t},{t}\n" for i, t in enumerate(ttfts)]
        (run_dir / "timeseries.csv").write_text(header + "".join(rows))

    write([40, 45, 80, 120, 200, 300, 420, 560, 700])  # climbing, beyond 60 ms
    assert _climbing_beyond(run_dir, _plan(tmp_path), 60.0)
    write([90, 91, 89, 90, 92, 90, 91, 89, 90])  # beyond, but steady: a plain failure
    assert not _climbing_beyond(run_dir, _plan(tmp_path), 60.0)
    write([40, 60, 80, 100])  # too few intervals yet
    assert not _climbing_beyond(run_dir, _plan(tmp_path), 60.0)
