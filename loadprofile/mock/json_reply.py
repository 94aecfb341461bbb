"""JSON replies of `content = "json"` profiles: one object, streamed token by token.

A structured-output reply has the shape

    {"answer": "<a prose sentence>", "items": ["<phrase>", ...], "confidence": 0.83}

laid out as `json.dumps` does (", " and ": " separators), cut down to `{"answer": ...}`
when the reply is too short for the other keys. Each chunk is one token by the mock's
tokenizer (a word, a number or one punctuation mark, with the space before it), so a reply
of n chunks counts n tokens, as prose replies do, and the answer sentence takes whatever
length the structure leaves: the object has exactly the length the plan drew.
"""

from __future__ import annotations

import random

from loadprofile.mock.profiles import JSON_MIN_TOKENS
from loadprofile.mock.prose import phrase, reply_chunks

#: Replies of at least these many tokens carry `confidence`, and then also `items`.
_WITH_CONFIDENCE = JSON_MIN_TOKENS + 8
_WITH_ITEMS = _WITH_CONFIDENCE + 7
_MAX_ITEMS = 8
#: Two digits not ending in 0, so that the text is what `json.dumps` writes for it.
_CONFIDENCE = tuple(str(v) for v in range(51, 100) if v % 10)
#: Where the skeleton holds the answer's tokens until their number is known.
_ANSWER = "\x00answer"

#: How an invalid reply is broken; each keeps the reply's length in tokens.
INVALID_KINDS = ("missing_brace", "trailing_comma")


def _key(name: str, first: bool = False) -> list[str]:
    """`{"name":` for the first key, `, "name":` for the others."""
    return ["{", '"', name, '"', ":"] if first else [",", ' "', name, '"', ":"]


def _items(rng: random.Random, budget: int) -> list[str]:
    """Tokens of the `items` list's elements, at most `budget` of them (possibly none)."""
    out: list[str] = []
    for _ in range(_MAX_ITEMS):
        words = rng.randint(1, 3)
        cost = words + 2 + (1 if out else 0)
        if len(out) + cost > budget:
            break
        first, *rest = phrase(rng, words)
        out += ([",", ' "'] if out else ['"']) + [first] + [" " + w for w in rest] + ['"']
    return out


def json_reply_chunks(rng: random.Random, n: int, invalid: bool) -> list[str]:
    """The chunks of a JSON reply of `n` >= JSON_MIN_TOKENS tokens, all drawn from `rng`.

    Their text is one valid JSON object, or, when `invalid`, one broken in a seeded way:
    its closing brace left out, or a trailing comma before a closing `}` or `]`.
    """
    if n < JSON_MIN_TOKENS:
        raise ValueError(f"a JSON reply needs at least {JSON_MIN_TOKENS} tokens, not {n}")
    skeleton = [*_key("answer", first=True), ' "', _ANSWER, '"']
    if n >= _WITH_ITEMS:
        # About a third of what the structure leaves goes to the items, the rest to the
        # answer; the 23 tokens are those of the object with an empty list and answer.
        items = _items(rng, (n - (_WITH_ITEMS - 1)) // 3)
        skeleton += [*_key("items"), " [", *items, "]"]
    if n >= _WITH_CONFIDENCE:
        skeleton += [*_key("confidence"), " 0", ".", rng.choice(_CONFIDENCE)]
    skeleton.append("}")
    if invalid:
        _break(rng, skeleton, n)
    answer = reply_chunks(rng, n - (len(skeleton) - 1), complete=True)
    at = skeleton.index(_ANSWER)
    skeleton[at : at + 1] = answer
    return skeleton


def _break(rng: random.Random, skeleton: list[str], n: int) -> None:
    """Make the skeleton invalid JSON in place, leaving the answer at least one token."""
    kind = rng.choice(INVALID_KINDS)
    room = n - len(skeleton)  # the answer's tokens beyond its first
    if kind == "trailing_comma" and room >= 1:
        closers = [i for i, t in enumerate(skeleton) if t in ("}", "]")]
        # `[,]` would be a different defect than a trailing comma: only after an element.
        closers = [i for i in closers if skeleton[i - 1] != " ["]
        skeleton.insert(rng.choice(closers), ",")
    else:
        skeleton.pop()  # the closing brace
