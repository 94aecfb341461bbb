"""Which server metrics the report draws, and how: panels of known names, counter rates.

The defaults know the names of llama.cpp's server (``llamacpp:*``, both the current ones and
the KV-cache gauges of older builds) and of vLLM (``vllm:*``, V0 and V1 names). A server
exporting other names still has every sample in server_metrics.csv, and a few of its
gauges that moved during the run get a chart of their own (``other_gauges``). Pure core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from urllib.parse import urlsplit

from loadprofile.client.server_metrics import Series, SeriesKey, labels_of


@dataclass(frozen=True)
class PanelSpec:
    """One chart: the series named ``names``; counters (``rate``) drawn as per-second rates
    between scrapes; values multiplied by ``scale`` (a 0-1 fraction shown as %)."""

    key: str
    title: str
    unit: str
    names: tuple[str, ...]
    rate: bool = False
    scale: float = 1.0


PANELS = (
    PanelSpec(
        "queue",
        "Queue depth: requests waiting",
        "requests",
        ("vllm:num_requests_waiting", "llamacpp:requests_deferred"),
    ),
    PanelSpec(
        "running",
        "Requests running",
        "requests",
        ("vllm:num_requests_running", "llamacpp:requests_processing"),
    ),
    PanelSpec(
        "kv-cache",
        "KV-cache use",
        "% of the KV cache",
        ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "llamacpp:kv_cache_usage_ratio"),
        scale=100.0,
    ),
    PanelSpec(
        "tokens",
        "Tokens per second",
        "tokens/s",
        (
            "vllm:prompt_tokens_total",
            "vllm:generation_tokens_total",
            "llamacpp:prompt_tokens_total",
            "llamacpp:tokens_predicted_total",
            "llamacpp:prompt_tokens_cached_total",
            "vllm:prefix_cache_hits_total",
        ),
        rate=True,
    ),
    PanelSpec(
        "events",
        "Engine events per second",
        "per second",
        ("vllm:num_preemptions_total", "vllm:request_success_total", "llamacpp:n_decode_total"),
        rate=True,
    ),
)
#: Gauges worth a chart of their own when exported, ahead of any other that moved.
PREFERRED_GAUGES = (
    "llamacpp:kv_cache_tokens",
    "llamacpp:predicted_tokens_seconds",
    "llamacpp:prompt_tokens_seconds",
    "llamacpp:n_busy_slots_per_decode",
    "vllm:num_requests_swapped",
    "vllm:cpu_cache_usage_perc",
    "vllm:gpu_prefix_cache_hit_rate",
)
MAX_OTHER_GAUGES = 4


@dataclass(frozen=True)
class Line:
    """One drawn series: its metric, its labels (stored form), legend label and points; a
    rate also has ``t_from``, when each of its intervals began (the scrape before)."""

    name: str
    labels: str
    label: str
    t: list[float]
    v: list[float]
    t_from: list[float] | None = None


def counter_rates(t: list[float], v: list[float]) -> tuple[list[float], list[float], list[float]]:
    """(from, to, rate): the per-second increase between consecutive scrapes. A counter
    that went down was reset (the server restarted): it counts from zero again, as
    Prometheus's ``rate()`` has it, so a rate is never negative."""
    starts: list[float] = []
    times: list[float] = []
    rates: list[float] = []
    for (t0, v0), (t1, v1) in pairwise(zip(t, v, strict=True)):
        dt = t1 - t0
        if dt <= 0 or math.isnan(v0) or math.isnan(v1):
            continue
        increase = v1 - v0 if v1 >= v0 else v1
        starts.append(t0)
        times.append(t1)
        rates.append(increase / dt)
    return starts, times, rates


def line_label(key: SeriesKey, many_sources: bool) -> str:
    """A short legend label: the metric without its prefix and ``_total``, then the labels
    (a ``model_name`` by its value alone); the source's host first when there are several."""
    source, name, labels = key
    short = name.rsplit(":", 1)[-1].removesuffix("_total")
    parts = [v if k == "model_name" else f"{k}={v}" for k, v in labels_of(labels).items()]
    label = " ".join([short, *parts])
    return f"{urlsplit(source).netloc or source} {label}" if many_sources else label


def panel_lines(series: dict[SeriesKey, Series], spec: PanelSpec) -> list[Line]:
    """The lines of one panel, in the order of its names; [] when the server exports none.
    Lines that stayed at zero (models of the server the run did not load) are left out
    when others moved."""
    many = len({key[0] for key in series}) > 1
    lines = []
    for name in spec.names:
        for key in sorted(k for k in series if k[1] == name):
            s = series[key]
            t_from, t, v = counter_rates(s.t, s.v) if spec.rate else (None, s.t, s.v)
            if t:
                lines.append(
                    Line(
                        name, key[2], line_label(key, many), t, [x * spec.scale for x in v], t_from
                    )
                )
    moved = [line for line in lines if any(x != 0 for x in line.v)]
    return moved or lines


def of_run_models(lines: list[Line], served: set[str]) -> list[Line]:
    """The lines of the models the run loaded, when the server labels its lines by model
    (``model_name``) and some name one of ``served``: a server with more models (the
    embedded mock serves four) would otherwise draw the idle ones too."""
    named = [bool(labels_of(line.labels).get("model_name")) for line in lines]
    ours = [labels_of(line.labels).get("model_name") in served for line in lines]
    if not any(ours):
        return lines
    return [
        line
        for line, is_named, is_ours in zip(lines, named, ours, strict=True)
        if is_ours or not is_named
    ]


def other_gauges(series: dict[SeriesKey, Series], limit: int = MAX_OTHER_GAUGES) -> list[str]:
    """Up to ``limit`` gauge names outside the panels: the preferred ones exported, then
    others whose value changed during the run (a constant says nothing over time)."""
    known = {name for spec in PANELS for name in spec.names}
    gauges: dict[str, bool] = {}
    for (_, name, _), s in series.items():
        if s.kind != "gauge" or name in known:
            continue
        finite = [x for x in s.v if math.isfinite(x)]
        gauges[name] = gauges.get(name, False) or (bool(finite) and max(finite) > min(finite))
    picked = [name for name in PREFERRED_GAUGES if name in gauges]
    picked += sorted(name for name, moved in gauges.items() if moved and name not in picked)
    return picked[:limit]


def gauge_lines(series: dict[SeriesKey, Series], name: str) -> list[Line]:
    many = len({key[0] for key in series}) > 1
    return [
        Line(name, key[2], line_label(key, many), series[key].t, series[key].v)
        for key in sorted(k for k in series if k[1] == name)
    ]
