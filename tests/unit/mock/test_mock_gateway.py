"""The mock's ``--api-prefix`` and ``--require-header``, and Azure's request parsing."""

from __future__ import annotations

import pytest

from loadprofile.mock.azure import for_deployment
from loadprofile.mock.chat_request import RequestError
from loadprofile.mock.server import _parse_args


def test_gateway_flags_parse() -> None:
    args = _parse_args(
        [
            "--api-prefix",
            "/v1beta/openai",
            "--require-header",
            "X-Key: s e",
            "--require-header",
            "X-T:1",
        ]
    )
    assert args.api_prefix == "/v1beta/openai"
    assert args.required_headers == (("X-Key", "s e"), ("X-T", "1"))
    assert _parse_args([]).api_prefix == "/v1"


@pytest.mark.parametrize(
    "argv",
    [
        ["--api-prefix", "v1"],
        ["--api-prefix", "/v1/"],
        ["--require-header", "no-colon"],
        ["--require-header", "X Y: v"],
    ],
)
def test_bad_gateway_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _parse_args(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_azure_takes_the_model_from_the_deployment() -> None:
    parse = for_deployment("dep").parse
    request = parse({"model": "ignored", "messages": [{"role": "user", "content": "hi"}]}, {"dep"})
    assert request.model == "dep"
    with pytest.raises(RequestError) as info:
        parse({"messages": [{"role": "user", "content": "hi"}]}, {"other"})
    assert info.value.status == 404
