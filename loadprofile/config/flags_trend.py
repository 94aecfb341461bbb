"""The flags that record a run in the trend store when it ends (the registry: flags.py; the
store: commands/trend/, docs/trends.md)."""

from __future__ import annotations

from loadprofile.config.flag_spec import RUN_AND_GATE, Flag, InLocust, flag

TREND = "trend store (results across runs)"

TREND_FLAGS: tuple[Flag, ...] = (
    flag(
        "--trend-db",
        help="when the run ends, add it to this trend store: a SQLite file or "
        "postgresql://USER@HOST/DB (password from $PGPASSWORD or ~/.pgpass, never the URL)",
        group=TREND,
        doc="when the run ends (a cut-short one too, marked partial), add it to this trend "
        "store as `loadprofile trend add` does: a SQLite file path or "
        "`postgresql://USER@HOST/DB` (the password from `$PGPASSWORD` or `~/.pgpass`, never "
        "the URL); a store that cannot be used is a warning, not a lost run "
        "(see [Trends](trends.md)). With `--against trend:LAST_GOOD`, the store the "
        "baseline is found in (default `reports/trend.sqlite`)",
        metavar="URL",
        locust=InLocust.NO,
        commands=RUN_AND_GATE,  # gate: where --against trend:LAST_GOOD looks
    ),
    flag(
        "--trend-label",
        help="a label of the run in the trend store (repeatable): build, git sha, deployment",
        group=TREND,
        doc="a label of the run in the trend store, e.g. `--trend-label git=3f2a9c1` "
        "(repeatable; with `--trend-db`)",
        action="append",
        metavar="KEY=VALUE",
        locust=InLocust.NO,
    ),
)
