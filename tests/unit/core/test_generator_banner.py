"""The end-of-run banner when the load generator itself set the pace: which seconds, why in
plain words (each cause's worst figure against its bound) and what to do; from summary.json's
``generator`` alone, an older one without ``bound_detail`` included."""

from __future__ import annotations

import msgspec

from loadprofile.contract.summary import GeneratorHealth, decode_summary
from loadprofile.core.generator_health import (
    GeneratorSample,
    bound_banner,
    describe_spans,
    health_summary,
)
from tests.models import plain


def _sample(second: int, cpu: float = 20.0, lag: float = 1.0, late: int = 0) -> GeneratorSample:
    return GeneratorSample(float(second), second + 1.0, 20, cpu, lag, lag / 3, late_starts=late)


def _banner(samples: list[GeneratorSample]) -> str | None:
    # through summary.json's bytes, as a reader of an old run folder gets it
    generator = health_summary(samples)
    return bound_banner(msgspec.json.decode(msgspec.json.encode(generator), type=GeneratorHealth))


def test_no_bound_second_no_banner() -> None:
    assert _banner([_sample(s) for s in range(10)]) is None
    assert _banner([]) is None
    assert bound_banner(GeneratorHealth()) is None


def test_cpu_only_names_the_seconds_the_figure_and_more_cpu() -> None:
    samples = [_sample(s) for s in range(20)]
    for s, cpu in ((3, 92.0), (4, 97.4), (5, 95.0), (12, 91.0)):
        samples[s] = _sample(s, cpu=cpu)
    text = _banner(samples)
    assert text == (
        "the load generator itself was the bottleneck for 4 s of the run (at 3-6 s and "
        "12-13 s): its CPU was at 97 % of a core (bound 90 %). Latencies measured then include "
        "the generator's own delay, not only the server's: give it more CPU (--processes 2, "
        "or fewer users / a lower rate on this machine)"
    )


def test_lag_only_at_low_cpu_is_not_called_a_bottleneck() -> None:
    samples = [_sample(s) for s in range(10)]
    samples[7] = _sample(7, cpu=31.0, lag=41.3)
    text = _banner(samples)
    assert text is not None
    assert text.startswith(
        "the load generator was held up for 1 s of the run (at 7-8 s): its event loop ran up "
        "to 41 ms late (bound 10 ms) while its CPU averaged at most 31 %."
    )
    assert "bottleneck" not in text and "other processes on this machine" in text


def test_late_sends_only() -> None:
    samples = [_sample(s, cpu=60.0) for s in range(6)]
    samples[2] = _sample(2, cpu=70.0, late=5)
    samples[3] = _sample(3, cpu=75.0, late=2)
    text = _banner(samples)
    assert text is not None
    assert "for 2 s of the run (at 2-4 s): 7 request(s) went out more than 10 ms after " in text
    assert "its CPU was" not in text and "event loop" not in text
    assert "bottleneck" in text


def test_two_causes_each_with_its_own_seconds() -> None:
    samples = [_sample(s) for s in range(20)]
    samples[3] = _sample(3, cpu=97.0, lag=41.0)
    samples[4] = _sample(4, cpu=95.0)
    samples[12] = _sample(12, cpu=80.0, lag=15.0)
    text = _banner(samples)
    assert text is not None
    assert text.startswith(
        "the load generator itself was the bottleneck for 3 s of the run (at 3-5 s and "
        "12-13 s): its CPU was at 97 % of a core (bound 90 %) at 3-5 s; its event loop ran up "
        "to 41 ms late (bound 10 ms) at 3-4 s and 12-13 s."
    )


def test_own_and_elsewhere_seconds_are_told_apart() -> None:
    samples = [_sample(s) for s in range(10)]
    samples[1] = _sample(1, cpu=96.0)
    samples[8] = _sample(8, cpu=10.0, lag=30.0)
    text = _banner(samples)
    assert text is not None
    assert text.startswith("the load generator could not keep up for 2 s of the run")
    assert text.endswith(
        "at 8-9 s its own CPU was low: short bursts of its own work or other processes on this "
        "machine held it up"
    )


def test_many_scattered_seconds_are_condensed() -> None:
    hot = {2, 3, 4, 5, 9, 14, 15, 20, 26, 31, 32, 33, 40, 47}
    samples = [_sample(s, cpu=99.0 if s in hot else 30.0) for s in range(50)]
    text = _banner(samples)
    assert text is not None
    assert "for 14 s of the run (at 2-6 s, 9-10 s, 14-16 s, 20-21 s, 26-27 s and 3 more " in text
    assert describe_spans([(0.0, 1.001), (1.001, 2.0), (5.0, 6.0)]) == "0-2 s and 5-6 s"
    assert describe_spans([(4.0, 5.0)]) == "4-5 s"


def test_an_older_summary_without_the_causes_still_names_the_seconds() -> None:
    old = {"bound_seconds": 2.0, "bound_intervals": [[3.0, 4.0], [4.0, 5.0]]}
    text = bound_banner(msgspec.convert(old, GeneratorHealth))
    assert text == (
        "the load generator was flagged for 2 s of the run (at 3-5 s): CPU, event-loop lag or "
        "late sends (see generator.csv); latencies measured then are suspect"
    )


def test_bound_detail_is_recorded_and_optional() -> None:
    samples = [_sample(0), _sample(1, cpu=93.04, lag=12.345, late=1)]
    generator = plain(health_summary(samples))
    assert generator["bound_detail"] == [
        {
            "start_s": 1.0,
            "end_s": 2.0,
            "causes": ["cpu", "loop_lag", "late_sends"],
            "cpu_percent": 93.0,
            "loop_lag_ms_max": 12.35,
            "late_starts": 1,
        }
    ]
    assert plain(health_summary([_sample(0)]))["bound_detail"] == []
    # a summary.json written before bound_detail existed decodes, and encodes back unchanged
    raw = b'{"generator": {"bound_seconds": 1.0, "bound_intervals": [[1.0, 2.0]]}}'
    summary = decode_summary(raw)
    assert msgspec.json.decode(msgspec.json.encode(summary.generator)) == {
        "arrivals_not_sent": None,
        "bound_seconds": 1.0,
        "bound_intervals": [[1.0, 2.0]],
    }
