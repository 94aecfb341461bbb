"""``loadprofile run``: mock lifecycle, preflight, Locust in-process, the run folder.

Importing this module imports Locust, which monkey-patches the process for gevent: only
the CLI's ``run`` command imports it, and never a process that runs asyncio.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from locust import events
from locust.env import Environment

from loadprofile.client.http.reach import use_reach
from loadprofile.client.preflight import list_models
from loadprofile.config.fleet_options import FleetOptions
from loadprofile.config.run_config import RunConfig, Target
from loadprofile.config.targets import fill_target
from loadprofile.console import Console
from loadprofile.contract.summary import Summary
from loadprofile.core.generator_health import health_warnings
from loadprofile.core.stability import stable_line
from loadprofile.engine.active import set_active
from loadprofile.engine.cache_warmup import warm_cache_wanted, warm_caches
from loadprofile.engine.fleet.master import MasterSession
from loadprofile.engine.fleet.runner import drive_master
from loadprofile.engine.run_builder import build_run, load_dataset
from loadprofile.engine.run_control import StopSignals, end_load, quiet_locust, start_load
from loadprofile.engine.session import RunSession
from loadprofile.engine.session_api import Session, TickCallback
from loadprofile.engine.shapes import PlanShape
from loadprofile.engine.users import RunChatUser
from loadprofile.errors import UsageError
from loadprofile.launch.mock import DEFAULT_MOCK_MODELS, MockProcess, start_mock


@dataclass
class RunOutcome:
    run_dir: Path
    summary: Summary
    partial: bool
    interrupted_by: str | None = None
    unfinished_at_stop: int = 0  # requests still running when the drain gave up


def run(
    config: RunConfig,
    console: Console,
    command: list[str],
    fleet: FleetOptions | None = None,
    *,
    pin: bool = True,
) -> RunOutcome:
    """Run the load test described by ``config`` in this process, or as the master of
    workers (``fleet``); raises LoadprofileError on bad input. ``pin`` (not --no-pin): an
    embedded mock and a local generator run on different CPUs where there are two."""
    quiet_locust()
    use_reach(config.reach)  # before any request: asking --host for its models is one
    dataset = load_dataset(config, console)  # before a mock starts: a bad file fails fast
    mock: MockProcess | None = None
    try:
        config, kind, mock = _resolve_targets(config, console, pin_apart=pin and fleet is None)
        if mock is not None:  # the embedded mock exports vLLM's metrics: always shown
            config = replace(config, server_metrics=(*config.server_metrics, mock.url + "/metrics"))
        built = build_run(config, console, command=command, target_kind=kind, dataset=dataset)
        conversations, meta, recorder = built.conversations, built.meta, built.recorder
        if mock is not None and mock.pinning is not None:
            meta["pinning"] = mock.pinning.to_json()
        run_id, run_dir = built.run_id, built.run_dir
        if warm_cache_wanted(config):  # before the run's clock starts: not part of it
            meta["cache_warmup"] = warm_caches(config, conversations, console.info)
        session: RunSession | MasterSession
        if fleet is None:
            session = RunSession(
                config, conversations, meta, recorder=recorder, on_tick=_progress(console)
            )
        else:
            if kind != "host" and fleet.bind_host not in ("127.0.0.1", "localhost", "::1"):
                console.warn(
                    "the embedded mock listens on 127.0.0.1: workers on other machines "
                    "cannot reach it (give --host)"
                )
            session = MasterSession(
                config, conversations, meta, recorder, on_tick=_progress(console), warn=console.warn
            )
        set_active(session)
        where = f" on {fleet.expect_workers} worker(s)" if fleet else ""
        console.info(
            f"loadprofile run {run_id}: {len(config.targets)} model(s) "
            f"[{', '.join(t.name for t in config.targets)}], {config.load.users} users"
            f"{where}, {config.load.run_time_s:.0f}s -> {run_dir}"
        )
        if isinstance(session, MasterSession):
            assert fleet is not None
            summary = drive_master(session, fleet, console)
        else:
            summary = _drive_locust(session, console)
        return RunOutcome(
            run_dir,
            summary,
            summary.partial,
            session.interrupted_by,
            int(session.meta.get("unfinished_at_stop") or 0),
        )
    finally:
        set_active(None)
        if mock is not None:
            mock.stop()  # and this process gets back the CPUs it had


def _resolve_targets(
    config: RunConfig, console: Console, *, pin_apart: bool = False
) -> tuple[RunConfig, str, MockProcess | None]:
    """Fill in hosts: the embedded mock for targets without one, models from /v1/models.
    ``pin_apart``: the mock on one CPU, this process on the others (Linux, 2+ CPUs)."""
    targets = list(config.targets)
    if not targets and config.host:
        targets = default_models_for_host(config)
    elif not targets:
        targets = [run_wide_target(config, m, with_key=False) for m in DEFAULT_MOCK_MODELS]
    if all(t.host for t in targets):
        return replace(config, targets=tuple(targets)), "host", None
    mock = start_mock(seed=config.load.seed, pin_apart=pin_apart)
    console.info(
        f"started the embedded mock server at {mock.url} (models: {', '.join(mock.models)})"
    )
    if mock.pinning is not None:
        console.info(
            f"pinned the embedded mock to {_cpu_list(mock.pinning.mock)} and the load "
            f"generator to {_cpu_list(mock.pinning.generator)} (--no-pin to share)"
        )
    unknown = [t.model for t in targets if not t.host and t.model not in mock.models]
    if unknown:
        mock.stop()
        raise UsageError(
            f"the embedded mock has no model {', '.join(unknown)}; it serves "
            f"{', '.join(mock.models)} (or give --host)"
        )
    filled = tuple(t if t.host else replace(t, host=mock.url) for t in targets)
    kind = "mock" if all(not t.host for t in targets) else "mixed"
    return replace(config, targets=filled), kind, mock


def _cpu_list(cpus: tuple[int, ...]) -> str:
    """(0,) as "CPU 0", (0, 1, 2, 5) as "CPUs 0-2,5"."""
    runs: list[list[int]] = []
    for cpu in sorted(cpus):
        if runs and cpu == runs[-1][-1] + 1:
            runs[-1].append(cpu)
        else:
            runs.append([cpu])
    named = ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
    return f"CPU {named}" if len(cpus) == 1 else f"CPUs {named}"


def run_wide_target(config: RunConfig, model: str, *, with_key: bool = True) -> Target:
    """A target of ``model`` at --host (if any) with the run-wide API, version and headers,
    and the run's key variable ``with_key``."""
    return fill_target(
        Target(name=model, model=model, api=config.api),
        host=config.host,
        api_key_env=config.api_key_env if with_key else None,
        api_version=config.api_version,
        headers=config.extra_headers,
    )


def default_models_for_host(config: RunConfig) -> list[Target]:
    """`--host` without `--model`: the host's only model, else a clear error."""
    probe = run_wide_target(config, "?")
    models = list_models(probe)
    if len(models) != 1:
        listed = ", ".join(models[:10]) or "none"
        raise UsageError(
            f"{config.host} serves {len(models)} models ({listed}); name one with --model"
        )
    return [replace(probe, name=models[0], model=models[0])]


#: At most one warning about the generator's own health per this many seconds.
HEALTH_WARN_EVERY_S = 10.0


def _progress(console: Console) -> TickCallback:
    """The progress line and the generator's health warnings, once per interval."""
    last_warned = [-HEALTH_WARN_EVERY_S]

    def on_tick(session: Session, elapsed_s: float) -> None:
        if session.stopping:
            return  # draining: the run time is over, the summary follows
        sample = session.last_generator_sample
        if sample is not None and elapsed_s - last_warned[0] >= HEALTH_WARN_EVERY_S:
            for text in health_warnings(sample):
                console.warn(text)
                last_warned[0] = elapsed_s
        recent = session.recent
        if recent is None or not console.progress_due(elapsed_s):
            return
        p99 = {t.name: recent.percentile_ms(t.name, 99.0) for t in session.config.targets}
        console.progress(
            elapsed_s,
            session.config.load.run_time_s,
            sum(session.users.values()),
            recent.requests_per_s(),
            p99,
        )

    return on_tick


def _drive_locust(session: RunSession, console: Console) -> Summary:
    load, plan = session.config.load, session.plan
    shape = PlanShape(plan, hold_at_end=True) if plan.shape != "steady" else None
    # A stop_timeout lets users that a ramp-down stops finish the request they are in.
    env = Environment(
        user_classes=[RunChatUser],
        events=events,
        shape_class=shape,
        stop_timeout=load.stop_timeout_s,
    )
    runner = env.create_local_runner()
    with StopSignals(session, console) as signals:
        start_load(runner, session)
        # -n: the budget spent, the run ends (the requests in flight still drain).
        # --until-stable: every model's gated percentiles settled, the same.
        signals.wait_until(plan.run_time_s, give_up=lambda: session.budget_spent or session.stable)
        if session.stable and session.stability is not None:
            console.info(stable_line(session.stability))
        end_load(runner, session, console)
        summary = session.finish()
    if runner.exceptions:
        count = sum(e["count"] for e in runner.exceptions.values())
        console.warn(f"{count} unexpected error(s) inside users (see the log above)")
    return summary
