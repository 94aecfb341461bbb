"""Plausible English-ish reply text for the mock, built from a tiny sentence grammar.

Replies that read like prose (capitals, commas, full stops) make reports and recorded
outputs look like real ones; a grammar of word classes keeps that cheap and seedable.
Every word is a single `\\w+` token and every mark a single token, so the mock's
tokenizer counts exactly the tokens that were streamed.
"""

from __future__ import annotations

import random

_WORDS: dict[str, tuple[str, ...]] = {
    "D": ("the", "a", "each", "every", "this", "that", "our", "one", "another", "the"),
    "A": (
        "small",
        "large",
        "steady",
        "careful",
        "simple",
        "quiet",
        "shared",
        "early",
        "final",
        "common",
        "useful",
        "clear",
        "recent",
        "local",
        "slow",
        "rapid",
        "stable",
        "typical",
        "hidden",
        "whole",
        "second",
        "modest",
        "broad",
        "narrow",
        "formal",
        "practical",
    ),
    "N": (
        "system",
        "model",
        "request",
        "answer",
        "user",
        "question",
        "result",
        "method",
        "team",
        "process",
        "record",
        "window",
        "server",
        "message",
        "report",
        "pattern",
        "signal",
        "market",
        "garden",
        "river",
        "village",
        "library",
        "engine",
        "budget",
        "journey",
        "decision",
        "document",
        "network",
        "season",
        "kitchen",
        "project",
        "idea",
        "change",
        "detail",
        "reader",
        "teacher",
        "letter",
        "bridge",
        "method",
        "example",
    ),
    "V": (
        "follows",
        "improves",
        "describes",
        "shapes",
        "supports",
        "explains",
        "changes",
        "reaches",
        "reflects",
        "measures",
        "holds",
        "needs",
        "finds",
        "builds",
        "keeps",
        "shows",
        "limits",
        "covers",
        "turns",
        "meets",
        "moves",
        "carries",
        "opens",
        "joins",
    ),
    "P": (
        "in",
        "on",
        "with",
        "for",
        "from",
        "under",
        "after",
        "before",
        "across",
        "through",
        "near",
        "behind",
        "beyond",
        "without",
        "during",
    ),
    "R": (
        "often",
        "rarely",
        "quietly",
        "quickly",
        "usually",
        "clearly",
        "slowly",
        "simply",
        "mostly",
        "probably",
        "already",
        "still",
    ),
    "C": (
        "However",
        "In practice",
        "As a result",
        "Over time",
        "For example",
        "In short",
        "At first",
        "Even so",
        "In most cases",
        "By contrast",
    ),
    "J": ("and", "but", "while", "so", "because", "although"),
}

_PATTERNS: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in (
        "D A N V D N P D N .",
        "D N R V D A N .",
        "C , D N V D N .",
        "P D A N , D N V D N P D N .",
        "D N V D N , J D N R V D A N .",
        "D A N V P D N .",
        "C , D A N R V D N , J D N V D N .",
        "D N P D N V D A N P D N .",
    )
)


def _sentence(rng: random.Random) -> list[str]:
    """One sentence as tokens: words and separate punctuation marks, first word capitalized."""
    out: list[str] = []
    for slot in rng.choice(_PATTERNS):
        if slot in (",", "."):
            out.append(slot)
        else:
            out.extend(rng.choice(_WORDS[slot]).split())
    out[0] = out[0].capitalize()
    return out


def _as_chunks(tokens: list[str]) -> tuple[str, ...]:
    """Chunk texts of a sentence inside a reply: words get a leading space, marks do not."""
    return tuple(t if t in (",", ".") else " " + t for t in tokens)


# Sentences are drawn from a fixed bank built once: picking ~n/11 sentences per request is
# far cheaper than ~n word draws, which keeps bursts of arrivals from delaying due writes.
_BANK_RNG = random.Random(20240601)
_BANK: tuple[tuple[str, ...], ...] = tuple(_as_chunks(_sentence(_BANK_RNG)) for _ in range(4096))


def reply_chunks(rng: random.Random, n: int, complete: bool) -> list[str]:
    """The `delta.content` of `n` chunks of prose, one token each: the first without a
    leading space; when `complete` (the reply stopped by itself) ending on a full stop."""
    out: list[str] = []
    bank, size = _BANK, len(_BANK)
    while len(out) < n:
        out.extend(bank[int(rng.random() * size)])
    del out[n:]
    out[0] = out[0].lstrip()
    # Never end on ", ." : only a word may be turned into the closing full stop.
    if complete and n >= 2 and out[-1] != "." and out[-2] not in (",", "."):
        out[-1] = "."
    return out


def phrase(rng: random.Random, words: int) -> list[str]:
    """A lower-case noun phrase of 1 to 3 words ("river", "quiet river", "the quiet
    river"), one token each, for short strings such as the items of a JSON reply."""
    slots = ("N",) if words == 1 else ("A", "N") if words == 2 else ("D", "A", "N")
    out: list[str] = []
    for slot in slots:
        out.extend(rng.choice(_WORDS[slot]).split())
    return out
