"""The series a run belongs to: runs are compared only with runs that sent the same
conversations in the same way to the same targets.

The key is the first 12 hex digits of the sha256 of a canonical JSON of those ingredients,
so it is the same on any machine and in any year for runs that ran alike, and a change of
any ingredient starts a new series rather than a false regression in an old one. What is
left out, and why, is in ``LOAD_LEFT_OUT`` (docs/trends.md says it in words).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import PurePath

import msgspec

from loadprofile.contract.run_meta import DatasetInfo, RunMeta, TargetSpec
from loadprofile.contract.summary import LoadSettings, Summary

KEY_LENGTH = 12

#: run.json's ``load`` settings that shape the load (what is sent, how often, how long).
LOAD_KEYS: tuple[str, ...] = (
    "users",
    "spawn_rate",
    "run_time_s",
    "think_time_s",
    "history",
    "timeout_s",
    "max_tokens",
    "shape",
    "base_users",
    "steps",
    "step_time_s",
    "spike_users",
    "spike_at_s",
    "spike_for_s",
    "stages",
    "rate",
    "arrival",
    "gamma_shape",
    "rate_unit",
    "pace_s",
    "retries",
    "retry_backoff_s",
    "retry_backoff_max_s",
    "retry_on",
    "unique_prefix",
    "max_prompt_tokens",
    "max_requests",
    "extra_body",
    "warm_cache",
)
#: ... and those that do not: the seed only draws another sample of the same load (a
#: pipeline may vary it on purpose), the interval is the logs' resolution, the stop timeout
#: only when to give up on the drain, and the SLO thresholds judge the figures (goodput's
#: threshold among them) without changing what is sent: a new SLO must not cut a series.
#: --until-stable's settings say when the run may end and which first seconds its figures
#: leave out, not what is sent; keyed, they would cut every series older runs began.
LOAD_LEFT_OUT: frozenset[str] = frozenset(
    {"seed", "interval_s", "stop_timeout_s", "slo_ttft_ms", "slo_tpot_ms", "slo_ttft_p99_ms"}
    | {"until_stable", "stable_metrics", "stable_ci_pct", "warmup_s", "min_time_s"}
)


@dataclass(frozen=True)
class Series:
    key: str
    description: str


def series_of(run: RunMeta, summary: Summary, name: str | None = None) -> Series:
    """The run's series: the hash of what it ran, or ``name`` (``--series``) when given."""
    described = describe(run, summary)
    if name:
        return Series(name, f"set by --series; its first run: {described}")
    return Series(series_key(run, summary), described)


def series_key(run: RunMeta, summary: Summary) -> str:
    canonical = json.dumps(ingredients(run, summary), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def ingredients(run: RunMeta, summary: Summary) -> dict[str, object]:
    """What makes two runs comparable, as plain JSON values. Unset and empty values are left
    out, so a field an older file lacks and a newer one leaves empty read alike."""
    return {
        "summary_schema": summary.schema,  # schema 2 measures TTFT from the request's start
        "dataset": _dataset(run.dataset),
        "load": _load(run.load or summary.load),
        "targets": _targets(run, summary),
    }


def _dataset(dataset: DatasetInfo | None) -> dict[str, object]:
    """The content's hash when run.json has it (the same file anywhere is the same dataset);
    else the file's name and its statistics (its folder differs between machines)."""
    if dataset is None:
        return {}
    if dataset.stats is not None and dataset.stats.sha256:
        return {"sha256": dataset.stats.sha256}
    return _present(
        {
            "name": PurePath(dataset.path).name if dataset.path else None,
            "conversations": dataset.conversations,
            "stats": msgspec.to_builtins(dataset.stats) if dataset.stats else None,
        }
    )


def _load(load: LoadSettings | None) -> dict[str, object]:
    if load is None:
        return {}
    settings = msgspec.to_builtins(load)
    return _present({key: settings.get(key) for key in LOAD_KEYS})


def _targets(run: RunMeta, summary: Summary) -> list[dict[str, object]]:
    """Name, model, host, API flavour and share of each target; never a key's variable or a
    header. The embedded mock's port changes every run: its targets have no host."""
    mock = (run.target or summary.target).kind == "mock"
    if not run.targets:  # a folder without run.json: the models it measured
        return [{"name": name} for name in sorted(summary.models)]
    return [_target(t, mock) for t in sorted(run.targets, key=lambda t: t.name)]


def _target(target: TargetSpec, mock: bool) -> dict[str, object]:
    api_version = target.api_version if isinstance(target.api_version, str) else None
    return _present(
        {
            "name": target.name,
            "model": target.model,
            "host": None if mock else target.host,
            "api": target.api,
            "api_version": api_version,
            "weight": target.weight,
            "extra_body": target.extra_body,
        }
    )


def _present(values: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None and v != "" and v != []}


def describe(run: RunMeta, summary: Summary) -> str:
    """The series in words: dataset; load; targets."""
    return "; ".join(
        part
        for part in (
            _describe_dataset(run.dataset),
            _describe_load(run.load or summary.load),
            _describe_targets(run, summary),
        )
        if part
    )


def _describe_dataset(dataset: DatasetInfo | None) -> str:
    if dataset is None:
        return ""
    name = PurePath(dataset.path).name if dataset.path else "dataset"
    sha = dataset.stats.sha256 if dataset.stats else None
    return f"{name} (sha256 {sha[:8]})" if sha else name


def _describe_load(load: LoadSettings | None) -> str:
    if load is None:
        return ""
    if load.rate is not None:
        how = f"open loop {load.rate:g} {load.rate_unit or 'requests'}/s {load.arrival or ''}"
    elif load.shape == "step":
        steps = ",".join(str(n) for n in load.steps or [])
        how = f"steps {steps} users every {load.step_time_s or 0:g} s"
    elif load.shape == "spike":
        how = (
            f"spike {load.base_users}->{load.spike_users} users at {load.spike_at_s or 0:g} s "
            f"for {load.spike_for_s or 0:g} s"
        )
    elif load.shape == "stages":
        peak = max((stage.users for stage in load.stages or []), default=0)
        how = f"{len(load.stages or [])} stages up to {peak} users"
    else:
        how = f"{load.users} users"
    length = [f"{load.run_time_s:g} s"] if load.run_time_s else []
    if load.max_requests:
        length.append(f"{load.max_requests} requests")
    return ", ".join([how.strip(), *length])


def _describe_targets(run: RunMeta, summary: Summary) -> str:
    names = [t.name for t in run.targets] or sorted(summary.models)
    apis = sorted({t.api for t in run.targets if t.api})
    text = ", ".join(names) + (f" ({', '.join(apis)})" if apis else "")
    target = run.target or summary.target
    if target.kind == "mock":
        return f"{text} on the embedded mock"
    hosts = sorted({t.host for t in run.targets if t.host} or set(target.hosts))
    return f"{text} at {', '.join(hosts)}" if hosts else text
