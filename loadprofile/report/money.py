"""Money as a reader reads it: dollars with four significant digits, never scientific notation.

The one formatter of a cost, wherever one is shown: the report's tables and sentences,
compare.html, the gate's table, JUnit and Markdown, and the console. A per-request or
per-transaction cost below a hundredth of a cent may be shown per 1,000 instead
(``$0.054 / 1k``), which reads at a glance where ``$0.000054`` needs its zeros counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from loadprofile.config.slo import ALL, SloError, parse_bound
from loadprofile.report.tables import EMPTY

#: Below this, a figure per item reads better per 1,000 items (when the caller allows it).
TINY_USD = 1e-4
DIGITS = 4


def is_money(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt_usd(value: Any, *, per_1k_when_tiny: bool = False) -> str:
    """$0.000054, $0.0123, $12.5, $1,234, $0 (``EMPTY`` for no value); with
    ``per_1k_when_tiny``, a figure below ``TINY_USD`` as its cost per 1,000: $0.054 / 1k."""
    if not is_money(value):
        return EMPTY
    if value == 0:
        return "$0"
    size = abs(value)
    if per_1k_when_tiny and size < TINY_USD:
        return fmt_usd_per_1k(value)
    sign = "-" if value < 0 else ""
    rounded = float(f"{size:.{DIGITS}g}")
    if rounded >= 1000:
        return f"{sign}${size:,.0f}"
    return f"{sign}${_plain(rounded)}"


def fmt_usd_per_1k(value: Any) -> str:
    """A cost per item as the cost of 1,000 of them: 5.4e-05 -> $0.054 / 1k."""
    return fmt_usd(value * 1000) + " / 1k" if is_money(value) and value else fmt_usd(value)


def usd_formatter(values: Iterable[Any]) -> Callable[[Any], str]:
    """One formatter for costs per item shown side by side (a row of models, baseline and
    candidate with their delta): all per 1,000 when one of them is tiny, so that a row
    never sets $0.00026 beside $0.098 / 1k."""
    tiny = any(is_money(v) and 0 < abs(v) < TINY_USD for v in values)
    return fmt_usd_per_1k if tiny else fmt_usd


def is_cost_bound(bound: str) -> bool:
    """Whether an SLO bound's figure is money: ``cost.<key>`` of the model judged, or of a
    named one (``current.cost.<key>``)."""
    try:
        left = parse_bound(bound, ALL, "gate.json").left
    except SloError:  # a verdict read back from an older or hand-edited gate.json
        return False
    return left.startswith("cost.") or ".cost." in left


def fmt_bound_figure(value: Any, bound: str, empty: str = EMPTY) -> str:
    """A gate verdict's actual or limit: dollars for a cost bound, else four digits.
    (A Jinja filter too: ``{{ v.actual|bound_figure(v.bound) }}``.)"""
    if not is_money(value):
        return empty
    return fmt_usd(value) if is_cost_bound(bound) else f"{value:.4g}"


def _plain(size: float) -> str:
    """A positive number below 1,000, already rounded, in fixed-point with no trailing zeros:
    5.4e-05 -> 0.000054 (``repr`` is the shortest text that reads back as the same float)."""
    text = repr(size)
    if "e" not in text:
        return text.removesuffix(".0")
    mantissa, exponent = text.split("e")
    digits = mantissa.replace(".", "")
    shift = int(exponent)  # negative here: sizes from 1e16 up never reach this function
    return "0." + "0" * (-shift - 1) + digits.rstrip("0")
