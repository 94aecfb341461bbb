"""Server metrics (pure): llama.cpp and vLLM /metrics texts, panels, rates, the CSV store."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from loadprofile.client.server_metrics import (
    COLUMNS,
    MetricsCsvWriter,
    labels_of,
    labels_text,
    parse_scrape,
    read_series,
    scrape_times,
)
from loadprofile.mock.metrics import render_metrics
from loadprofile.mock.profiles import ModelProfile
from loadprofile.mock.state import KV_TOKENS_PER_SLOT, ModelSlots, Record
from loadprofile.report.server_panels import (
    PANELS,
    Line,
    counter_rates,
    gauge_lines,
    of_run_models,
    other_gauges,
    panel_lines,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "server_metrics"
LLAMACPP = (FIXTURES / "llamacpp.txt").read_text(encoding="utf-8")
VLLM = (FIXTURES / "vllm.txt").read_text(encoding="utf-8")
QWEN = {"engine": "0", "model_name": "Qwen/Qwen2.5-7B-Instruct"}


def _by_name(text: str) -> dict[str, list[tuple[dict[str, str], float, str]]]:
    out: dict[str, list[tuple[dict[str, str], float, str]]] = {}
    for s in parse_scrape(text):
        out.setdefault(s.name, []).append((labels_of(s.labels), s.value, s.kind))
    return out


def test_llamacpp_metrics_parse_with_their_types() -> None:
    found = _by_name(LLAMACPP)
    assert found["llamacpp:requests_processing"] == [({}, 4.0, "gauge")]
    assert found["llamacpp:requests_deferred"] == [({}, 2.0, "gauge")]
    assert found["llamacpp:prompt_tokens_total"] == [({}, 18234.0, "counter")]
    assert found["llamacpp:tokens_predicted_total"] == [({}, 5511.0, "counter")]
    assert found["llamacpp:n_decode_total"] == [({}, 2981.0, "counter")]
    # a counter exported without _total gets it (prometheus_client's OpenMetrics naming)
    assert "llamacpp:n_tokens_max_total" in found and "llamacpp:n_tokens_max" not in found
    per_pos = found["llamacpp:spec_decode_num_accepted_tokens_per_pos_total"]
    assert [(labels, value) for labels, value, _ in per_pos] == [
        ({"position": "0"}, 812.0),
        ({"position": "1"}, 407.0),
    ]


def test_vllm_metrics_parse_without_buckets_or_created_timestamps() -> None:
    found = _by_name(VLLM)
    assert found["vllm:num_requests_running"] == [(QWEN, 17.0, "gauge")]
    assert found["vllm:num_requests_waiting"] == [(QWEN, 5.0, "gauge")]
    assert found["vllm:kv_cache_usage_perc"] == [(QWEN, 0.4312, "gauge")]
    assert found["vllm:generation_tokens_total"] == [(QWEN, 98213.0, "counter")]
    assert len(found["vllm:request_success_total"]) == 3  # one per finished_reason
    assert found["vllm:time_to_first_token_seconds_count"][0][1] == 440.0
    assert found["vllm:time_to_first_token_seconds_sum"][0][1] == 41.93
    assert not [n for n in found if n.endswith(("_bucket", "_created"))]
    assert found["process_resident_memory_bytes"][0][1] == 2.147483648e9  # other series kept


def test_escaped_labels_special_values_and_untyped_lines() -> None:
    text = '# TYPE q gauge\nq{model_name="a \\"quoted\\" \\\\ name",x="1"} NaN\nr +Inf\nplain 3\n'
    samples = parse_scrape(text)
    assert labels_of(samples[0].labels) == {"model_name": 'a "quoted" \\ name', "x": "1"}
    assert math.isnan(samples[0].value) and samples[1].value == math.inf
    assert (samples[2].name, samples[2].kind) == ("plain", "unknown")
    assert labels_text({"b": "2", "a": "1"}) == '{"a":"1","b":"2"}'
    assert labels_text({}) == "" and labels_of("") == {} and labels_of("{broken") == {}


@pytest.mark.parametrize(
    "text",
    [
        '{"error": {"code": 501, "message": "This server does not support metrics endpoint."}}',
        "<html><body>Not Found</body></html>",
        "",
        "# only a comment\n",
        'x{a="b" 1\n',
    ],
)
def test_what_is_not_prometheus_text_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_scrape(text)


def test_counter_rates_per_second_and_a_reset_is_never_negative() -> None:
    t = [0.0, 1.0, 2.0, 3.0, 4.0, 4.0]
    v = [100.0, 150.0, 250.0, 20.0, 50.0, 60.0]  # the server restarted between 2 s and 3 s
    starts, times, rates = counter_rates(t, v)
    assert (starts, times) == ([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])  # dt 0: no rate
    assert rates == [50.0, 100.0, 20.0, 30.0]
    assert counter_rates([0.0, 2.0], [0.0, float("nan")]) == ([], [], [])
    assert counter_rates([0.0, 0.5], [0.0, 10.0]) == ([0.0], [0.5], [20.0])


def _scrapes(tmp_path: Path, texts: list[tuple[float, str, str]]) -> Path:
    path = tmp_path / "server_metrics.csv"
    writer = MetricsCsvWriter(path)
    for t_s, source, text in texts:
        writer.write(t_s, source, parse_scrape(text))
    writer.close()
    return path


def test_the_csv_round_trips_and_a_torn_last_row_is_skipped(tmp_path: Path) -> None:
    path = _scrapes(
        tmp_path,
        [
            (0.012, "http://v/metrics", VLLM),
            (1.013, "http://v/metrics", VLLM.replace("17.0", "9.0")),
        ],
    )
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(COLUMNS)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('2.0,http://v/metrics,vllm:num_requests_running,"{""engi')  # killed mid-row
    series = read_series(path)
    running = series[("http://v/metrics", "vllm:num_requests_running", labels_text(QWEN))]
    assert (running.kind, running.t, running.v) == ("gauge", [0.012, 1.013], [17.0, 9.0])
    assert scrape_times(series) == {"http://v/metrics": [0.012, 1.013]}


def test_panels_pick_the_llamacpp_and_vllm_names(tmp_path: Path) -> None:
    later_llama = LLAMACPP.replace(
        "llamacpp:tokens_predicted_total 5511", "llamacpp:tokens_predicted_total 5611"
    )
    later_vllm = VLLM.replace("} 98213.0", "} 98713.0")
    series = read_series(
        _scrapes(
            tmp_path,
            [
                (0.0, "http://l/metrics", LLAMACPP),
                (2.0, "http://l/metrics", later_llama),
                (0.0, "http://v/metrics", VLLM),
                (1.0, "http://v/metrics", later_vllm),
            ],
        )
    )
    lines = {spec.key: panel_lines(series, spec) for spec in PANELS}
    assert [line.name for line in lines["queue"]] == [
        "vllm:num_requests_waiting",
        "llamacpp:requests_deferred",
    ]
    assert [line.name for line in lines["running"]] == [
        "vllm:num_requests_running",
        "llamacpp:requests_processing",
    ]
    assert lines["kv-cache"][0].v == pytest.approx([43.12, 43.12])  # a fraction, shown in %
    tokens = {line.name: line for line in lines["tokens"]}
    assert tokens["vllm:generation_tokens_total"].v == [500.0]
    assert tokens["llamacpp:tokens_predicted_total"].v == [50.0]  # 100 tokens over 2 s
    assert tokens["llamacpp:tokens_predicted_total"].label == "l tokens_predicted"
    assert tokens["vllm:generation_tokens_total"].label == (
        "v generation_tokens engine=0 Qwen/Qwen2.5-7B-Instruct"
    )
    assert {line.name for line in lines["events"]} == {
        "vllm:num_preemptions_total",
        "vllm:request_success_total",
        "llamacpp:n_decode_total",
    }
    # Gauges outside the panels: the preferred ones first; none of them moved here.
    assert other_gauges(series) == [
        "llamacpp:predicted_tokens_seconds",
        "llamacpp:prompt_tokens_seconds",
        "llamacpp:n_busy_slots_per_decode",
    ]


def test_other_gauges_are_the_ones_that_moved(tmp_path: Path) -> None:
    text = "# TYPE sglang:queue gauge\nsglang:queue {q}\n# TYPE const gauge\nconst 1\n"
    series = read_series(
        _scrapes(
            tmp_path,
            [
                (0.0, "http://s/metrics", text.format(q=0)),
                (1.0, "http://s/metrics", text.format(q=7)),
            ],
        )
    )
    assert other_gauges(series) == ["sglang:queue"]
    assert [line.label for line in gauge_lines(series, "sglang:queue")] == ["queue"]
    assert all(panel_lines(series, spec) == [] for spec in PANELS)


def test_older_llamacpp_kv_cache_gauges_fill_the_kv_panel(tmp_path: Path) -> None:
    text = (
        "# TYPE llamacpp:kv_cache_usage_ratio gauge\nllamacpp:kv_cache_usage_ratio 0.25\n"
        "# TYPE llamacpp:kv_cache_tokens gauge\nllamacpp:kv_cache_tokens 1024\n"
    )
    series = read_series(_scrapes(tmp_path, [(0.0, "http://l/metrics", text)]))
    kv = next(spec for spec in PANELS if spec.key == "kv-cache")
    assert [(line.name, line.v) for line in panel_lines(series, kv)] == [
        ("llamacpp:kv_cache_usage_ratio", [25.0])
    ]
    assert other_gauges(series) == ["llamacpp:kv_cache_tokens"]


def test_the_mock_exports_its_state_under_vllm_names() -> None:
    slots = ModelSlots(ModelProfile(name="m", max_concurrency=4))
    rec = Record("r1", 0, prompt_tokens=300, cached_tokens=64)
    slots.admit()
    slots.in_flight += 1  # holding a slot, as `acquire` leaves it
    slots.start_service(rec)
    rec.output_tokens = 20
    slots.admit()  # a second request waits for a slot
    found = _by_name(render_metrics({"m": slots, 'odd "name"': ModelSlots(ModelProfile("x"))}))
    model = {"model_name": "m"}
    assert found["vllm:num_requests_running"][0] == (model, 1.0, "gauge")
    assert found["vllm:num_requests_waiting"][0] == (model, 1.0, "gauge")
    assert found["vllm:prompt_tokens_total"][0][1] == 300.0
    assert found["vllm:generation_tokens_total"][0][1] == 20.0
    assert found["vllm:prefix_cache_hits_total"][0][1] == 64.0
    assert found["vllm:kv_cache_usage_perc"][0][1] == pytest.approx(320 / (4 * KV_TOKENS_PER_SLOT))
    assert found["vllm:num_requests_running"][1][0] == {"model_name": 'odd "name"'}
    slots.end_service(rec)
    slots.end_service(rec)  # twice is harmless
    assert (slots.generation_tokens_total, slots.kv_usage) == (20, 0.0)


def test_lines_that_stayed_at_zero_are_left_out_when_others_moved(tmp_path: Path) -> None:
    text = (
        "# TYPE vllm:num_requests_running gauge\n"
        'vllm:num_requests_running{{model_name="loaded"}} {n}\n'
        'vllm:num_requests_running{{model_name="idle"}} 0\n'
    )
    running = next(spec for spec in PANELS if spec.key == "running")
    busy = read_series(
        _scrapes(tmp_path, [(0.0, "u", text.format(n=0)), (1.0, "u", text.format(n=3))])
    )
    assert [line.label for line in panel_lines(busy, running)] == ["num_requests_running loaded"]
    quiet = read_series(_scrapes(tmp_path, [(0.0, "u", text.format(n=0))]))
    assert len(panel_lines(quiet, running)) == 2  # nothing moved: the zeros are the news


def test_lines_of_models_the_run_did_not_load_are_left_out() -> None:
    def line(labels: str) -> Line:
        return Line("vllm:num_requests_running", labels, labels, [0.0], [1.0])

    small, fixed = line('{"model_name":"mock-small"}'), line('{"model_name":"mock-fixed"}')
    bare = line("")
    assert of_run_models([small, fixed, bare], {"mock-small"}) == [small, bare]
    # A server whose labels name none of the run's models: everything stays.
    assert of_run_models([small, fixed], {"other"}) == [small, fixed]
