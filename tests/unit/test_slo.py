"""The SLO file's bounds: what is read, what is refused (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadprofile.config.slo import ALL, CANARY, SloError, default_canary_slo, load_slo, parse_bound


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ttft_ms.p99 <= 800", ("ttft_ms.p99", "<=", 800.0, 1.0, None)),
        ("goodput_per_s>=12.5", ("goodput_per_s", ">=", 12.5, 1.0, None)),
        ("error_rate < 1e-3", ("error_rate", "<", 0.001, 1.0, None)),
        (
            "candidate.ttft_ms.p99 <= 1.2 * current.ttft_ms.p99",
            ("candidate.ttft_ms.p99", "<=", 0.0, 1.2, "current.ttft_ms.p99"),
        ),
        (
            "e2e_ms.p99 <= baseline.e2e_ms.p99 * 1.1 + 50",
            ("e2e_ms.p99", "<=", 50.0, 1.1, "baseline.e2e_ms.p99"),
        ),
        (
            "error_rate <= baseline.error_rate - 0.5",
            ("error_rate", "<=", -0.5, 1.0, "baseline.error_rate"),
        ),
        (
            "ttft_ms.p99 <= 2 * org/model:7b-q4.ttft_ms.p99",
            ("ttft_ms.p99", "<=", 0.0, 2.0, "org/model:7b-q4.ttft_ms.p99"),
        ),
    ],
)
def test_bounds_are_read(text: str, expected: tuple[object, ...]) -> None:
    b = parse_bound(text, ALL, "test")
    assert (b.left, b.op, b.offset, b.factor, b.right) == expected
    assert b.relative == (expected[4] is not None)


@pytest.mark.parametrize(
    "text",
    [
        "ttft_ms.p99",
        "ttft_ms.p99 => 800",
        "ttft_ms.p99 <= 800 ms",
        "<= 800",
        "ttft_ms.p99 <= 2 * a.ttft_ms.p99 * 3",
        "ttft_ms.p99 <= 1.2 * ",
    ],
)
def test_unreadable_bounds_are_refused(text: str) -> None:
    with pytest.raises(SloError, match="cannot read"):
        parse_bound(text, ALL, "slo.toml: [all]")


def test_operators_hold_as_written() -> None:
    le = parse_bound("x <= 1", ALL, "t")
    ge = parse_bound("x >= 1", ALL, "t")
    assert le.holds(1.0, 1.0) and not le.holds(1.01, 1.0) and le.lower_is_better
    assert ge.holds(1.0, 1.0) and not ge.holds(0.99, 1.0) and not ge.lower_is_better
    assert parse_bound("x == 0", ALL, "t").holds(0.0, 0.0)


def test_slo_file_scopes(tmp_path: Path) -> None:
    path = tmp_path / "slo.toml"
    path.write_text(
        "significance = 0.1\nallow_partial = true\n"
        '[all]\nbounds = ["ttft_ms.p99 <= 800"]\n'
        '[model."org/m"]\nbounds = ["error_rate <= 0.01", "e2e_ms.p50 <= 900"]\n'
        '[canary]\nbounds = ["ttft_ms.p99 <= 1.2 * baseline.ttft_ms.p99"]\n',
        encoding="utf-8",
    )
    slo = load_slo(path)
    assert (slo.significance, slo.allow_partial) == (0.1, True)
    assert [b.scope for b in slo.bounds] == [ALL, CANARY, "org/m", "org/m"]
    assert all(b.scope == CANARY and b.relative for b in default_canary_slo().bounds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no bounds"),
        ('[all]\nbounds = "ttft_ms.p99 <= 1"\n', "must be a list"),
        ('[all]\nlimit = ["x <= 1"]\n', "takes one key"),
        ('[everything]\nbounds = ["x <= 1"]\n', "unknown key"),
        ('significance = 1.5\n[all]\nbounds = ["x <= 1"]\n', "significance"),
        ("[all\n", "invalid TOML"),
    ],
)
def test_bad_slo_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "slo.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SloError, match=message):
        load_slo(path)
    with pytest.raises(SloError, match="not found"):
        load_slo(tmp_path / "missing.toml")
