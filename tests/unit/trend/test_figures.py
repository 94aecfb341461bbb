"""A run folder as the trend store records it: every summary figure under the gate's names,
the run's identity, its series key (like with like only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from loadprofile.commands.trend.figures import read_run
from loadprofile.commands.trend.series import LOAD_KEYS, LOAD_LEFT_OUT
from loadprofile.contract.summary import LoadSettings
from loadprofile.errors import UsageError
from loadprofile.rundir.view import figure, model_view, read_summary
from tests.unit.trend.folders import FIXTURE, Json, run_folder


def test_every_figure_is_flattened_under_the_names_the_gate_uses() -> None:
    record = read_run(FIXTURE)
    small = record.figures["mock-small"]
    assert small["ttft_ms.p99"] == 49.119 and small["ttft_ms.p99_9"] == 49.119
    assert small["e2e_ms.mean"] == 2274.219 and small["itl_ms.max"] == 265.215
    assert small["error_rate"] == 0.0 and small["goodput_per_s"] > 0
    assert small["cost.per_transaction.mean"] == 0.000651333
    assert small["correctness.contract_violation_rate"] == 0.0
    assert small["retries.first_attempt_error_rate"] == 0.0
    assert small["recovery_s"] == 0.002  # the spike's recovery, kept per model
    assert {"phases.before.ttft_ms.p99", "phases.burst.ttft_ms.p99"} <= set(small)
    # inputs, flags, text and unset values are no figures
    assert not any(name.startswith("cost.prices") for name in small)
    assert "correctness.json_valid_rate" not in small  # null: no --content-schema
    assert "recovery_s" not in record.figures["mock-large"]  # null for it
    # the whole-run names read back through the gate's own walk over summary.json
    summary = read_summary(FIXTURE)[0]
    view = model_view(summary, "mock-small")
    for name, value in small.items():
        if not name.startswith("phases.") and name != "recovery_s":
            assert figure(view, name, "mock-small") == value, name


def test_the_run_is_identified_by_its_own_files(tmp_path: Path) -> None:
    folder = run_folder(tmp_path, "night-1", started_at="2026-12-08T03:04:05.678+01:00")
    run = read_run(folder, labels={"git": "abc"}).run
    assert (run.run_id, run.time, run.version) == ("night-1", "2026-12-08T02:04:05Z", "0.1.0")
    assert run.models == ("mock-small", "mock-large") and not run.partial
    assert run.labels == {"git": "abc"}


def test_a_steady_runs_one_phase_is_not_stored_twice(tmp_path: Path) -> None:
    def one_phase(summary: Json) -> None:
        summary["phases"] = summary["phases"][:1]

    figures = read_run(run_folder(tmp_path, "steady", summary_edit=one_phase)).figures
    assert not any(name.startswith("phases.") for name in figures["mock-small"])


def test_a_run_killed_before_its_summary_is_read_back_marked_partial(tmp_path: Path) -> None:
    folder = run_folder(tmp_path, "killed")
    (folder / "summary.json").unlink()
    assert read_run(folder).run.partial
    assert read_run(run_folder(tmp_path, "cut", partial=True)).run.partial


def test_a_folder_that_is_no_run_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a run folder"):
        read_run(tmp_path)
    with pytest.raises(UsageError, match="no such run folder"):
        read_run(tmp_path / "missing")


# -- the series key ----------------------------------------------------------------------


def _key(tmp_path: Path, name: str, edit: Callable[[Json], None] | None = None) -> str:
    return read_run(run_folder(tmp_path, name, run_edit=edit)).run.series


def test_like_runs_share_a_series_whatever_their_seed_port_or_slo(tmp_path: Path) -> None:
    def like(run: Json) -> None:
        run["load"]["seed"] = 7  # another sample of the same load
        run["load"]["slo_ttft_ms"] = 500.0  # judges figures, sends nothing else
        run["load"]["interval_s"] = 5.0
        for target in run["targets"]:
            target["host"] = "http://127.0.0.1:40001"  # the embedded mock's port of the night
            target["api_key_env"] = "OTHER_KEY"
        run["dataset"]["path"] = "/elsewhere/sample_conversations.jsonl"

    assert _key(tmp_path, "a") == _key(tmp_path, "b", like)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r["dataset"]["stats"].update(sha256="0" * 64), id="dataset"),
        pytest.param(lambda r: r["load"].update(spike_users=12), id="shape"),
        pytest.param(lambda r: r["load"].update(run_time_s=60.0), id="run-time"),
        pytest.param(lambda r: r["load"].update(max_tokens=64), id="max-tokens"),
        pytest.param(lambda r: r["targets"][0].update(model="other"), id="target-model"),
        pytest.param(lambda r: r["targets"][0].update(api="anthropic"), id="api"),
        pytest.param(lambda r: r["targets"][0].update(weight=9.0), id="traffic-split"),
    ],
)
def test_another_dataset_shape_or_target_is_another_series(
    tmp_path: Path, change: Callable[[Json], None]
) -> None:
    assert _key(tmp_path, "a") != _key(tmp_path, "b", change)


def test_real_hosts_tell_series_apart_the_embedded_mocks_port_does_not(tmp_path: Path) -> None:
    def at(host: str) -> Callable[[Json], None]:
        def edit(run: Json) -> None:
            run["target"] = {"kind": "host", "hosts": [host]}
            for target in run["targets"]:
                target["host"] = host

        return edit

    a = _key(tmp_path, "a", at("https://llm-a.internal/v1"))
    assert a == _key(tmp_path, "a2", at("https://llm-a.internal/v1"))
    assert a != _key(tmp_path, "b", at("https://llm-b.internal/v1"))


def test_a_dataset_without_a_content_hash_is_known_by_name_and_shape(tmp_path: Path) -> None:
    def unhashed(path: str, conversations: int = 256) -> Callable[[Json], None]:
        def edit(run: Json) -> None:
            run["dataset"]["stats"].pop("sha256")
            run["dataset"]["path"], run["dataset"]["conversations"] = path, conversations

        return edit

    a = _key(tmp_path, "a", unhashed("/ci/1/prod.jsonl"))
    assert a == _key(tmp_path, "b", unhashed("/ci/2/prod.jsonl"))
    assert a != _key(tmp_path, "c", unhashed("/ci/2/prod.jsonl", conversations=12))


def test_every_load_setting_is_either_in_the_key_or_left_out_on_purpose() -> None:
    names = {f.name for f in msgspec.structs.fields(LoadSettings)}
    assert set(LOAD_KEYS) | LOAD_LEFT_OUT == names, "a new load setting: decide its part"
    assert not set(LOAD_KEYS) & LOAD_LEFT_OUT


def test_series_names_the_series_and_the_description_says_so(tmp_path: Path) -> None:
    record = read_run(run_folder(tmp_path, "a"), series="nightly-prod")
    assert record.run.series == "nightly-prod"
    assert record.series_description.startswith("set by --series")
    described = read_run(run_folder(tmp_path, "b")).series_description
    assert described == (
        "sample_conversations.jsonl (sha256 8bb042d9); spike 2->6 users at 2 s for 2 s, 6 s; "
        "mock-small, mock-large (chat) on the embedded mock"
    )


def test_a_key_is_short_hex_and_stable(tmp_path: Path) -> None:
    key = _key(tmp_path, "a")
    assert len(key) == 12 and int(key, 16) >= 0
    # pinned: a change here splits every stored series (say so in the release notes)
    assert key == "1ccda6f31055"
