"""Prices, cost per request and per transaction, and the retry policy (pure)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from loadprofile.config.pricing import Price, attempt_cost, prices_from_toml, request_cost
from loadprofile.config.retry_policy import RetryPolicy, resolve_retry
from loadprofile.config.run_config import CliValues, ConfigError, parse_duration, resolve
from loadprofile.config.targets import split_canary
from loadprofile.contract.summary import LoadSettings
from loadprofile.core.collector import Collector
from loadprofile.core.cost import cost_summary, transaction_unit
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.rundir.writer import REQUEST_COLUMNS, request_row
from tests.models import plain

PRICE = Price(input_per_1m=2.0, output_per_1m=8.0, cached_input_per_1m=0.5, per_request=0.001)


def _attempt(
    status: int = 200,
    prompt: int = 1000,
    output: int = 500,
    cached: int | None = None,
    error: ErrorClass | None = None,
) -> RequestResult:
    r = RequestResult(
        "m",
        "c1",
        1,
        0.0,
        status=status,
        prompt_tokens=prompt,
        output_tokens=output,
        cached_tokens=cached,
        error_class=error,
    )
    if error is None:
        r.ttft_ms, r.e2e_ms = 100.0, 900.0
    return r


def test_price_of_one_attempt_on_known_tokens() -> None:
    # 1000 prompt (400 cached) and 500 output tokens: 600 x 2 + 400 x 0.5 + 500 x 8 per 1M, + fee
    assert PRICE.usd(1000, 500, 400) == pytest.approx((1200 + 200 + 4000) / 1e6 + 0.001)
    # Without a cached price, cached tokens cost the input price.
    plain = Price(2.0, 8.0)
    assert plain.usd(1000, 500, 400) == pytest.approx((2000 + 4000) / 1e6)
    # More cached tokens than prompt tokens (a confused server) never gives a negative price.
    assert plain.usd(10, 0, 99) == pytest.approx(10 * 2.0 / 1e6)


def test_retries_and_failed_attempts_are_billed_when_the_model_ran() -> None:
    refused = _attempt(status=429, error=ErrorClass.HTTP_429)
    cut_off = _attempt(status=200, prompt=1000, output=120, error=ErrorClass.STREAM_INCOMPLETE)
    final = _attempt(prompt=1000, output=500)
    final.earlier = [refused, cut_off]
    assert attempt_cost(PRICE, refused) == 0.0  # refused: the model never ran
    cut_cost = (1000 * 2.0 + 120 * 8.0) / 1e6 + 0.001
    total, earlier = request_cost(PRICE, final)
    assert earlier == pytest.approx(cut_cost)
    assert total == pytest.approx(cut_cost + (1000 * 2.0 + 500 * 8.0) / 1e6 + 0.001)
    assert final.attempts == 3 and final.first_attempt is refused


def _row(
    model: str,
    tid: str,
    cost: float,
    *,
    end: bool,
    error: str = "",
    attempts: int = 1,
    retry_cost: float = 0.0,
) -> dict[str, str]:
    return {
        "model": model,
        "transaction": tid,
        "cost_usd": str(cost),
        "error_class": error,
        "transaction_end": "1" if end else "0",
        "attempts": str(attempts),
        "retry_cost_usd": str(retry_cost),
    }


def test_cost_per_transaction_counts_failures_against_the_successes() -> None:
    rows = [
        _row("a", "u1-1", 0.01, end=False),
        _row("a", "u1-1", 0.02, end=True),  # ok: 0.03
        _row("a", "u1-2", 0.01, end=False, error="http_5xx"),
        _row("a", "u1-2", 0.03, end=True, attempts=2, retry_cost=0.01),  # failed: 0.04
        _row("a", "u2-1", 0.05, end=False),  # still running at the end: left out
        _row("b", "u3-1", 0.5, end=True),  # not priced: ignored
    ]
    out = plain(cost_summary(rows, {"a": Price(1.0, 1.0)}, "conversation"))
    a = out["a"]
    assert set(out) == {"a"}
    assert a["total_usd"] == pytest.approx(0.12)
    assert (a["transactions"], a["successful_transactions"], a["unfinished_transactions"]) == (
        2,
        1,
        1,
    )
    assert a["per_transaction"]["mean"] == pytest.approx(0.035)
    assert a["per_transaction"]["count"] == 2
    # Everything spent on finished transactions (0.07) per successful one, times 1000.
    assert a["per_1k_successful_transactions"] == pytest.approx(70.0)
    assert a["attempts"] == 6
    # Failed attempts: the failed request (0.01) and the retried attempt of another (0.01).
    assert a["failed_attempt_share"] == pytest.approx(0.02 / 0.12, rel=1e-4)
    assert a["per_request"]["count"] == 5


def test_no_successful_transaction_has_no_cost_per_success() -> None:
    out = cost_summary(
        [_row("a", "t", 0.1, end=True, error="timeout")], {"a": Price(1, 1)}, "request"
    )
    assert out["a"].per_1k_successful_transactions is None
    assert transaction_unit(LoadSettings(rate=5.0, rate_unit="requests")) == "request"
    assert transaction_unit(LoadSettings(rate=None)) == "conversation"


def test_rows_carry_attempts_cost_and_transaction() -> None:
    final = _attempt()
    final.earlier = [_attempt(status=503, error=ErrorClass.HTTP_5XX)]
    final.cost_usd, final.retry_cost_usd = request_cost(PRICE, final)
    final.transaction, final.transaction_end = "u7-3", True
    row = dict(zip(REQUEST_COLUMNS, request_row(final, 0.0), strict=True))
    assert (row["attempts"], row["attempt_errors"], row["transaction"], row["transaction_end"]) == (
        "2",
        "http_5xx",
        "u7-3",
        "1",
    )
    assert float(row["cost_usd"]) == pytest.approx(final.cost_usd)


def test_collector_counts_retries_and_keeps_first_attempt_latency_apart() -> None:
    c = Collector(0, first_attempts=True)
    plain = _attempt()
    retried = _attempt()
    retried.ttft_ms = 2500.0  # felt: the failed attempt and the backoff included
    retried.earlier = [_attempt(status=429, error=ErrorClass.HTTP_429)]
    given_up = _attempt(status=503, error=ErrorClass.HTTP_5XX)
    given_up.earlier = [_attempt(status=503, error=ErrorClass.HTTP_5XX)]
    for r in (plain, retried, given_up):
        c.record(r)
    c.roll(1_000_000_000)
    counts = c.totals["m"].counts
    assert (
        counts.requests,
        counts.failures,
        counts.retried,
        counts.retry_attempts,
        counts.recovered,
        counts.first_attempt_failures,
    ) == (3, 1, 2, 2, 1, 2)
    assert counts.attempt_errors == {"http_429": 1, "http_5xx": 1}
    hists = c.totals["m"].histograms
    assert hists["ttft_ms"].get_total_count() == 2
    assert hists["ttft_first_attempt_ms"].get_total_count() == 1  # only `plain`
    assert hists["ttft_ms"].get_max_value() >= 2_490_000
    plain_run = Collector(0)  # no --retries: no copies of ttft_ms and e2e_ms
    plain_run.record(_attempt())
    assert not plain_run.roll(1)[0].histograms["ttft_first_attempt_ms"].get_total_count()


def test_retry_policy_retries_only_what_it_is_told_and_backs_off_with_jitter() -> None:
    policy = RetryPolicy(retries=2, backoff_s=0.5, backoff_max_s=1.5)
    failed = _attempt(status=429, error=ErrorClass.HTTP_429)
    assert policy.should_retry(failed, 1) and policy.should_retry(failed, 2)
    assert not policy.should_retry(failed, 3)  # two retries spent
    assert not policy.should_retry(_attempt(), 1)
    assert not policy.should_retry(_attempt(status=400, error=ErrorClass.HTTP_4XX), 1)
    rng = random.Random(1)
    for n, ceiling in ((1, 0.5), (2, 1.0), (3, 1.5), (6, 1.5)):
        delays = [policy.delay_s(n, rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not in lock step


@pytest.mark.parametrize(
    ("retries", "backoff", "on", "message"),
    [
        (-1, None, None, "retries must be a whole number"),
        (11, None, None, "retries must be a whole number"),
        (2, "2s:1s", None, "bad retry backoff"),
        (2, "0s", None, "bad retry backoff"),
        (2, None, "http_429,teapot", "unknown error class(es) teapot"),
    ],
)
def test_bad_retry_settings_are_refused(
    retries: int, backoff: str | None, on: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_retry(retries, backoff, on, parse_duration)


def test_retry_settings_resolve_from_flags() -> None:
    config = resolve(
        CliValues(
            models=("a",),
            retries=3,
            retry_backoff="100ms:2s",
            retry_on="http_429,stream_incomplete",
        )
    )
    policy = config.load.retry
    assert (policy.retries, policy.backoff_s, policy.backoff_max_s) == (3, 0.1, 2.0)
    assert policy.retry_on == ("http_429", "stream_incomplete")
    assert resolve(CliValues(models=("a",))).load.retries == 0  # off by default


def test_prices_come_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        '[[targets]]\nmodel = "a"\n[[targets]]\nmodel = "b"\n'
        "[prices.a]\ninput_per_1m = 1.5\noutput_per_1m = 6\nper_request = 0.01\n",
        encoding="utf-8",
    )
    config = resolve(CliValues(config=path))
    assert config.price_of("a") == Price(1.5, 6.0, None, 0.01)
    assert config.price_of("b") is None
    assert config.to_json()["prices"]["a"]["output_per_1m"] == 6.0


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[prices.a]\ninput_per_1m = 1\n", "output_per_1m is required"),
        ("[prices.a]\ninput_per_1m = 1\noutput_per_1m = -2\n", "non-negative number"),
        ("[prices.a]\ninput_per_1m = 1\noutput_per_1m = 2\nper_token = 3\n", "unknown key"),
        ("[prices.zz]\ninput_per_1m = 1\noutput_per_1m = 2\n", "not in this run: zz"),
    ],
)
def test_bad_prices_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "run.toml"
    path.write_text('[[targets]]\nmodel = "a"\n' + toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        resolve(CliValues(config=path))
    with pytest.raises(ConfigError):
        prices_from_toml({"prices": {"a": 3}}, path)


def test_canary_takes_its_baseline_model_from_baseline() -> None:
    names = ["current", "candidate"]
    assert split_canary(None, ["snap"], names) == (None, ["snap"])
    assert split_canary("candidate", ["current", "candidate=snaps/x"], names) == (
        ("candidate", "current"),
        ["candidate=snaps/x"],
    )
    for bad, message in ((["nope"], "needs one --baseline"), (["candidate"], "same model")):
        with pytest.raises(ConfigError, match=message):
            split_canary("candidate", bad, names)
    with pytest.raises(ConfigError, match="no such model"):
        split_canary("other", ["current"], names)
    config = resolve(
        CliValues(models=("current=90", "candidate=10"), canary="candidate", baseline=("current",))
    )
    assert config.canary == ("candidate", "current")
    assert [t.weight for t in config.targets] == [90.0, 10.0]
    assert config.to_json()["canary"] == {"candidate": "candidate", "baseline": "current"}


def test_workers_get_the_prices_and_the_retry_policy() -> None:
    from loadprofile.engine.fleet.wire import config_from_wire, config_to_wire

    config = resolve(CliValues(models=("a",), retries=2, retry_on="http_429"))
    config = type(config)(**{**config.__dict__, "prices": (("a", PRICE),)})
    back = config_from_wire(json.loads(json.dumps(config_to_wire(config))))
    assert back.price_of("a") == PRICE
    assert back.load.retry == config.load.retry
