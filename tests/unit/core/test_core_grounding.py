"""Grounding signals: product-like names in replies, against a catalogue and the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadprofile.errors import ConfigError
from loadprofile.quality.grounding import Grounding, candidates, load_catalogue


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Try the Zorvex X200 for that.", ["Zorvex X200"]),
        ("The UltraWidget is sold out.", ["UltraWidget"]),
        ("We stock the Acme Turbo Blender and more.", ["Acme Turbo Blender"]),
        ("Each record shows another answer. In practice, it holds.", []),
        ("Paris is nice. I like Python.", []),  # single capitalised words are too common
        ("Model GT-500 ships in May. Ask Acme Turbo.", ["GT-500", "Acme Turbo"]),
        # a name ends at its model code, unless a suffix such as Ultra or Pro goes on
        ("see the Zorvex X975 Another word", ["Zorvex X975"]),
        ("I got a Galaxy S24 Ultra today.", ["Galaxy S24 Ultra"]),
        ("Try the Kestova Q1 Pro Max now", ["Kestova Q1 Pro Max"]),
        ("Kestova X332 is new. The X200 is old.", ["Kestova X332", "X200"]),
    ],
)
def test_product_like_names(text: str, found: list[str]) -> None:
    assert candidates(text) == found


def test_names_in_the_catalogue_or_the_prompt_are_grounded() -> None:
    check = Grounding(("Acme Turbo Blender", "UltraWidget Pro"))
    reply = (
        "Compare the Acme Turbo Blender, the UltraWidget and the Zorvex X200 with the Kestova Q1."
    )
    assert check.ungrounded(reply, "Is the Kestova Q1 any good?") == ["Zorvex X200"]
    assert check.ungrounded("Nothing named here.", "") == []


def test_catalogue_files(tmp_path: Path) -> None:
    lines = tmp_path / "c.txt"
    lines.write_text("# products\nAcme Turbo Blender\n\nUltraWidget Pro\n")
    assert load_catalogue(lines) == ("Acme Turbo Blender", "UltraWidget Pro")
    listed = tmp_path / "c.json"
    listed.write_text('["Zorvex X200"]')
    assert load_catalogue(listed) == ("Zorvex X200",)
    for content, reason in [
        ("# nothing\n", "no entity names"),
        ("[1, 2]", "list of strings"),
        ("[oops", "not a JSON list"),
    ]:
        bad = tmp_path / "bad.txt"
        bad.write_text(content)
        with pytest.raises(ConfigError, match=reason):
            load_catalogue(bad)
    with pytest.raises(ConfigError, match="cannot read it"):
        load_catalogue(tmp_path / "missing.txt")
