"""A negative value (``-t -5s``) reaches our checks, which say in one line what is wrong,
instead of argparse's "expected one argument"."""

from __future__ import annotations

import pytest

from loadprofile.cli import _negative_values_attached, main


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "-t", "-5s"], "bad run time '-5s'"),
        (["run", "-u", "-3"], "users must be at least 1, got -3"),
        (["run", "--rate", "-2"], "rate must be a positive number"),
    ],
)
def test_negative_values_get_our_one_line_error(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_a_negative_value_of_the_wrong_type_names_the_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--max-tokens", "-.5"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "expected one argument" not in err
    assert "argument --max-tokens: invalid int value: '-.5'" in err and err.count("\n") == 1


def test_only_values_after_a_flag_are_attached() -> None:
    attach = _negative_values_attached
    assert attach(["run", "-t", "-5s", "-u", "3"]) == ["run", "-t=-5s", "-u", "3"]
    assert attach(["run", "--out=x", "-1"]) == ["run", "--out=x", "-1"]
    assert attach(["run", "--unique-prefix", "-u", "-2"])[-1] == "-u=-2"
