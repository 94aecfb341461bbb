"""Grounding signals: replies naming product-like entities found nowhere they could come from.

Given a catalogue of known entities (``--entities FILE``: one name per line, or a JSON list)
and the prompt's own context, a reply is flagged when it names something that looks like a
product (a brand with a model code such as "Zorvex X200", a CamelCase name, several
capitalised words mid-sentence) that appears in neither. **A signal, not a verdict**: the
heuristic misses entities written in lower case and flags real ones the catalogue lacks; the
rate is for comparing models on the same prompts, and the examples are for a person to read.
Pure: no I/O but reading the catalogue.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from loadprofile.errors import ConfigError

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*|[.!?]")
_MAX_WORDS = 4


def load_catalogue(path: Path) -> tuple[str, ...]:
    """Entity names from a text file (one per line, # comments) or a JSON list of strings."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--entities {path}: cannot read it: {exc.strerror}") from None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"--entities {path}: not a JSON list: {exc}") from None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"--entities {path}: a JSON catalogue is a list of strings")
        names = [i.strip() for i in items]
    else:
        names = [line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")]
    names = [n for n in names if n]
    if not names:
        raise ConfigError(f"--entities {path}: no entity names in it")
    return tuple(names)


def _name_like(word: str) -> bool:
    return not word.islower() and word not in ".!?"


#: Words that go on a product name after its model code ("Galaxy S24 Ultra", "X200 Pro").
_CODE_SUFFIXES = frozenset(
    {"pro", "max", "ultra", "plus", "mini", "lite", "air", "se", "xl", "neo", "edge", "fold"}
)


#: Sentence openers that are not a brand before a model code ("The X200 is ...").
_OPENER_WORDS = (
    "the a an this that these those our your my its their each every some any no one try buy "
    "get see use with for and but or if model version type series item product part"
)
_OPENERS = frozenset(_OPENER_WORDS.split())


def _coded(word: str) -> bool:
    return any(c.isdigit() for c in word) and any(c.isalpha() for c in word)


def _continues_code(word: str) -> bool:
    return _coded(word) or word.lower() in _CODE_SUFFIXES


def _strong(word: str) -> bool:
    """A model code (letters and digits) or a CamelCase word: product-like on its own."""
    has_digit = any(c.isdigit() for c in word)
    return (has_digit and any(c.isalpha() for c in word)) or (
        word[:1].isupper() and any(c.isupper() for c in word[1:]) and not word.isupper()
    )


def candidates(text: str) -> list[str]:
    """Product-like names in a reply: runs of up to four capitalised or coded words that
    hold a model code or CamelCase word, or are at least two words long and do not open a
    sentence (sentence openers and single capitalised words are too common to flag)."""
    words = _WORD.findall(text)
    found: list[str] = []
    i = 0
    while i < len(words):
        if not _name_like(words[i]):
            i += 1
            continue
        j = i
        while j < len(words) and j - i < _MAX_WORDS and _name_like(words[j]):
            if j > i and _coded(words[j - 1]) and not _continues_code(words[j]):
                break  # "Zorvex X975 Another": a name ends at its model code
            j += 1
        run = words[i:j]
        opens_sentence = i == 0 or words[i - 1] in ".!?"
        brand = len(run) > 1 and _coded(run[1]) and run[0].lower() not in _OPENERS
        if opens_sentence and len(run) > 1 and not _strong(run[0]) and not brand:
            run, opens_sentence = run[1:], False  # "The UltraWidget": the opener is not a name
        if any(_strong(w) for w in run) or (len(run) >= 2 and not opens_sentence):
            found.append(" ".join(run))
        i = j
    return found


class Grounding:
    """Checks replies against one catalogue (lower-cased once)."""

    def __init__(self, catalogue: tuple[str, ...]) -> None:
        self._known = [name.lower() for name in catalogue]

    def ungrounded(self, reply: str, context: str) -> list[str]:
        """The reply's product-like names found neither in the catalogue nor in the prompt's
        context (case-insensitive; a name inside a catalogue entry or the other way round
        counts as found)."""
        seen = context.lower()
        out = []
        for name in candidates(reply):
            low = name.lower()
            if low in seen or any(low in k or k in low for k in self._known):
                continue
            if name not in out:
                out.append(name)
        return out
