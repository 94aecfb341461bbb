"""Cost per request and per transaction, from requests.csv rows (pure).

A *transaction* is what a user came to do: one user's pass through one conversation (closed
loop, or open loop by conversations), or one request (open loop by requests). Its cost is the
sum of its requests' costs, failed attempts and retries included. A transaction counts as
successful when every one of its requests finally succeeded; transactions still running at
the end of the run are left out of the per-transaction figures (their cost so far would
make transactions look cheap) but are in the total.

Cost per 1,000 successful transactions divides everything spent (failed transactions too)
by the successful ones: the figure that shows a "cheaper" model costing more when it fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from loadprofile.config.pricing import CURRENCY, Price
from loadprofile.contract.run_meta import RunMeta
from loadprofile.contract.summary import CostDistribution, LoadSettings, ModelCost, PriceSpec

_PERCENTILES = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0))


@dataclass
class Transaction:
    cost: float = 0.0
    requests: int = 0
    ok: bool = True
    ended: bool = False


def transactions_of(rows: Iterable[Mapping[str, str]]) -> dict[str, dict[str, Transaction]]:
    """model -> transaction id -> Transaction, from rows with ``transaction``/``cost_usd``."""
    models: dict[str, _ModelCosts] = {}
    for row in rows:
        models.setdefault(row["model"], _ModelCosts()).add(row)
    return {model: costs.transactions for model, costs in models.items()}


def _float(text: str | None) -> float:
    try:
        return float(text) if text else 0.0
    except ValueError:
        return 0.0


def distribution(values: list[float]) -> CostDistribution:
    """mean, p50, p95, p99, max and count (linear-interpolated percentiles: costs are
    sums of a few prices, not latencies; no histogram is needed)."""
    if not values:
        return CostDistribution()
    arr = np.asarray(values, dtype=float)
    p50, p95, p99 = (_round(float(np.percentile(arr, pct))) for _, pct in _PERCENTILES)
    return CostDistribution(
        mean=_round(float(arr.mean())),
        p50=p50,
        p95=p95,
        p99=p99,
        max=_round(float(arr.max())),
        count=len(values),
    )


def _round(value: float) -> float:
    return float(f"{value:.6g}")


@dataclass
class _ModelCosts:
    per_request: list[float] = field(default_factory=list)
    failed_attempts: float = 0.0
    attempts: int = 0
    transactions: dict[str, Transaction] = field(default_factory=dict)

    def add(self, row: Mapping[str, str]) -> None:
        cost = _float(row.get("cost_usd"))
        self.per_request.append(cost)
        # Money spent on attempts that failed: all of a failed request, the retried
        # attempts of one that succeeded.
        self.failed_attempts += (
            cost if row.get("error_class") else _float(row.get("retry_cost_usd"))
        )
        self.attempts += int(row.get("attempts") or 1)
        tid = row.get("transaction") or ""
        if tid:
            t = self.transactions.setdefault(tid, Transaction())
            t.cost += cost
            t.requests += 1
            t.ok = t.ok and not row.get("error_class")
            t.ended = t.ended or row.get("transaction_end") == "1"


def cost_summary(
    rows: Iterable[Mapping[str, str]], prices: Mapping[str, Price], unit: str
) -> dict[str, ModelCost]:
    """summary.json's "cost": {model: {...}} for every priced model, in one pass over the
    rows; ``unit`` says what a transaction is ("conversation" or "request")."""
    models = {name: _ModelCosts() for name in prices}
    for row in rows:
        costs = models.get(row.get("model") or "")
        if costs is not None:
            costs.add(row)
    out: dict[str, ModelCost] = {}
    for model in sorted(prices):
        c = models[model]
        ended = [t for t in c.transactions.values() if t.ended]
        successful = sum(1 for t in ended if t.ok)
        total = sum(c.per_request)
        price = prices[model]
        out[model] = ModelCost(
            priced=True,
            currency=CURRENCY,
            prices=PriceSpec(
                input_per_1m=price.input_per_1m,
                output_per_1m=price.output_per_1m,
                cached_input_per_1m=price.cached_input_per_1m,
                per_request=price.per_request,
            ),
            transaction_unit=unit,
            total_usd=_round(total),
            requests=len(c.per_request),
            attempts=c.attempts,
            per_request=distribution(c.per_request),
            per_transaction=distribution([t.cost for t in ended]),
            transactions=len(ended),
            successful_transactions=successful,
            unfinished_transactions=len(c.transactions) - len(ended),
            per_1k_successful_transactions=_round(1000.0 * sum(t.cost for t in ended) / successful)
            if successful
            else None,
            failed_attempt_share=_round(c.failed_attempts / total) if total else 0.0,
        )
    return out


def transaction_unit(load: LoadSettings | None) -> str:
    """An open-loop run by requests sends lone turns: each is its own transaction."""
    by_requests = load is not None and load.rate is not None and load.rate_unit == "requests"
    return "request" if by_requests else "conversation"


def run_cost(run: RunMeta, rows: Iterable[Mapping[str, str]]) -> dict[str, ModelCost]:
    """summary.json's "cost" from run.json (its prices and load) and the request rows."""
    prices = {
        name: Price(p.input_per_1m, p.output_per_1m, p.cached_input_per_1m, p.per_request)
        for name, p in run.prices.items()
    }
    if not prices:
        return {}
    return cost_summary(rows, prices, transaction_unit(run.load))
