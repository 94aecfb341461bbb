"""summary.json and run.json as typed models (loadprofile.contract): a real run's files decode
and encode back to the same JSON, a file of the wrong shape is one line and exit 2 from every
command that reads it, and an older folder without the newest fields still reads."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest

from loadprofile.cli import main
from loadprofile.config.pricing import Price
from loadprofile.config.reach import CA_BUNDLE_VARIABLES
from loadprofile.config.run_config import CliValues, LoadConfig, resolve
from loadprofile.config.targets import Target
from loadprofile.contract.run_meta import TargetSpec, decode_run_meta
from loadprofile.contract.summary import (
    LATENCY_FIELDS,
    Latency,
    LoadSettings,
    ModelFigures,
    PriceSpec,
    Summary,
    decode_summary,
    given,
)
from loadprofile.core.metrics import HISTOGRAM_METRICS, SUMMARY_KEYS
from loadprofile.dataset.stats import dataset_stats
from loadprofile.rundir.meta import build_meta
from loadprofile.rundir.view import SideError, read_summary
from loadprofile.rundir.writer import RUN, SUMMARY, write_summary

#: A real run's files (spike, --retries 1, prices, --slo-ttft-ms): loadprofile run -t 6s ...
FIXTURE = Path(__file__).parents[1] / "fixtures" / "contract"


def _folder(tmp_path: Path, name: str = "run", **changes: Any) -> Path:
    """A copy of the real run folder's JSON files; ``changes`` edit summary.json."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(FIXTURE / RUN, folder / RUN)
    summary = json.loads((FIXTURE / SUMMARY).read_text(encoding="utf-8"))
    for edit in changes.values():
        edit(summary)
    (folder / SUMMARY).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return folder


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_real_summary_decodes_and_writes_back_the_same_bytes(tmp_path: Path) -> None:
    raw = (FIXTURE / SUMMARY).read_bytes()
    summary = decode_summary(raw)
    assert summary.schema == 2 and set(summary.models) == {"mock-small", "mock-large"}
    small = summary.models["mock-small"]
    assert given(small.ttft_first_attempt_ms) is not None  # a run with --retries
    assert summary.cost and summary.phases and given(summary.recovery_s) is not None
    write_summary(tmp_path / SUMMARY, summary)
    assert (tmp_path / SUMMARY).read_bytes() == raw


def test_a_real_run_json_decodes_with_no_key_left_behind() -> None:
    raw = (FIXTURE / RUN).read_bytes()
    run = decode_run_meta(raw)
    assert run.models == ["mock-small", "mock-large"] and run.load is not None
    assert run.load.retries == 1 and run.load.shape == "spike"
    # Every key of the file is a field of the model (a key it did not know would be lost).
    assert json.loads(msgspec.json.encode(run)) == json.loads(raw)


def test_build_meta_writes_the_skeleton_it_always_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_BUNDLE_VARIABLES:  # a CA bundle from the environment adds "reach"
        monkeypatch.delenv(name, raising=False)
    config = resolve(CliValues(models=("a", "b")))
    meta = build_meta(
        config,
        run_id="r-1",
        command=["loadprofile", "run"],
        target_kind="mock",
        dataset={"path": "d.jsonl", "conversations": 0, "stats": dataset_stats([])},
        warnings=["w"],
    )
    assert list(meta) == [
        "run_id",
        "started_at",
        "ended_at",
        "duration_s",
        "partial",
        "interrupted_by",
        "command",
        "versions",
        "host",
        "target",
        "targets",
        "prices",
        "canary",
        "server_metrics",
        "models",
        "load",
        "dataset",
        "warnings",
    ]
    as_json = json.loads(json.dumps(config.to_json()))
    assert json.loads(json.dumps(meta["load"])) == as_json["load"]
    assert json.loads(json.dumps(meta["targets"])) == as_json["targets"]
    assert meta["canary"] is None and meta["prices"] == {} and meta["warnings"] == ["w"]
    insecure = build_meta(
        resolve(CliValues(models=("a",), insecure=True)),
        run_id="r-2",
        command=["loadprofile", "run", "--insecure"],
        target_kind="mock",
        dataset={"path": "d.jsonl", "conversations": 0, "stats": dataset_stats([])},
        warnings=[],
    )
    assert insecure["reach"] == {"insecure": True}  # after the skeleton's keys


def test_the_models_follow_the_metric_and_config_names() -> None:
    assert Latency.__struct_fields__ == SUMMARY_KEYS
    assert LATENCY_FIELDS == HISTOGRAM_METRICS
    hints = msgspec.structs.fields(ModelFigures)
    latency = [f.name for f in hints if "Latency" in str(f.type)]
    assert tuple(latency) == HISTOGRAM_METRICS
    names = tuple(f.name for f in dataclasses.fields(LoadConfig))
    assert LoadSettings.__struct_fields__ == names  # same fields, same order as run.json's
    assert set(PriceSpec.__struct_fields__) == {f.name for f in dataclasses.fields(Price)}
    assert TargetSpec.__struct_fields__ == tuple(f.name for f in dataclasses.fields(Target))


def _requests_of_ten(summary: dict[str, Any]) -> None:
    summary["models"]["mock-small"]["requests"] = "ten"


@pytest.mark.parametrize("command", ["gate", "compare", "report"])
def test_a_summary_of_the_wrong_type_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    bad = _folder(tmp_path, edit=_requests_of_ten)
    slo = tmp_path / "slo.toml"
    slo.write_text('[all]\nbounds = ["error_rate <= 0.5"]\n', encoding="utf-8")
    argv = {
        "gate": ["gate", str(bad), "--slo", str(slo)],
        "compare": ["compare", str(_folder(tmp_path, "good")), str(bad), "--out", str(tmp_path)],
        "report": ["report", str(bad)],
    }[command]
    assert main(argv) == 2
    line = _one_line(capsys)
    assert f"{bad / SUMMARY}: not a loadprofile file" in line
    assert "Expected `int`, got `str` - at `$.models[...].requests`" in line


def test_a_run_json_of_the_wrong_type_is_one_line_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path)
    run = json.loads((folder / RUN).read_text(encoding="utf-8"))
    run["models"] = "mock-small"
    (folder / RUN).write_text(json.dumps(run), encoding="utf-8")
    with pytest.raises(SideError, match=r"run.json: not a loadprofile file \(Expected `array`"):
        read_summary(folder)
    assert main(["report", str(folder)]) == 2
    assert "run.json: not a loadprofile file" in _one_line(capsys)


def _old_style(summary: dict[str, Any]) -> None:
    """A summary from before schema 2 and the newest keys: no window_s, failed output
    tokens, TTFVT, service times, connections, goodput; no generator or phases."""
    summary["schema"] = 1
    for key in ("generator", "phases", "recovery_s", "cost"):
        summary.pop(key)
    for entry in summary["models"].values():
        for key in (
            "window_s",
            "failed_output_tokens",
            "ttfvt_ms",
            "ttft_service_ms",
            "e2e_service_ms",
            "connections",
            "good_requests",
            "goodput_per_s",
            "successes",
        ):
            entry.pop(key)
    for entry in summary["correctness"].values():
        entry.pop("tokens")


def test_an_old_style_summary_still_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path, edit=_old_style)
    summary, _, rebuilt = read_summary(folder)
    assert not rebuilt and isinstance(summary, Summary)
    small = summary.models["mock-small"]
    assert small.window_s is None and small.ttfvt_ms is None and small.successes is None
    assert given(summary.generator) is None and given(summary.phases) is None
    slo = tmp_path / "slo.toml"
    slo.write_text('[all]\nbounds = ["ttft_ms.p99 <= 100000"]\n', encoding="utf-8")
    assert main(["gate", str(folder), "--slo", str(slo)]) == 0
    assert main(["report", str(folder)]) == 0
    assert "report:" in capsys.readouterr().out
