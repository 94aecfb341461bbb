"""The gate on hand-made run folders: verdicts, outputs, the webhook (loopback receiver)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from loadprofile.cli import main
from loadprofile.commands.gate import output as gate_output
from loadprofile.commands.gate.command import GateOptions, check_before_run
from loadprofile.commands.gate.verdicts import evaluate
from loadprofile.config.slo import SloError, parse_slo
from loadprofile.contract.summary import TargetInfo
from loadprofile.core.collector import Collector
from loadprofile.core.results import RequestResult
from loadprofile.core.summary import build_summary
from loadprofile.rundir.writer import RUN, SUMMARY, RunWriter, write_json, write_summary
from tests.receiver import Receiver


def _model(ttft_p99: float | None, error_rate: float, requests: int = 100) -> dict[str, Any]:
    return {
        "requests": requests,
        "failures": int(requests * error_rate),
        "error_rate": error_rate,
        "errors": {},
        "ttft_ms": {"p50": None if ttft_p99 is None else ttft_p99 / 2, "p99": ttft_p99},
        "goodput_per_s": 10.0,
        "retries": {"first_attempt_error_rate": 0.2},
    }


def _run_dir(
    tmp_path: Path,
    *,
    partial: bool = False,
    canary: dict[str, str] | None = None,
    cost: bool = True,
) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    summary = {
        "schema": 1,
        "run_id": "r-1",
        "partial": partial,
        "models": {
            "current": _model(400.0, 0.01),
            "candidate": _model(600.0, 0.0),
            "empty": _model(None, 1.0),
        },
        "correctness": {
            "current": {"contract_violation_rate": 0.0},
            "candidate": {"contract_violation_rate": 0.02},
        },
        "cost": {
            "current": {"per_transaction": {"mean": 0.004}},
            "candidate": {"per_transaction": {"mean": 0.003}},
        }
        if cost
        else None,
    }
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (run / "run.json").write_text(json.dumps({"run_id": "r-1", "canary": canary}), encoding="utf-8")
    return run


def _slo(**tables: Any) -> Any:
    return parse_slo({"significance": 0, **tables}, "slo.toml")


def _verdicts(result: Any) -> dict[tuple[str, str], bool]:
    return {(v.model, v.bound): v.passed for v in result.verdicts}


def test_absolute_and_relative_bounds_per_model(tmp_path: Path) -> None:
    slo = _slo(
        all={"bounds": ["error_rate <= 0.05"]},
        model={
            "candidate": {
                "bounds": [
                    "ttft_ms.p99 <= 1.2 * current.ttft_ms.p99",
                    "cost.per_transaction.mean <= current.cost.per_transaction.mean",
                    "correctness.contract_violation_rate <= 0.01",
                    "retries.first_attempt_error_rate <= 0.25",
                ]
            }
        },
    )
    result = evaluate(_run_dir(tmp_path), slo)
    assert _verdicts(result) == {
        ("candidate", "error_rate <= 0.05"): True,
        ("current", "error_rate <= 0.05"): True,
        ("empty", "error_rate <= 0.05"): False,
        ("candidate", "ttft_ms.p99 <= 1.2 * current.ttft_ms.p99"): False,  # 600 > 480
        ("candidate", "cost.per_transaction.mean <= current.cost.per_transaction.mean"): True,
        ("candidate", "correctness.contract_violation_rate <= 0.01"): False,
        ("candidate", "retries.first_attempt_error_rate <= 0.25"): True,
    }
    relative = next(v for v in result.verdicts if v.relative)
    assert (relative.actual, relative.limit) == (600.0, pytest.approx(480.0))
    assert not result.passed and len(result.failed) == 3


def test_a_figure_without_data_fails_and_says_so(tmp_path: Path) -> None:
    result = evaluate(_run_dir(tmp_path), _slo(model={"empty": {"bounds": ["ttft_ms.p99 <= 1"]}}))
    (verdict,) = result.verdicts
    assert not verdict.passed and "no data" in verdict.detail


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"all": {"bounds": ["ttft_ms.p98 <= 1"]}}, "no metric 'ttft_ms.p98'.*p50, p90, p95, p99"),
        ({"all": {"bounds": ["ttft_ms <= 1"]}}, "is a group of figures"),
        (
            {"model": {"nobody": {"bounds": ["error_rate <= 1"]}}},
            r"\[model.nobody\]: no such model",
        ),
        ({"canary": {"bounds": ["error_rate <= 1"]}}, "need a canary run"),
    ],
)
def test_bounds_naming_nothing_real_are_usage_errors(
    tmp_path: Path, tables: dict[str, Any], message: str
) -> None:
    with pytest.raises(SloError, match=message):
        evaluate(_run_dir(tmp_path), _slo(**tables))


def test_cost_bounds_need_prices(tmp_path: Path) -> None:
    with pytest.raises(SloError, match=r"no cost figures for current.*\[prices.current\]"):
        evaluate(
            _run_dir(tmp_path, cost=False),
            _slo(model={"current": {"bounds": ["cost.per_transaction.mean <= 1"]}}),
        )


def test_canary_bounds_use_the_runs_canary_and_baseline(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, canary={"candidate": "candidate", "baseline": "current"})
    result = evaluate(
        run,
        _slo(
            canary={
                "bounds": [
                    "error_rate <= baseline.error_rate + 0.01",
                    "ttft_ms.p99 <= 1.2 * baseline.ttft_ms.p99",
                ]
            }
        ),
    )
    assert _verdicts(result) == {
        ("candidate", "error_rate <= baseline.error_rate + 0.01"): True,
        ("candidate", "ttft_ms.p99 <= 1.2 * baseline.ttft_ms.p99"): False,
    }
    assert result.canary == {"candidate": "candidate", "baseline": "current"}


def test_partial_runs_fail_unless_allowed(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, partial=True)
    strict = evaluate(run, _slo(all={"bounds": ["goodput_per_s >= 1"]}))
    assert all(v.passed for v in strict.verdicts) and not strict.passed
    assert "FAIL" in gate_output.table(strict).splitlines()[-2]
    lenient = evaluate(
        run, parse_slo({"allow_partial": True, "all": {"bounds": ["goodput_per_s >= 1"]}}, "s")
    )
    assert lenient.passed


def test_junit_and_markdown_carry_every_verdict(tmp_path: Path) -> None:
    result = evaluate(_run_dir(tmp_path), _slo(all={"bounds": ["ttft_ms.p99 <= 500"]}))
    suites = ET.fromstring(gate_output.junit(result))
    suite = suites.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {"candidate: ttft_ms.p99 <= 500", "empty: ttft_ms.p99 <= 500"}
    md = gate_output.markdown(result)
    assert md.startswith("**loadprofile gate: FAILED** (2 check(s))")
    assert md.count("| ❌ |") == 2 and md.count("| ✅ |") == 1


def _gate(run: Path, slo: Path, *extra: str) -> int:
    return main(["gate", str(run), "--slo", str(slo), *extra])


def test_gate_command_exit_codes_outputs_and_the_webhook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run_dir(tmp_path)
    passing, failing = tmp_path / "pass.toml", tmp_path / "fail.toml"
    passing.write_text('[model.current]\nbounds = ["ttft_ms.p99 <= 500"]\n', encoding="utf-8")
    failing.write_text('[model.candidate]\nbounds = ["ttft_ms.p99 <= 500"]\n', encoding="utf-8")
    with Receiver() as hook:
        assert _gate(run, passing, "--on-fail-webhook", hook.url) == 0
        assert hook.calls == []  # never called on success
        assert not (run / "webhook.json").exists()
        assert (
            _gate(
                run,
                failing,
                "--on-fail-webhook",
                hook.url,
                "--webhook-body",
                '{"canary_pct": 0}',
                "--junit",
                str(tmp_path / "j.xml"),
            )
            == 1
        )
        assert hook.calls == [("/rollback", {"canary_pct": 0})]  # exactly once
    recorded = json.loads((run / "webhook.json").read_text())
    assert recorded["status"] == 200 and recorded["ok"] and recorded["answer"] == '{"ok": true}'
    gate = json.loads((run / "gate.json").read_text())
    assert gate["passed"] is False and gate["webhook"]["status"] == 200
    assert (tmp_path / "j.xml").read_bytes().startswith(b"<?xml")
    out = capsys.readouterr().out
    assert "FAIL  candidate  ttft_ms.p99 <= 500" in out and "gate FAILED" in out


def test_an_unreachable_webhook_is_recorded_not_raised(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    failing = tmp_path / "fail.toml"
    failing.write_text('[all]\nbounds = ["error_rate <= 0"]\n', encoding="utf-8")
    with Receiver() as gone:
        url = gone.url
    assert _gate(run, failing, "--on-fail-webhook", url) == 1
    recorded = json.loads((run / "webhook.json").read_text())
    assert recorded["status"] is None and recorded["error"] and not recorded["ok"]
    assert recorded["request_body"]["action"] == "rollback"
    assert "current: error_rate <= 0" in recorded["request_body"]["failed"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slo", "{missing}"], "SLO file not found"),
        ([], "gate needs --slo"),
        (
            ["--slo", "{slo}", "--webhook-body", "{{}}"],
            "--webhook-body goes with --on-fail-webhook",
        ),
        (["--slo", "{slo}", "--on-fail-webhook", "ftp://x"], "give an http(s) URL"),
        (  # urllib would refuse it after the run; the secret path is not echoed
            ["--slo", "{slo}", "--on-fail-webhook", "http://127.0.0.1:9/a SECRET"],
            "http://127.0.0.1:9/...#",
        ),
        (
            ["--slo", "{slo}", "--on-fail-webhook", "http://127.0.0.1:9/", "--webhook-body", "{{x"],
            "not valid JSON",
        ),
        (["--slo", "{slo}", "--significance", "2"], "give a level in"),
    ],
)
def test_bad_gate_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    run = _run_dir(tmp_path)
    slo = tmp_path / "slo.toml"
    slo.write_text('[all]\nbounds = ["error_rate <= 1"]\n', encoding="utf-8")
    filled = [a.format(missing=tmp_path / "nope.toml", slo=slo) for a in args]
    assert main(["gate", str(run), *filled]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


# --------------------------------------------------------------- bootstrapped relative bounds


def _synthetic_run(
    root: Path, scale: float, *, seconds: int = 40, seed: int = 1, cand_rate: int = 20
) -> Path:
    """A real run folder (collector, writer, summary) of two models: ``cand`` is ``base``
    with latencies times ``scale`` and ``cand_rate`` requests a second instead of 20."""
    run_dir = root / f"run-{scale}-{seed}-{cand_rate}"
    rng = np.random.default_rng(seed)
    collector = Collector(0)
    writer = RunWriter(run_dir, 1_790_000_000.0)
    for k in range(seconds):
        for model, factor, rate in (("base", 1.0, 20), ("cand", scale, cand_rate)):
            for ttft in rng.lognormal(np.log(200.0), 0.5, rate):
                r = RequestResult(model, "c", 1, 0.0, status=200, output_tokens=10)
                r.ttft_ms, r.e2e_ms = float(ttft) * factor, float(ttft) * factor + 300.0
                collector.record(r)
        writer.add_intervals(
            float(k), k + 1.0, collector.roll((k + 1) * 1_000_000_000), {"base": 4, "cand": 4}
        )
    writer.close()
    write_json(
        run_dir / RUN,
        {"run_id": run_dir.name, "models": ["base", "cand"], "histograms": writer.histogram_files},
    )
    write_summary(
        run_dir / SUMMARY,
        build_summary(
            run_id=run_dir.name,
            started_at="",
            duration_s=float(seconds),
            target=TargetInfo(),
            load=None,
            models=collector.totals,
            partial=False,
        ),
    )
    return run_dir


def _judged(run_dir: Path, bound: str, alpha: float = 0.05) -> Any:
    slo = parse_slo({"significance": alpha, "model": {"cand": {"bounds": [bound]}}}, "s")
    (verdict,) = evaluate(run_dir, slo).verdicts
    return verdict


def test_noise_that_crosses_a_relative_bound_is_not_a_failure(tmp_path: Path) -> None:
    """Same distribution: the candidate's p99 comes out above the baseline's for some seeds;
    the point values then violate the bound, the bootstrap calls it noise."""
    for seed in range(1, 40):
        run_dir = _synthetic_run(tmp_path, 1.0, seed=seed)
        verdict = _judged(run_dir, "ttft_ms.p99 <= base.ttft_ms.p99")
        if verdict.actual > verdict.limit:
            break
    else:
        pytest.fail("no seed put the candidate's p99 above the baseline's")
    assert verdict.passed and verdict.significant is False and "noise" in verdict.detail
    assert not _judged(run_dir, "ttft_ms.p99 <= base.ttft_ms.p99", alpha=0).passed


def test_a_real_regression_fails_significantly(tmp_path: Path) -> None:
    run_dir = _synthetic_run(tmp_path, 1.3)
    verdict = _judged(run_dir, "ttft_ms.p99 <= 1.1 * base.ttft_ms.p99")
    assert not verdict.passed and verdict.significant is True
    # Higher-is-better bounds test the other tail: 5 requests a second against 20.
    slow = _synthetic_run(tmp_path, 1.0, cand_rate=5)
    verdict = _judged(slow, "requests_per_s >= 0.5 * base.requests_per_s")
    assert not verdict.passed and verdict.significant is True
    assert _judged(slow, "requests_per_s >= 0.2 * base.requests_per_s").passed


def test_a_strict_bound_on_identical_figures_fails(tmp_path: Path) -> None:
    """cand < base, with cand == base in every draw (paired resamples of the same data):
    violated in all of them, so significantly."""
    run_dir = _synthetic_run(tmp_path, 1.0)
    verdict = _judged(run_dir, "e2e_ms.max < 1.0 * cand.e2e_ms.max")
    assert not verdict.passed
    verdict = _judged(run_dir, "ttft_ms.p99 < cand.ttft_ms.p99")
    assert not verdict.passed and verdict.significant is True
    assert _judged(run_dir, "ttft_ms.p99 <= cand.ttft_ms.p99").passed


def test_a_model_without_requests_has_no_data_and_fails(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    summary["models"]["idle"] = _model(None, 0.0, requests=0)
    (run / "summary.json").write_text(json.dumps(summary))
    result = evaluate(run, _slo(model={"idle": {"bounds": ["error_rate <= 0.01"]}}))
    (verdict,) = result.verdicts
    assert not verdict.passed and "no data" in verdict.detail  # its error rate of 0 says nothing
    (run / "summary.json").write_text(json.dumps({**summary, "models": {}}))
    empty = evaluate(run, _slo(all={"bounds": ["error_rate <= 0.01"]}))
    assert not empty.passed and "measured no model" in empty.verdicts[0].detail


def test_a_partial_run_alone_sends_no_rollback(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, partial=True)
    slo = tmp_path / "pass.toml"
    slo.write_text('[model.current]\nbounds = ["ttft_ms.p99 <= 500"]\n', encoding="utf-8")
    with Receiver() as hook:
        assert _gate(run, slo, "--on-fail-webhook", hook.url) == 1  # partial: no pass
        assert hook.calls == []  # but no bound failed: nothing to roll back


def test_bounds_are_checked_before_a_run_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ["current", "candidate"]
    ok = GateOptions(
        parse_slo(
            {
                "all": {
                    "bounds": ["ttft_ms.p99 <= 800", "retries.first_attempt_error_rate <= 0.1"]
                },
                "model": {
                    "candidate": {
                        "bounds": [
                            "e2e_ms.p99 <= 1.2 * current.e2e_ms.p99",
                            "cost.per_transaction.mean <= 0.01",
                            "correctness.drift.anything <= 1",
                        ]
                    }
                },
            },
            "s",
        )
    )
    check_before_run(ok, names, ["candidate"], None)
    for tables, message in (
        ({"all": {"bounds": ["ttft_ms.p98 <= 1"]}}, "no metric 'ttft_ms.p98'"),
        ({"model": {"typo": {"bounds": ["error_rate <= 1"]}}}, "no such model"),
        (
            {"model": {"current": {"bounds": ["cost.per_transaction.mean <= 1"]}}},
            r"\[prices.current\]",
        ),
        ({"canary": {"bounds": ["error_rate <= baseline.error_rte"]}}, "no metric 'error_rte'"),
    ):
        with pytest.raises(SloError, match=message):
            check_before_run(
                GateOptions(parse_slo(tables, "s")), names, ["candidate"], ("candidate", "current")
            )
    slo = tmp_path / "slo.toml"
    slo.write_text('[all]\nbounds = ["ttft_ms.p98 <= 1"]\n', encoding="utf-8")
    assert main(["run", "--model", "a", "--slo", str(slo)]) == 2  # before any load
    assert "no metric 'ttft_ms.p98'" in capsys.readouterr().err


def test_a_nightly_gate_holds_tonight_against_last_nights_run(tmp_path: Path) -> None:
    """--against: "before." names the baseline run's figures, model by model."""
    last_night = _synthetic_run(tmp_path / "a", 1.0, seed=2)
    tonight = _synthetic_run(tmp_path / "b", 1.6, seed=3)  # cand regressed, base did not
    slo = parse_slo({"all": {"bounds": ["ttft_ms.p99 <= 1.1 * before.ttft_ms.p99"]}}, "s")
    result = evaluate(tonight, slo, against=last_night)
    verdicts = {v.model: v for v in result.verdicts}
    assert verdicts["base"].passed
    assert not verdicts["cand"].passed and verdicts["cand"].significant is True
    assert result.against == str(last_night)
    named = parse_slo(
        {"model": {"cand": {"bounds": ["ttft_ms.p99 <= before.base.ttft_ms.p99"]}}}, "s"
    )
    (verdict,) = evaluate(tonight, named, against=last_night).verdicts
    assert not verdict.passed
    with pytest.raises(SloError, match="--against"):
        evaluate(tonight, slo)
    with pytest.raises(SloError, match=r"no metric 'ghost\.ttft_ms\.p99' for base"):
        evaluate(
            tonight,
            parse_slo({"all": {"bounds": ["ttft_ms.p99 <= before.ghost.ttft_ms.p99"]}}, "s"),
            against=last_night,
        )
    slo_file = tmp_path / "nightly.toml"
    slo_file.write_text('[all]\nbounds = ["ttft_ms.p99 <= 1.1 * before.ttft_ms.p99"]\n')
    assert _gate(tonight, slo_file, "--against", str(last_night)) == 1
    assert _gate(last_night, slo_file, "--against", str(last_night)) == 0
    assert _gate(tonight, slo_file, "--against", str(tmp_path / "nope")) == 2
