"""The context a server publishes: llama.cpp's /props, vLLM's /v1/models; asked over loopback,
with every odd answer read as "not published"."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loadprofile.client.preflight import context_warnings, server_context
from loadprofile.client.server_context import (
    LLAMA_CPP_PROPS,
    VLLM_MODELS,
    ServerContext,
    from_models,
    from_props,
)
from loadprofile.config.run_config import Target
from loadprofile.dataset.conversations import Conversation, Turn

#: The parts of a llama-server /props answer around the one read (build b8681 has these).
LLAMA_PROPS = {
    "default_generation_settings": {"id": 0, "n_ctx": 1024, "params": {"n_predict": -1}},
    "total_slots": 4,
    "model_alias": "smollm2",
    "model_path": "/m/smollm2.gguf",
    "chat_template": "{% for m in messages %}...{% endfor %}",
    "build_info": "b8681",
    "modalities": {"vision": False, "audio": False},
}
VLLM_LIST = {
    "object": "list",
    "data": [
        {"id": "other", "object": "model", "max_model_len": 8192},
        {"id": "llama-3-8b", "object": "model", "owned_by": "vllm", "max_model_len": 4096},
    ],
}


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def test_llama_cpp_props_give_the_per_slot_context() -> None:
    assert from_props(_json(LLAMA_PROPS)) == ServerContext(1024, LLAMA_CPP_PROPS)


def test_a_top_level_n_ctx_is_read_when_the_settings_have_none() -> None:
    assert from_props(_json({"n_ctx": 2048, "default_generation_settings": {}})) == ServerContext(
        2048, LLAMA_CPP_PROPS
    )
    both = {"n_ctx": 8192, "default_generation_settings": {"n_ctx": 2048}}
    assert from_props(_json(both)) == ServerContext(2048, LLAMA_CPP_PROPS)


def test_vllm_models_give_the_named_models_max_model_len() -> None:
    assert from_models(_json(VLLM_LIST), "llama-3-8b") == ServerContext(4096, VLLM_MODELS)
    assert from_models(_json(VLLM_LIST), "other") == ServerContext(8192, VLLM_MODELS)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b"null",
        b"1024",
        b'"x"',
        _json({}),
        _json({"default_generation_settings": None}),
        _json({"default_generation_settings": []}),
        _json({"default_generation_settings": {"n_ctx": "1024"}}),
        _json({"default_generation_settings": {"n_ctx": 0}}),
        _json({"n_ctx": -1}),
        _json({"n_ctx": True}),
        _json({"n_ctx": 1024.0}),
        _json({"n_ctx": None}),
        b"[" * 100_000,
    ],
)
def test_odd_props_answers_publish_nothing(body: bytes) -> None:
    assert from_props(body) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>",
        _json([]),
        _json({"data": None}),
        _json({"data": {"id": "m"}}),
        _json({"data": ["m"]}),
        _json({"data": [{"id": "m"}]}),  # listed, nothing published
        _json({"data": [{"id": "m", "max_model_len": "4096"}]}),
        _json({"data": [{"id": "m", "max_model_len": False}]}),
        _json({"data": [{"id": "other", "max_model_len": 4096}]}),  # another model's
    ],
)
def test_odd_models_answers_publish_nothing(body: bytes) -> None:
    assert from_models(body, "m") is None


# --- over HTTP ------------------------------------------------------------------------------

Answer = tuple[int, bytes]


@pytest.fixture
def server() -> Iterator[Callable[[dict[str, Answer]], str]]:
    """A loopback server answering each path as told (404 elsewhere); returns its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(answers: dict[str, Answer]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = answers.get(self.path, (404, b'{"error": "not found"}'))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if body == b"<cut>":  # announces more than it sends, then closes
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    self.wfile.write(b'{"n_ctx"')
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _target(url: str, model: str = "m") -> Target:
    return Target(name=f"t-{model}", model=model, host=url)


def test_a_llama_cpp_server_is_asked_for_its_props(server: Callable[..., str]) -> None:
    url = server(
        {"/v1/models": (200, _json({"data": [{"id": "m"}]})), "/props": (200, _json(LLAMA_PROPS))}
    )
    assert server_context(_target(url)) == ServerContext(1024, LLAMA_CPP_PROPS)


def test_vllm_s_max_model_len_comes_first(server: Callable[..., str]) -> None:
    url = server({"/v1/models": (200, _json(VLLM_LIST)), "/props": (200, _json(LLAMA_PROPS))})
    assert server_context(_target(url, "llama-3-8b")) == ServerContext(4096, VLLM_MODELS)


@pytest.mark.parametrize(
    "answers",
    [
        {},  # neither endpoint: a hosted API, say
        {"/v1/models": (200, b"garbage"), "/props": (200, b"{{{")},
        {"/v1/models": (500, _json(VLLM_LIST)), "/props": (503, _json(LLAMA_PROPS))},
        {"/v1/models": (401, b""), "/props": (401, b"")},
        {"/props": (200, b"<cut>")},
        {"/props": (200, _json({"default_generation_settings": {"n_ctx": "big"}}))},
    ],
    ids=["nothing", "garbage", "server-errors", "unauthorised", "cut-short", "wrong-type"],
)
def test_servers_that_publish_nothing_readable_give_none(
    server: Callable[..., str], answers: dict[str, Answer]
) -> None:
    assert server_context(_target(server(answers))) is None


def test_a_server_gone_since_the_preflight_gives_none() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert server_context(_target(f"http://127.0.0.1:{port}")) is None


def test_context_warnings_name_the_target(server: Callable[..., str]) -> None:
    url = server({"/props": (200, _json({"default_generation_settings": {"n_ctx": 512}}))})
    convs = [
        Conversation("short", None, (Turn("hi", "hello"),)),
        Conversation("long", None, (Turn("x" * 4000, None),)),
    ]
    warnings = context_warnings([_target(url)], convs, 256)
    assert warnings == [
        "t-m: server context 512 tokens (llama.cpp /props n_ctx): 1 of 2 conversations have "
        "turns that would not fit (prompt + max_tokens, prompts estimated at 4 characters a "
        "token; 1 of 2 turns); --max-prompt-tokens 256 skips them"
    ]
    assert context_warnings([_target(url)], convs[:1], 256) == []
