"""capacity.html from a synthetic capacity.json and minimal probe folders."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from loadprofile.contract.capacity import Capacity, ModelCapacity, Probe
from loadprofile.contract.stability import StableFigure
from loadprofile.contract.summary import (
    CostDistribution,
    GeneratorHealth,
    Latency,
    ModelCost,
    ModelFigures,
    Stability,
    Summary,
)
from loadprofile.report.capacity_page import answer_sentence, write_capacity_page


def _summary(model: str, users: int, ttft_p99: float, *, bound: bool = False) -> Summary:
    figures = ModelFigures(
        requests=100,
        ttft_ms=Latency(p50=ttft_p99 * 0.7, p99=ttft_p99, count=100),
        requests_per_s=users * 10.0,
        goodput_per_s=users * 9.0,
    )
    stable = StableFigure(estimate_ms=ttft_p99, ci_ms=[ttft_p99 * 0.9, ttft_p99 * 1.1], met=True)
    return Summary(
        models={model: figures},
        stability=Stability(stopped_because="stable", models={model: {"ttft_ms.p99": stable}}),
        generator=GeneratorHealth(
            bound_seconds=3.0 if bound else 0.0,
            bound_intervals=[(1.0, 4.0)] if bound else [],
        ),
        cost={model: ModelCost(per_transaction=CostDistribution(mean=0.00123, count=100))},
    )


def _probe(out: Path, model: str, users: int, ttft: float, verdict: str, **kw: bool) -> Probe:
    folder = out / model / f"u{users}"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_bytes(msgspec.json.encode(_summary(model, users, ttft, **kw)))
    return Probe(
        load=users,
        dir=f"{model}/u{users}",
        verdict=verdict,
        p99s={"ttft_ms.p99": ttft},
        ci={"ttft_ms.p99": [ttft * 0.9, ttft * 1.1]},
        seconds=7.5,
        stopped_because="stable" if verdict == "pass" else "over-saturated",
    )


def _capacity(out: Path) -> Capacity:
    small = [
        _probe(out, "mock-small", 16, 300.0, "pass"),
        _probe(out, "mock-small", 32, 1900.0, "over-saturated"),
        _probe(out, "mock-small", 24, 700.0, "pass"),
        _probe(out, "mock-small", 28, 1000.0, "fail", bound=True),
    ]
    large = [
        _probe(out, "mock-large", 9, 600.0, "pass"),
        _probe(out, "mock-large", 11, 1200.0, "fail"),
    ]
    return Capacity(
        slo={"ttft_ms.p99": 800.0},
        mode="concurrency",
        models={
            "mock-small": ModelCapacity(
                max_users=24, interval=[24, 27], limited_by="ttft_ms.p99", probes=small
            ),
            "mock-large": ModelCapacity(
                max_users=9, interval=[9, 10], limited_by="ttft_ms.p99", probes=large
            ),
        },
    )


def test_the_answer_in_one_sentence(tmp_path: Path) -> None:
    assert answer_sentence(_capacity(tmp_path)) == (
        "mock-small serves 24 concurrent users within TTFT p99 ≤ 800 ms (between 24 and 27); "
        "mock-large 9 (9–10)."
    )


def test_page_is_self_contained_with_slo_knee_and_untrusted_probe(tmp_path: Path) -> None:
    page = write_capacity_page(_capacity(tmp_path), tmp_path).read_text()
    assert page.startswith("<!doctype html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(?!#)""", page), "links out"
    assert "<script" not in page
    assert "mock-small serves 24 concurrent users within TTFT p99 ≤ 800 ms" in page
    assert page.count('<g class="slo">') == 2  # one latency panel per model
    assert page.count('<g class="knee">') == 4  # latency and throughput, per model
    assert "answer: 24 users" in page and "answer: 9 users" in page
    assert page.count("<strong>bottleneck: not trusted</strong>") == 1  # the u28 probe's row
    assert page.count('<tr class="untrusted">') == 1
    assert "p99 at 28: 1000 (95 % interval 900 to 1100); the generator was" in page
    assert "$1.23 per 1,000 conversations" in page
    assert "95 % interval 630 to 770" in page  # u24's whisker


def test_a_probe_without_a_run_folder_still_listed(tmp_path: Path) -> None:
    capacity = Capacity(
        slo={"ttft_ms.p99": 70.0, "error_rate": 0.01},
        mode="rate",
        models={
            "m": ModelCapacity(
                max_rate=0.0,
                interval=[0.0, 1.0],
                limited_by="no successes",
                probes=[
                    Probe(load=1.0, dir="m/r1", verdict="failed", p99s={"ttft_ms.p99": None},
                          ci={"ttft_ms.p99": None}, seconds=3.0, stopped_because="run exited 1")
                ],
            )
        },
    )  # fmt: skip
    page = write_capacity_page(capacity, tmp_path).read_text()
    assert "m serves 0 requests/s within TTFT p99 ≤ 70 ms and error rate ≤ 1 %" in page
    assert "run exited 1" in page and "failed" in page
