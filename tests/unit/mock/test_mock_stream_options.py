"""contract_break, omit_usage, omit_done and JSON content on the wire, with their records.

One mock process on loopback (asyncio never runs in the test process), models with ~1 ms
tokens so the module takes well under a second; the bytes themselves are unit-tested in
test_mock_json_reply.py.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PROFILES = """
[models.fast]
ttft_base_ms = 1.0
itl_ms = 0.5
output_tokens_min = 20
output_tokens_max = 20

[models.breaker]
base = "fast"
contract_break = 1.0

[models.no-usage]
base = "fast"
omit_usage = true

[models.no-done]
base = "fast"
omit_done = true

[models.json-ok]
base = "fast"
content = "json"
output_tokens_min = 20
output_tokens_max = 60

[models.json-bad]
base = "json-ok"
invalid_json = 1.0

[models.cached]
base = "fast"
prefix_cache = true
"""


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("mock-options")
    (tmp / "profiles.toml").write_text(PROFILES)
    err = tmp / "mock.err"
    with err.open("w") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loadprofile.mock",
                "--port",
                "0",
                "--quiet",
                "--record",
                "--profiles",
                str(tmp / "profiles.toml"),
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, err.read_text()
        yield int(line.split("127.0.0.1:")[1].split()[0])
    finally:
        proc.terminate()
        try:
            assert proc.wait(timeout=5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert "Traceback" not in err.read_text()


def call(port: int, method: str, path: str, body: Any = None, rid: str = "") -> tuple[int, bytes]:
    """One request; the whole (de-chunked) body, which must arrive complete."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", "X-Request-Id": rid} if rid else {}
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def chat(port: int, model: str, rid: str, stream: bool = True, **extra: Any) -> bytes:
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": rid}]}
    if stream:
        body["stream_options"] = {"include_usage": True}
    status, raw = call(port, "POST", "/v1/chat/completions", {**body, **extra}, rid)
    assert status == 200, raw
    return raw


def events(raw: bytes) -> list[Any]:
    """Every SSE event parsed: well-formed streams only (the new options never garble)."""
    assert raw.endswith(b"\n\n")
    out: list[Any] = []
    for event in raw.split(b"\n\n")[:-1]:
        assert event.startswith(b"data: "), event
        data = event.removeprefix(b"data: ")
        out.append("[DONE]" if data == b"[DONE]" else json.loads(data))
    return out


def content_of(evs: list[Any]) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content", "") for e in evs if e != "[DONE]" and e["choices"]
    )


def parses(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def record(port: int, rid: str) -> dict[str, Any]:
    status, raw = call(port, "GET", f"/mock/requests?request_id={rid}")
    assert status == 200
    records: list[dict[str, Any]] = json.loads(raw)
    (rec,) = records
    return rec


def test_defaults_stream_is_complete(port: int) -> None:
    evs = events(chat(port, "fast", "plain"))
    assert evs[-1] == "[DONE]" and evs[-2]["usage"]["completion_tokens"] == 20
    assert len({e["id"] for e in evs[:-1]}) == 1
    rec = record(port, "plain")
    assert rec["injected"] is None and rec["invalid_json"] is False


def injected_counts(port: int, model: str) -> Counter[str]:
    status, raw = call(port, "GET", "/mock/stats")
    assert status == 200
    return Counter(json.loads(raw)[model]["injected"])


def test_contract_break_puts_one_other_id_then_ends_normally(port: int) -> None:
    before = injected_counts(port, "breaker")
    for i in range(5):
        evs = events(chat(port, "breaker", f"break-{i}"))
        # role, 20 content chunks, finish, usage, [DONE]: one content chunk but the first
        # has another id; the stream is otherwise untouched.
        assert len(evs) == 1 + 20 + 3 and evs[-1] == "[DONE]"
        stream_id = evs[0]["id"]
        odd = [j for j, e in enumerate(evs[:-1]) if e["id"] != stream_id]
        assert len(odd) == 1 and 2 <= odd[0] <= 20, odd
        assert evs[odd[0]]["choices"][0]["delta"]["content"]
        assert evs[odd[0]]["id"].startswith("chatcmpl-")
        assert evs[-3]["choices"][0]["finish_reason"] == "stop"
        assert evs[-2]["usage"]["completion_tokens"] == 20
        assert record(port, f"break-{i}")["injected"] == "contract_break"
    assert injected_counts(port, "breaker") - before == Counter(contract_break=5)


def test_contract_break_is_not_injected_into_whole_bodies(port: int) -> None:
    body = json.loads(chat(port, "breaker", "break-unary", stream=False))
    assert body["usage"]["completion_tokens"] == 20
    assert record(port, "break-unary")["injected"] is None


def test_omit_usage(port: int) -> None:
    evs = events(chat(port, "no-usage", "nousage"))
    assert not [e for e in evs if e != "[DONE]" and "usage" in e]
    assert evs[-1] == "[DONE]" and evs[-2]["choices"][0]["finish_reason"] == "stop"
    body = json.loads(chat(port, "no-usage", "nousage-unary", stream=False))
    assert "usage" not in body and body["choices"][0]["finish_reason"] == "stop"


def test_omit_done(port: int) -> None:
    raw = chat(port, "no-done", "nodone")  # http.client: the chunked terminator came
    assert b"[DONE]" not in raw
    evs = events(raw)
    assert evs[-2]["choices"][0]["finish_reason"] == "stop"
    assert evs[-1]["choices"] == [] and evs[-1]["usage"]["completion_tokens"] == 20
    evs = events(chat(port, "no-done", "nodone-nousage", stream_options=None))
    assert evs[-1]["choices"][0]["finish_reason"] == "stop"
    assert record(port, "nodone")["status"] == 200


def test_json_content_streams_and_invalid_json_is_recorded(port: int) -> None:
    before = injected_counts(port, "json-bad")
    for model, valid in (("json-ok", True), ("json-bad", False)):
        for i in range(4):
            rid = f"{model}-{i}"
            evs = events(chat(port, model, rid))
            text = content_of(evs)
            assert evs[-1] == "[DONE]" and evs[-3]["choices"][0]["finish_reason"] == "stop"
            tokens = sum(1 for e in evs[1:-3] if e["choices"][0]["delta"].get("content"))
            assert evs[-2]["usage"]["completion_tokens"] == tokens
            assert parses(text) is valid, text
            rec = record(port, rid)
            assert rec["invalid_json"] is not valid and rec["injected"] is None
        body = json.loads(chat(port, model, f"{model}-unary", stream=False))
        assert body["usage"]["completion_tokens"] >= 20
        assert parses(body["choices"][0]["message"]["content"]) is valid
    assert injected_counts(port, "json-bad") - before == Counter(invalid_json=5)
    assert injected_counts(port, "json-ok") == Counter()


SYSTEM = {"role": "system", "content": " ".join(f"rule{i}." for i in range(40))}  # 84 tokens


def cached_chat(
    port: int, rid: str, messages: list[dict[str, str]], stream: bool = True, model: str = "cached"
) -> dict[str, Any]:
    """The usage object of one reply (streamed: the usage chunk)."""
    body: dict[str, Any] = {"model": model, "stream": stream, "messages": messages}
    if stream:
        body["stream_options"] = {"include_usage": True}
    status, raw = call(port, "POST", "/v1/chat/completions", body, rid)
    assert status == 200, raw
    if not stream:
        usage: dict[str, Any] = json.loads(raw)["usage"]
        return usage
    (usage,) = [e["usage"] for e in events(raw) if e != "[DONE]" and e.get("usage")]
    return usage


def test_prefix_cache_serves_prompts_that_start_alike(port: int) -> None:
    """A new system prompt is prefilled whole; a second conversation with the same system
    prompt, and the next turn of the first, get the shared start (whole 16-token blocks)."""
    first = [SYSTEM, {"role": "user", "content": "What is a prefix cache, in short?"}]
    cold = cached_chat(port, "pc-1", first)
    assert cold["prompt_tokens_details"] == {"cached_tokens": 0}
    other = cached_chat(port, "pc-2", [SYSTEM, {"role": "user", "content": "Other question"}])
    assert other["prompt_tokens_details"]["cached_tokens"] == 80  # 84 tokens: 5 blocks
    turn2 = [
        *first,
        {"role": "assistant", "content": "A store of KV."},
        {"role": "user", "content": "And when does it help?"},
    ]
    warm = cached_chat(port, "pc-3", turn2, stream=False)
    assert 96 <= warm["prompt_tokens_details"]["cached_tokens"] < warm["prompt_tokens"]
    assert record(port, "pc-3")["cached_tokens"] == warm["prompt_tokens_details"]["cached_tokens"]
    nonce = [{**SYSTEM, "content": "[session 0a1b2c] " + SYSTEM["content"]}, first[1]]
    assert cached_chat(port, "pc-4", nonce)["prompt_tokens_details"]["cached_tokens"] == 0


def test_models_without_a_prefix_cache_report_no_cached_tokens(port: int) -> None:
    usage = cached_chat(port, "nc-1", [SYSTEM], model="fast")
    usage = cached_chat(port, "nc-2", [SYSTEM], model="fast")
    assert "prompt_tokens_details" not in usage
    assert record(port, "nc-2")["cached_tokens"] is None
