"""Fills the Jinja2 template; everything it needs is already in the context.

Autoescape is on: run.json strings (warnings, command lines, error messages from servers)
are untrusted text and must never become markup in the page.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from loadprofile.report.money import fmt_bound_figure, fmt_usd

TEMPLATE = "report.html"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """One shared environment: it caches the compiled template between reports."""
    env = Environment(
        loader=PackageLoader("loadprofile.report", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,  # a missing context key is a bug, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Money is formatted in one place (report/money.py), in the pages too.
    env.filters["usd"] = fmt_usd
    env.filters["bound_figure"] = fmt_bound_figure
    return env


def render(context: dict[str, Any]) -> str:
    return environment().get_template(TEMPLATE).render(**context)
