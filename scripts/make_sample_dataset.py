#!/usr/bin/env python3
"""Generate the sample conversations packaged with loadprofile.

Deterministic (fixed seed, stdlib `random` only) and synthetic: every conversation is built
from the word banks and templates in this file, so the sample needs no network and carries no
third-party text. Each conversation is seeded from (seed, index) alone, so a smaller --count
yields a prefix of the full sample.

The mix is meant to look like real chat traffic to a load tester: mostly short exchanges,
some long pasted documents and code, replies from one sentence to several paragraphs.

Usage: python scripts/make_sample_dataset.py [--out PATH] [--count N] [--seed S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from random import Random
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")
Pair = tuple[str, str]
Chat = tuple[str | None, list[Pair]]

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "loadprofile/data/sample_conversations.jsonl"
DEFAULT_COUNT = 256
DEFAULT_SEED = 20240611
SYSTEM_SHARE = 0.33
# Most chats are short; a tail of long ones (weights, not probabilities).
TURN_WEIGHTS = [(1, 24), (2, 25), (3, 20), (4, 14), (5, 10), (6, 7)]

# fmt: off
FIRST = [
    "Maya", "Liam", "Priya", "Jonas", "Amara", "Diego", "Hannah", "Kenji", "Fatima", "Oliver",
    "Sofia", "Mateo", "Aisha", "Lukas", "Chloe", "Ravi", "Elena", "Tomás", "Ingrid", "Kwame",
    "Yuki", "Nadia", "Samuel", "Leila", "Marco", "Zoe", "Arjun", "Clara", "Emeka", "Freya",
]
LAST = [
    "Okafor", "Lindqvist", "Patel", "Moreau", "Tanaka", "García", "Novak", "Schmidt", "Haddad",
    "Kowalski", "Brennan", "Silva", "Nakamura", "Osei", "Fischer", "Rossi", "Dubois", "Mensah",
    "Ivanova", "Carter",
]
# fmt: on
TEAMS = ["platform", "payments", "design", "data", "mobile", "support", "sales", "legal"]
# fmt: off
PROJECTS = [
    "Atlas", "Beacon", "Cobalt", "Driftwood", "Ember", "Fjord", "Granite", "Juniper", "Kestrel",
    "Lantern",
]
# fmt: on


# --- small helpers -------------------------------------------------------------------------


def weighted(rng: Random, table: Sequence[tuple[T, int]]) -> T:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def workday(d: dt.date) -> dt.date:
    """The date itself, or the Monday after a weekend: meetings and deadlines fall on weekdays."""
    return d + dt.timedelta(days=(7 - d.weekday()) if d.weekday() >= 5 else 0)


def some_date(rng: Random, start: str = "2024-01-08", span: int = 330) -> dt.date:
    return workday(dt.date.fromisoformat(start) + dt.timedelta(days=rng.randrange(span)))


def long_date(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"


def short_date(d: dt.date) -> str:
    return f"{d:%A} {d.day} {d:%B}"


def numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


def bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def money(amount: float, symbol: str = "€") -> str:
    return f"{symbol}{amount:,.2f}"


def and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def with_lead(lead: str, text: str) -> str:
    """'Also — ' + 'What is...' reads 'Also — what is...'; names and acronyms keep their case."""
    word = text.split()[0]
    if lead and not word.isupper() and word not in FIRST and not word.startswith("I'"):
        text = text[0].lower() + text[1:]
    return lead + text


def casual(rng: Random, text: str) -> str:
    """Vary how a short request is typed, so that few conversations share a first prompt."""
    lead = rng.choice(["", "", "", "Hi! ", "Hey, ", "Quick question: ", "Hello. ", "hi, "])
    tail = rng.choice(["", "", "", " Thanks!", " Thanks in advance.", " Keep it simple."])
    return with_lead(lead, text) + tail


def maybe_system(rng: Random, options: Sequence[str]) -> str | None:
    return rng.choice(options) if rng.random() < SYSTEM_SHARE else None


# --- generic follow-ups any domain can use -------------------------------------------------

# fmt: off
QUICK_QA = [
    ("How many tablespoons are in a cup?",
     "There are 16 tablespoons in a US cup (about 237 ml). A metric cup is 250 ml, which is "
     "closer to 17 tablespoons."),
    ("What's the difference between weather and climate?",
     "Weather is what the atmosphere is doing right now or over the next few days: rain, "
     "wind, temperature. Climate is the long-term pattern of that weather in a place, usually "
     "averaged over 30 years or more. A cold week says little about the climate; a trend over "
     "decades does."),
    ("Is a tomato a fruit or a vegetable?",
     "Botanically it's a fruit, because it develops from the flower and contains the seeds. In "
     "the kitchen it's treated as a vegetable because it's savoury, so both answers are right "
     "depending on who's asking."),
    ("How long should I boil an egg for a runny yolk?",
     "Lower a large egg straight from the fridge into boiling water and cook it for about 6 "
     "minutes, then put it in cold water for a minute to stop the cooking. Go 7 minutes for a "
     "jammy yolk and 9–10 for hard-boiled."),
    ("How do I convert Celsius to Fahrenheit?",
     "Multiply by 9/5 and add 32: F = C × 9/5 + 32. For example, 20 °C is 20 × 1.8 + 32 = "
     "68 °F. A quick mental shortcut is to double it and add 30, which is close enough for "
     "weather."),
    ("What's the capital of Australia?",
     "Canberra. It was purpose-built as a compromise between Sydney and Melbourne, which both "
     "wanted to be the capital."),
    ("How far is a marathon?", "A marathon is 42.195 km, or 26.2 miles."),
    ("What does RSVP stand for?",
     "It stands for the French \"répondez s'il vous plaît\", meaning \"please reply\". On an "
     "invitation it means the host wants to know whether you're coming."),
    ("What's the difference between 'affect' and 'effect'?",
     "Usually \"affect\" is the verb and \"effect\" is the noun: the weather *affects* my mood; "
     "the weather has an *effect* on my mood. The exception is \"to effect change\", where "
     "\"effect\" is a verb meaning to bring something about."),
    ("How many hours ahead is Tokyo from London?",
     "Tokyo is 9 hours ahead of London in the UK winter and 8 hours ahead during British Summer "
     "Time, because Japan doesn't change its clocks."),
    ("Why do onions make you cry?",
     "Cutting an onion breaks its cells and releases enzymes that produce a sulfur compound "
     "which drifts up and irritates your eyes, so they water to flush it out. A sharp knife "
     "(fewer crushed cells) and a chilled onion both help."),
    ("What does HTTP status 429 mean?",
     "429 Too Many Requests: the server is rate-limiting you. Slow down and retry later; if the "
     "response has a `Retry-After` header, wait at least that long before the next attempt."),
    ("How many minutes of exercise a week are recommended for adults?",
     "The WHO recommends at least 150–300 minutes of moderate activity (like brisk walking) or "
     "75–150 minutes of vigorous activity a week, plus muscle-strengthening exercises on two or "
     "more days."),
    ("What's a simple habit that helps with sleep?",
     "Get up at the same time every day, including weekends. A fixed wake-up time anchors your "
     "body clock more than anything else, and going to bed at a regular time tends to follow. "
     "Daylight in the morning and no screens in bed help too."),
    ("What is compound interest, in one sentence?",
     "Compound interest is interest calculated on both the money you put in and the interest it "
     "has already earned, so the balance grows faster over time."),
    ("Why does water boil at a lower temperature in the mountains?",
     "Air pressure is lower at altitude, so water molecules escape into vapour more easily and "
     "the water boils sooner. At about 3,000 m it boils at roughly 90 °C, which is why pasta "
     "and eggs take longer to cook up there."),
]
# fmt: on


def quick_question(rng: Random, pairs: list[Pair]) -> Pair:
    asked = {p[0] for p in pairs}
    q, a = rng.choice([qa for qa in QUICK_QA if not any(qa[0] in u for u in asked)])
    lead = rng.choice(["Unrelated, but quick question: ", "Another quick one: ", "Also — ", ""])
    return with_lead(lead, q), a


def thanks(rng: Random, pairs: list[Pair]) -> Pair:
    ask = rng.choice(
        [
            "Thanks, that's really helpful!",
            "Perfect, thank you.",
            "great, thanks",
            "That's all I needed, cheers.",
        ]
    )
    reply = rng.choice(
        [
            "You're welcome! Let me know if anything else comes up.",
            "Glad it helped. Good luck!",
            "Happy to help — have a good day.",
            "Any time. If you run into problems, just ask.",
        ]
    )
    return ask, reply


FollowUp = Callable[[Random, list[Pair]], Pair]


def fill_turns(rng: Random, pairs: list[Pair], followups: list[FollowUp], turns: int) -> list[Pair]:
    """Append domain follow-ups (in their given order), then generic ones, up to `turns`."""
    keep = sorted(rng.sample(range(len(followups)), min(len(followups), turns - len(pairs))))
    for i in keep:
        pairs.append(followups[i](rng, pairs))
    while len(pairs) < turns:
        last = len(pairs) == turns - 1
        if last and rng.random() < 0.4:
            pairs.append(thanks(rng, pairs))
        else:
            pairs.append(quick_question(rng, pairs))
    return pairs


# --- customer support for the (fictional) Halcyon Home catalogue ---------------------------


class Issue(NamedTuple):
    text: str  # completes "my kettle ..."
    short: str  # completes "it still ..."
    steps: tuple[str, ...]


class Product(NamedTuple):
    name: str
    price: float
    serial_at: str
    issues: tuple[Issue, ...]


# fmt: off
PRODUCTS = [
    Product("Aurora K2 smart kettle", 89, "on the underside of the base", (
        Issue("won't connect to the Halcyon app", "won't connect", (
            "Make sure your phone is on the 2.4 GHz Wi-Fi band — the K2 can't join 5 GHz "
            "networks.",
            "Hold the Keep Warm button for 10 seconds until the ring light flashes blue; that "
            "resets its network settings.",
            "In the app, tap Add Device and keep the phone within a couple of metres of the "
            "kettle while it pairs.")),
        Issue("shows error E4 and stops heating", "shows E4", (
            "E4 is the dry-boil protection, so first unplug the base for 30 seconds and fill "
            "the kettle above the MIN line.",
            "Check that the bottom of the kettle and the contacts on the base are dry and free "
            "of limescale.",
            "If you live in a hard-water area, descale it with a 1:1 mix of water and white "
            "vinegar, then boil and discard clean water twice.")),
        Issue("keeps beeping after it has boiled", "keeps beeping", (
            "The beeping is the Keep Warm reminder: turn it off in the app under Settings › "
            "Sounds.",
            "If it beeps with Keep Warm off, update the firmware from Settings › About.")),
    )),
    Product("Tidy T7 robot vacuum", 349, "under the dust bin", (
        Issue("stops after a few minutes and says 'check main brush'",
              "stops after a few minutes", (
            "Turn it over and take out the main brush by pressing the two yellow tabs.",
            "Cut away any hair wrapped around the brush and clean the brush ends and bearings.",
            "Check that the wheels turn freely, then refit the brush until it clicks.")),
        Issue("won't go back to its dock", "won't dock", (
            "Give the dock at least 0.5 m of space on each side and 1.5 m in front.",
            "Wipe the charging contacts on the dock and under the robot with a dry cloth.",
            "Keep the dock away from mirrors and glossy skirting boards, which confuse the "
            "docking sensors.")),
        Issue("only maps part of the flat", "only maps half the flat", (
            "Open all the doors and start a new mapping run from the dock.",
            "Check the door thresholds: the T7 can't climb anything higher than 2 cm.",
            "Delete the old map under Map › Manage so it doesn't merge the new run into it.")),
    )),
    Product("Lumen L5 desk lamp", 64, "on the underside of the weighted foot", (
        Issue("flickers at low brightness", "flickers", (
            "Use the original 12 V adapter; other adapters often can't hold a steady voltage "
            "when dimmed.",
            "Update the firmware in the app (Device › About › Check for updates) — version 2.3 "
            "fixed a dimming flicker.",
            "Try a wall socket that isn't on a dimmer circuit.")),
        Issue("doesn't respond to the touch strip", "ignores the touch strip", (
            "Clean the strip with a dry microfibre cloth; hand cream or moisture stops it "
            "registering touches.",
            "Unplug the lamp for a minute and don't touch the strip while it powers up, so the "
            "sensor can recalibrate.")),
    )),
    Product("Brisk B4 blender", 129, "on the bottom of the motor base", (
        Issue("stops mid-blend and the red light blinks", "cuts out", (
            "The blinking red light is the overload protection: let the motor cool for 20 "
            "minutes.",
            "Put the liquid in first and blend thick mixtures in short bursts.",
            "Make sure the jar is locked on; it should click on both sides.")),
        Issue("leaks from the bottom of the jar", "leaks", (
            "Unscrew the blade assembly and check the rubber sealing ring sits evenly in its "
            "groove.",
            "If the ring is cracked or stretched it needs replacing (part BR-114).",
            "Tighten the blade base firmly by hand, without tools.")),
    )),
    Product("Nimbus N2 air purifier", 199, "on the back, behind the filter cover", (
        Issue("still shows the filter warning after I changed the filter", "shows the warning", (
            "Hold the Filter button for 5 seconds until it beeps — the counter doesn't reset by "
            "itself.",
            "Check that the plastic wrapping is off the new filter and the pull tab faces out.",
            "In the app, open Maintenance › Filter and tap Reset.")),
        Issue("shows the same air quality reading all the time", "shows the same reading", (
            "The particle sensor is behind the small grille on the left side; vacuum it gently "
            "with a brush attachment.",
            "Keep the purifier at least 30 cm from walls and curtains.",
            "Turn it off and on again and give it 3 minutes to settle.")),
    )),
    Product("Pulse P1 fitness band", 79, "in the app under Device › About", (
        Issue("needs charging every day", "drains in a day", (
            "Turn off the always-on display and continuous heart-rate mode under Settings › "
            "Battery.",
            "Limit which apps can send notifications to the band; every vibration costs power.",
            "Update to firmware 4.1, which fixed GPS searching in the background.")),
        Issue("has stopped syncing my steps", "won't sync", (
            "Check that Bluetooth and background refresh are enabled for the Pulse app.",
            "Remove the band from your phone's Bluetooth list and pair it again from inside the "
            "Pulse app.",
            "Keep the app open for a minute after pairing; the band stores 7 days of data and "
            "needs time to upload it.")),
    )),
    Product("Harbor H9 coffee grinder", 149, "on the underside", (
        Issue("grinds unevenly, with lots of fine powder", "grinds unevenly", (
            "Remove the upper burr (turn it anticlockwise past setting 1) and brush out old "
            "grounds and oils.",
            "Check the burr sits flat when you refit it; a tilted burr gives uneven grounds.",
            "Grind in short bursts on the espresso settings so the burrs don't heat up.")),
        Issue("hums but the burrs don't turn", "just hums", (
            "Unplug it and look for a stuck bean or a small stone between the burrs.",
            "Set it to the coarsest setting and try again for a couple of seconds.",
            "If it still only hums, stop using it: running a jammed motor can burn it out.")),
    )),
    Product("Chime S3 smart speaker", 119, "on the bottom, next to the reset hole", (
        Issue("drops off the Wi-Fi every night", "drops off the Wi-Fi", (
            "Check whether your router restarts itself or turns Wi-Fi off on a schedule at night.",
            "Give the speaker a fixed IP address in the router's DHCP settings.",
            "Update to firmware 1.9 or later, which reconnects properly after a router restart.")),
        Issue("doesn't hear the wake word from across the room", "doesn't hear me", (
            "Move it at least 20 cm away from walls and corners so the microphones aren't "
            "muffled.",
            "Retrain the wake word in the app under Voice › Wake word.",
            "Check that the microphone switch on the back isn't half engaged.")),
    )),
]
SUPPORT_SYSTEMS = [
    "You are the customer support assistant for Halcyon Home, a maker of small smart home "
    "appliances. Be friendly and concise. Products have a 2-year warranty and a 30-day return "
    "window. Never ask for card details.",
    "You are Hal, Halcyon Home's support assistant. Troubleshoot in short numbered steps and "
    "offer a replacement only after the customer has tried the basic steps.",
    "Customer support for Halcyon Home. Policies: 30-day returns with a full refund; 24-month "
    "warranty on defects; replacements ship within one business day. Keep answers under 150 "
    "words unless the customer asks for more detail.",
]
# fmt: on


class Ticket(NamedTuple):
    product: Product
    issue: Issue
    days: int  # since delivery
    order: str
    case: str


def owned_for(days: int) -> str:
    if days < 14:
        return f"{days} days"
    if days < 60:
        return f"{days // 7} weeks"
    if days < 365:
        return f"{days // 30} months"
    return "about a year" if days < 540 else "about two years"


def support_opening(rng: Random, t: Ticket) -> Pair:
    p, i = t.product.name, t.issue.text
    user = rng.choice(
        [
            f"Hi, my {p} {i}. I bought it {owned_for(t.days)} ago. What can I do?",
            f"Hello, order {t.order}: the {p} {i}. Can you help?",
            f"{p.split()[-1]} {i}",
            f"Hi there. I've had the {p} for {owned_for(t.days)} and now it {i}. I already tried "
            "turning it off and on again. Any ideas?",
            f"This is the second time I'm writing about this. My {p} {i} and honestly I'm getting "
            f"frustrated, it wasn't cheap. Order number is {t.order}.",
        ]
    )
    sorry = rng.choice(
        [
            "Sorry to hear that, let's get it sorted.",
            "Thanks for getting in touch, and sorry for the trouble.",
            f"I'm sorry your {p} is giving you trouble.",
            "That's annoying, sorry about that.",
        ]
    )
    close = rng.choice(
        [
            "If it still happens after that, let me know and I'll arrange a replacement.",
            "Let me know how it goes.",
            "Most of the time one of these fixes it. If not, reply here and we'll take it from "
            "there.",
        ]
    )
    return user, f"{sorry} Please try these steps:\n\n{numbered(t.issue.steps)}\n\n{close}"


def support_tried(rng: Random, t: Ticket) -> Pair:
    user = rng.choice(
        [
            f"I tried all of that and it still {t.issue.short}.",
            "Done all of those, no change.",
            f"Didn't help. It still {t.issue.short}, even after the reset.",
        ]
    )
    if t.days <= 730:
        reply = (
            "Thanks for trying those. That rules out the usual causes, so it looks like a "
            f"hardware fault. Your {t.product.name} is covered by our 2-year warranty, so we'll "
            f"replace it free of charge.\n\nI've opened case {t.case}. To complete it, reply to "
            "the confirmation email with:\n\n"
            + bullets(
                [
                    f"a photo of the serial number label ({t.product.serial_at})",
                    f"your order number ({t.order})",
                ]
            )
            + "\n\nWe'll send a prepaid return label as soon as we have them."
        )
    else:
        reply = (
            f"Thanks for trying those. Unfortunately your {t.product.name} is past the 2-year "
            "warranty, so a free replacement isn't possible. We can repair it for a flat fee of "
            f"{money(t.product.price * 0.3)}, or give you 25% off a new one with the code "
            f"LOYAL25. I've opened case {t.case}; just reply with which you'd prefer."
        )
    return user, reply


def support_refund(rng: Random, t: Ticket) -> Pair:
    user = rng.choice(
        [
            "Can I get a refund instead?",
            "I'd rather just have my money back.",
            "What are my options for a refund?",
        ]
    )
    if t.days <= 30:
        reply = (
            f"Yes. You're within the 30-day return window, so you can return the {t.product.name} "
            f"for a full refund of {money(t.product.price)}. Start the return from your order "
            f"page ({t.order}) and the refund reaches your card within 5 business days of the "
            "parcel arriving at our warehouse."
        )
    else:
        reply = (
            f"The 30-day return window has passed ({t.days} days since delivery), so I can't "
            "offer a refund. "
            + (
                "Under the warranty we'll replace it free of charge instead, and the replacement "
                "comes with its own 6-month guarantee."
                if t.days <= 730
                else "As it's also out of warranty, the best I can offer is the repair or the 25% "
                "discount on a new unit."
            )
        )
    return user, reply


def support_extra(rng: Random, t: Ticket, kind: int) -> Pair:
    if kind == 0:
        return (
            "Where do I find the serial number?",
            f"It's {t.product.serial_at}. It starts with HH and is 12 characters long.",
        )
    if kind == 1:
        return (
            "How long does a replacement usually take to arrive?",
            "Replacements ship within one business day once we have the photo, and usually "
            "arrive in 3–5 business days. You'll get a tracking link by email, and you can "
            "keep using the old one until the new one arrives.",
        )
    other = rng.choice([p for p in PRODUCTS if p is not t.product])
    return (
        f"Does the {other.name} work with the same app?",
        f"Yes, the {other.name} uses the same Halcyon app. Open the Devices tab, tap Add "
        "Device and follow the pairing steps; both devices can then be controlled from one "
        "account.",
    )


def support(rng: Random, turns: int) -> Chat:
    product = rng.choice(PRODUCTS)
    days = rng.choice([2, 5, 9, 12, 20, 26, 40, 75, 120, 200, 310, 400, 520, 690, 800, 950])
    t = Ticket(
        product,
        rng.choice(product.issues),
        days,
        f"HH-{rng.randrange(10**6, 10**7)}",
        f"HC-{rng.randrange(10**5, 10**6)}",
    )
    pairs = [support_opening(rng, t)]
    followups: list[FollowUp] = [
        lambda r, p: support_tried(r, t),
        lambda r, p: support_extra(r, t, 0),
        lambda r, p: support_refund(r, t),
        *([lambda r, p: support_extra(r, t, 1)] if t.days <= 730 else []),
        lambda r, p: support_extra(r, t, 2),
    ]
    return maybe_system(rng, SUPPORT_SYSTEMS), fill_turns(rng, pairs, followups, turns)


# --- coding help ---------------------------------------------------------------------------


class Task(NamedTuple):
    asks: tuple[str, ...]
    code: str
    explain: str
    complexity: str
    edge: str
    test: str


# fmt: off
TASKS = [
    Task(("Write a Python function that checks whether a string is a palindrome, ignoring "
          "punctuation and case.", "how do i check if a string is a palindrome in python"),
         'def is_palindrome(text: str) -> bool:\n'
         '    cleaned = [c.lower() for c in text if c.isalnum()]\n'
         '    return cleaned == cleaned[::-1]',
         "It keeps only letters and digits, lower-cased, then compares the list with its "
         "reverse (`[::-1]`). Comparing lists avoids building a second string.",
         "O(n) time and O(n) extra space for the cleaned copy. A two-pointer version can do "
         "it in O(1) space if memory matters.",
         "An empty string (or one with only punctuation) returns True, because an empty "
         "sequence reads the same both ways. If you want False there, check `if not cleaned`.",
         'def test_is_palindrome():\n'
         '    assert is_palindrome("A man, a plan, a canal: Panama")\n'
         '    assert not is_palindrome("hello")\n'
         '    assert is_palindrome("")'),
    Task(("Can you write a function to merge two sorted lists into one sorted list without "
          "calling sort()?", "I need to merge two already-sorted lists of ints efficiently."),
         'def merge_sorted(a: list[int], b: list[int]) -> list[int]:\n'
         '    result = []\n'
         '    i = j = 0\n'
         '    while i < len(a) and j < len(b):\n'
         '        if a[i] <= b[j]:\n'
         '            result.append(a[i])\n'
         '            i += 1\n'
         '        else:\n'
         '            result.append(b[j])\n'
         '            j += 1\n'
         '    result.extend(a[i:])\n'
         '    result.extend(b[j:])\n'
         '    return result',
         "Two indexes walk the lists in step, always taking the smaller head. When one list "
         "runs out, the rest of the other is already sorted and is appended as is. Using `<=` "
         "keeps the merge stable.",
         "O(n + m) time and O(n + m) space for the result; each element is looked at once.",
         "If either list is empty the loop never runs and the other list is copied unchanged, "
         "so empty inputs are fine.",
         'def test_merge_sorted():\n'
         '    assert merge_sorted([1, 4, 9], [2, 3, 10]) == [1, 2, 3, 4, 9, 10]\n'
         '    assert merge_sorted([], [5]) == [5]'),
    Task(("Write a function that splits a list into chunks of size n.",
          "python: chunk a list into batches of 100 for an API that takes at most 100 ids"),
         'def chunked(items: list, size: int) -> list[list]:\n'
         '    if size < 1:\n'
         '        raise ValueError("size must be at least 1")\n'
         '    return [items[i:i + size] for i in range(0, len(items), size)]',
         "`range(0, len(items), size)` gives the start of each chunk and slicing takes up to "
         "`size` items from there; the last chunk is simply shorter.",
         "O(n) time and O(n) space in total, since every item is copied into exactly one chunk.",
         "An empty list gives an empty list of chunks. A size below 1 raises, because it would "
         "otherwise loop forever or return nothing useful.",
         'def test_chunked():\n'
         '    assert chunked([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]\n'
         '    assert chunked([], 3) == []'),
    Task(("How do I flatten an arbitrarily nested list in Python?",
          "Write a generator that flattens nested lists like [1, [2, [3, 4]], 5]."),
         'def flatten(nested):\n'
         '    for item in nested:\n'
         '        if isinstance(item, (list, tuple)):\n'
         '            yield from flatten(item)\n'
         '        else:\n'
         '            yield item',
         "It walks the list and, whenever an item is itself a list or tuple, recurses into it "
         "with `yield from`; anything else is yielded as a leaf. Strings are deliberately not "
         "treated as nested, or each character would be split out.",
         "O(n) time over the total number of leaves, plus recursion depth equal to the deepest "
         "nesting.",
         "An empty list yields nothing. Very deep nesting (over ~1000 levels) will hit Python's "
         "recursion limit; use an explicit stack if your data can be that deep.",
         'def test_flatten():\n'
         '    assert list(flatten([1, [2, [3, 4]], 5])) == [1, 2, 3, 4, 5]\n'
         '    assert list(flatten([])) == []'),
    Task(("Write a function that returns the items that appear more than once in a list.",
          "find duplicates in a python list"),
         'def duplicates(items):\n'
         '    seen, dupes = set(), set()\n'
         '    for item in items:\n'
         '        if item in seen:\n'
         '            dupes.add(item)\n'
         '        seen.add(item)\n'
         '    return dupes',
         "`seen` remembers everything met so far; meeting an item a second time puts it in "
         "`dupes`. Sets make both checks constant time.",
         "O(n) time and O(n) space. The items must be hashable.",
         "An empty list returns an empty set. If you need the duplicates in first-seen order, "
         "use a dict instead of the `dupes` set.",
         'def test_duplicates():\n'
         '    assert duplicates([3, 1, 3, 2, 1]) == {1, 3}\n'
         '    assert duplicates([]) == set()'),
    Task(("I need a function that parses durations like '1h30m' or '45s' into seconds.",
          "Parse a duration string such as 2h15m10s into a number of seconds in Python."),
         'import re\n\n'
         '_UNITS = {"h": 3600, "m": 60, "s": 1}\n\n\n'
         'def parse_duration(text: str) -> int:\n'
         '    if not re.fullmatch(r"(?:\\d+[hms])+", text.strip()):\n'
         '        raise ValueError(f"bad duration: {text!r}")\n'
         '    return sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\\d+)([hms])", text))',
         "The first regular expression checks that the whole string is made of number-unit "
         "pairs, so typos raise instead of being ignored. The second finds each pair and the "
         "unit table turns it into seconds.",
         "O(n) in the length of the string; the regexes are linear here.",
         "An empty string raises ValueError, which is usually what you want for user input.",
         'def test_parse_duration():\n'
         '    assert parse_duration("1h30m") == 5400\n'
         '    assert parse_duration("45s") == 45'),
    Task(("Write a moving average function with a fixed window size.",
          "how to compute a rolling mean over a list without numpy"),
         'from collections import deque\n\n\n'
         'def moving_average(values, window):\n'
         '    buf, total, out = deque(), 0.0, []\n'
         '    for v in values:\n'
         '        buf.append(v)\n'
         '        total += v\n'
         '        if len(buf) > window:\n'
         '            total -= buf.popleft()\n'
         '        if len(buf) == window:\n'
         '            out.append(total / window)\n'
         '    return out',
         "It keeps a running total of the last `window` values in a deque: add the new value, "
         "drop the oldest once the window is full, and emit the mean each step.",
         "O(n) time regardless of the window size, and O(window) extra memory.",
         "If there are fewer values than the window it returns an empty list. Long runs of "
         "floats can drift slightly; recompute the total now and then if that matters.",
         'def test_moving_average():\n'
         '    assert moving_average([1, 2, 3, 4, 5], 3) == [2.0, 3.0, 4.0]\n'
         '    assert moving_average([1], 3) == []'),
]

CODE_QA = [
    ("What's the difference between `==` and `is` in Python?",
     "`==` compares values (it calls `__eq__`), while `is` checks whether two names point to "
     "the very same object. Use `is` only for singletons like `None`:\n\n```python\n"
     "a = [1, 2]\nb = [1, 2]\na == b   # True, same contents\na is b   # False, two lists\n"
     "x is None  # the idiomatic None check\n```"),
    ("How do I undo my last git commit but keep the changes?",
     "Use a soft reset:\n\n```\ngit reset --soft HEAD~1\n```\n\nThe commit disappears but its "
     "changes stay staged. If you've already pushed it, prefer `git revert HEAD`, which adds "
     "a new commit instead of rewriting shared history."),
    ("What does `if __name__ == \"__main__\":` do?",
     "It runs the block only when the file is executed directly (`python script.py`), not when "
     "it's imported as a module. That lets a file be both a reusable module and a script."),
    ("How do I pretty-print a JSON file from the command line?",
     "With Python: `python -m json.tool data.json`. If you have jq installed, `jq . data.json` "
     "does the same with colours and lets you filter, e.g. `jq '.items[0]' data.json`."),
    ("Why is 0.1 + 0.2 != 0.3 in Python?",
     "Floats are stored in binary, and 0.1 and 0.2 have no exact binary representation, so "
     "their sum is 0.30000000000000004. Compare floats with a tolerance, "
     "`math.isclose(a, b)`, or use `decimal.Decimal` for money."),
    ("How do I find which process is listening on port 8080 on Linux?",
     "`ss -ltnp 'sport = :8080'` shows the listening socket with the process name and PID "
     "(run it with sudo to see other users' processes). `lsof -i :8080` works too."),
    ("How do I read a huge file line by line in Python without loading it into memory?",
     "Iterate over the file object; it reads buffered chunks lazily:\n\n```python\n"
     "with open(\"big.log\", encoding=\"utf-8\") as f:\n    for line in f:\n"
     "        handle(line)\n```\n\nAvoid `f.read()` and `f.readlines()`, which load everything."),
    ("How do I get the current time in UTC in Python?",
     "```python\nfrom datetime import datetime, timezone\n\nnow = datetime.now(timezone.utc)\n"
     "```\n\nThis gives a timezone-aware datetime. Avoid `datetime.utcnow()`: it returns a "
     "naive value and is deprecated since Python 3.12."),
    ("When should I use a tuple instead of a list?",
     "Use a tuple for a fixed group of values whose positions mean something (a point `(x, y)`, "
     "a database row) and a list for a variable-length collection of similar items. Tuples are "
     "immutable, so they can be dict keys and set members."),
    ("What's the difference between git merge and git rebase?",
     "Both bring changes from one branch into another. `merge` keeps history as it happened "
     "and adds a merge commit; `rebase` replays your commits on top of the other branch, giving "
     "a straight line of history but rewriting your commits. Rebase your own local work; merge "
     "branches others already use."),
]
CODING_SYSTEMS = [
    "You are a senior software engineer helping a colleague. Prefer clear, idiomatic Python "
    "3.11. Put code in fenced blocks and explain trade-offs briefly.",
    "You are a patient programming tutor. Explain the reasoning, not just the answer, and keep "
    "examples small.",
    "You are a coding assistant for an internal platform team. Be concise and include tests "
    "when you write functions.",
]
# fmt: on


def py(code: str) -> str:
    return f"```python\n{code}\n```"


def coding_task(rng: Random, turns: int) -> list[Pair]:
    task = rng.choice(TASKS)
    lead = rng.choice(
        ["Here's a straightforward version:", "Sure:", "Here you go:", "This does it in one pass:"]
    )
    opening = (casual(rng, rng.choice(task.asks)), f"{lead}\n\n{py(task.code)}\n\n{task.explain}")
    followups: list[FollowUp] = [
        lambda r, p: (
            r.choice(
                [
                    "Does it handle empty input?",
                    "What happens with an empty list?"
                    if "list" in task.code
                    else "What about empty input?",
                ]
            ),
            task.edge,
        ),
        lambda r, p: (
            r.choice(["What's the time complexity?", "Is this efficient for big inputs?"]),
            task.complexity,
        ),
        lambda r, p: (
            r.choice(["Can you add a couple of pytest tests?", "How would I test it?"]),
            "A couple of pytest cases covering the normal path and the edge case:"
            f"\n\n{py(task.test)}\n\nRun them with `pytest -q`.",
        ),
    ]
    return fill_turns(rng, [opening], followups, turns)


def coding_qa(rng: Random, turns: int) -> list[Pair]:
    chosen = rng.sample(CODE_QA, min(turns, len(CODE_QA)))
    pairs = [(casual(rng, chosen[0][0]), chosen[0][1])]
    for q, a in chosen[1:turns]:
        pairs.append((with_lead(rng.choice(["", "Another one: ", "And ", "Thanks. "]), q), a))
    return pairs


def coding(rng: Random, turns: int) -> Chat:
    kind = rng.random()
    if kind < 0.35:
        pairs = code_review(rng, turns)
    elif kind < 0.7:
        pairs = coding_task(rng, turns)
    else:
        pairs = coding_qa(rng, turns)
    return maybe_system(rng, CODING_SYSTEMS), pairs


class Snippet(NamedTuple):
    code: str  # NOUN is replaced by the module's domain noun
    severity: int  # 0 = fine; higher is worse
    title: str
    problem: str
    fixed: str


# fmt: off
SNIPPETS = [
    Snippet('def load_config(path):\n    try:\n        f = open(path)\n'
            '        data = json.load(f)\n        return data\n    except:\n        return {}',
            3, "Errors hidden in `load_config`",
            "The bare `except:` swallows everything, including a typo in the JSON and "
            "`KeyboardInterrupt`, and silently returns an empty config. The file is also never "
            "closed. Catch `FileNotFoundError` and `json.JSONDecodeError` explicitly and use "
            "`with`.",
            'def load_config(path):\n    try:\n        with open(path, encoding="utf-8") as f:\n'
            '            return json.load(f)\n    except FileNotFoundError:\n        return {}\n'
            '    except json.JSONDecodeError as exc:\n'
            '        raise ValueError(f"{path} is not valid JSON: {exc}") from exc'),
    Snippet('def add_NOUN(NOUN, batch=[]):\n    batch.append(NOUN)\n    return batch',
            2, "Mutable default argument in `add_NOUN`",
            "`batch=[]` is evaluated once, so every call without a batch shares the same list "
            "and NOUNs leak from one call into the next. Default to `None` and create the list "
            "inside the function.",
            'def add_NOUN(NOUN, batch=None):\n    if batch is None:\n        batch = []\n'
            '    batch.append(NOUN)\n    return batch'),
    Snippet('def find_NOUNs_by_customer(conn, customer_name):\n'
            '    query = f"SELECT * FROM NOUNs WHERE customer = \'{customer_name}\'"\n'
            '    cursor = conn.execute(query)\n    return cursor.fetchall()',
            5, "SQL injection in `find_NOUNs_by_customer`",
            "The query is built with an f-string, so a customer name like `x' OR '1'='1` "
            "returns every row, and worse inputs can modify data. Always pass values as "
            "parameters.",
            'def find_NOUNs_by_customer(conn, customer_name):\n'
            '    cursor = conn.execute(\n'
            '        "SELECT * FROM NOUNs WHERE customer = ?", (customer_name,)\n    )\n'
            '    return cursor.fetchall()'),
    Snippet('def average_NOUN_total(NOUNs):\n    total = 0\n    for item in NOUNs:\n'
            '        total = total + item["total"]\n    return total / len(NOUNs)',
            2, "Division by zero in `average_NOUN_total`",
            "An empty list raises `ZeroDivisionError`. Decide what an empty input should mean "
            "(0, `None` or an error) and handle it explicitly; `sum()` also reads better than "
            "the manual loop.",
            'def average_NOUN_total(NOUNs):\n    if not NOUNs:\n        return None\n'
            '    return sum(item["total"] for item in NOUNs) / len(NOUNs)'),
    Snippet('def fetch_exchange_rate(currency):\n'
            '    response = requests.get(f"https://rates.example.com/latest?base={currency}")\n'
            '    return response.json()["rate"]',
            4, "No timeout in `fetch_exchange_rate`",
            "`requests.get` has no default timeout, so one slow server can hang the whole job "
            "forever, and an error page is parsed as if it were a rate. Pass `timeout=` and "
            "call `raise_for_status()`.",
            'def fetch_exchange_rate(currency):\n    response = requests.get(\n'
            '        "https://rates.example.com/latest",\n'
            '        params={"base": currency},\n        timeout=10,\n    )\n'
            '    response.raise_for_status()\n    return response.json()["rate"]'),
    Snippet('def format_NOUN_report(NOUNs):\n    report = ""\n    for n in NOUNs:\n'
            '        if n["shipped_at"] == None:\n            status = "pending"\n'
            '        else:\n            status = "shipped"\n'
            '        report = report + n["id"] + ": " + status + "\\n"\n    return report',
            1, "Small issues in `format_NOUN_report`",
            "Use `is None` rather than `== None`, and build the report from a list of lines "
            "joined once at the end: repeated string concatenation is quadratic on large "
            "inputs. `n[\"id\"]` also breaks if ids are integers.",
            'def format_NOUN_report(NOUNs):\n    lines = []\n    for n in NOUNs:\n'
            '        status = "pending" if n["shipped_at"] is None else "shipped"\n'
            '        lines.append(f"{n[\'id\']}: {status}")\n'
            '    return "\\n".join(lines) + "\\n"'),
    Snippet('def parse_date(value):\n    try:\n'
            '        return datetime.strptime(value, "%Y-%m-%d")\n    except Exception:\n'
            '        return None',
            2, "Silent failure in `parse_date`",
            "Every exception becomes `None`, so bad input turns into mysterious `None`s much "
            "later. Catch only `ValueError` and let the caller decide, or raise with a clear "
            "message.",
            'def parse_date(value):\n    try:\n'
            '        return datetime.strptime(value, "%Y-%m-%d").date()\n'
            '    except ValueError as exc:\n'
            '        raise ValueError(f"expected YYYY-MM-DD, got {value!r}") from exc'),
    Snippet('_cache = {}\n\n\ndef get_customer(conn, customer_id):\n'
            '    if customer_id in _cache:\n        return _cache[customer_id]\n'
            '    row = conn.execute(\n'
            '        "SELECT * FROM customers WHERE id = ?", (customer_id,)\n    ).fetchone()\n'
            '    _cache[customer_id] = row\n    return row',
            3, "Unbounded cache in `get_customer`",
            "The module-level dict never shrinks or expires, so it grows for the life of the "
            "process and keeps serving stale rows after a customer is updated. Use a bounded "
            "cache with a TTL, and invalidate entries when you write.",
            'from functools import lru_cache\n\n\n@lru_cache(maxsize=1024)\n'
            'def get_customer_row(conn, customer_id):\n    return conn.execute(\n'
            '        "SELECT * FROM customers WHERE id = ?", (customer_id,)\n    ).fetchone()\n'
            '\n# call get_customer_row.cache_clear() after updating customers'),
    Snippet('def NOUN_is_overdue(NOUN, today):\n'
            '    """True if the NOUN is unpaid and its due date has passed."""\n'
            '    return NOUN["due_date"] < today and not NOUN.get("paid", False)',
            0, "", "", ""),
    Snippet('class NounRepository:\n    def __init__(self, conn):\n        self.conn = conn\n\n'
            '    def get(self, NOUN_id):\n        row = self.conn.execute(\n'
            '            "SELECT id, customer, total FROM NOUNs WHERE id = ?", (NOUN_id,)\n'
            '        ).fetchone()\n'
            '        return dict(zip(("id", "customer", "total"), row)) if row else None\n\n'
            '    def count(self):\n'
            '        return self.conn.execute("SELECT COUNT(*) FROM NOUNs").fetchone()[0]',
            0, "", "", ""),
    Snippet('def total_by_customer(NOUNs):\n    totals = {}\n    for n in NOUNs:\n'
            '        totals[n["customer"]] = totals.get(n["customer"], 0) + n["total"]\n'
            '    return dict(sorted(totals.items(), key=lambda kv: kv[1], reverse=True))',
            0, "", "", ""),
]
# fmt: on
NOUNS = ["order", "invoice", "booking", "ticket", "shipment", "subscription"]
IMPORTS = "import json\nimport sqlite3\nfrom datetime import datetime\n\nimport requests\n\n\n"


def for_noun(s: Snippet, noun: str) -> Snippet:
    def sub(text: str) -> str:
        return text.replace("NOUN", noun).replace("Noun", noun.title())

    return Snippet(sub(s.code), s.severity, sub(s.title), sub(s.problem), sub(s.fixed))


def review_reply(chosen: list[Snippet]) -> str:
    issues = sorted((s for s in chosen if s.severity), key=lambda s: -s.severity)
    points = [f"**{s.title}.** {s.problem}" for s in issues]
    reply = (
        f"I'd change {len(issues)} things, most important first:\n\n{numbered(points)}\n\n"
        f"Here's the first fix:\n\n{py(issues[0].fixed)}"
    )
    if len(chosen) > len(issues):
        reply += "\n\nThe rest of the module looks fine to me."
    return reply


def show_fix(s: Snippet) -> FollowUp:
    name = s.title.split("`")[1]
    return lambda r, p: (
        f"Can you show the fixed version of `{name}`?",
        f"Sure:\n\n{py(s.fixed)}\n\n{s.problem.split('. ')[-1]}",
    )


def fix_first(s: Snippet) -> FollowUp:
    return lambda r, p: (
        "If I only have an hour today, what should I fix first?",
        f"Start with the first one ({s.title}). {s.problem.split('. ')[0]}. "
        "The other points are real but less urgent.",
    )


def code_review(rng: Random, turns: int) -> list[Pair]:
    noun = rng.choice(NOUNS)
    flawed = rng.sample([s for s in SNIPPETS if s.severity], rng.randint(2, 5))
    fine = rng.sample([s for s in SNIPPETS if not s.severity], rng.randint(0, 3))
    chosen = [for_noun(s, noun) for s in flawed + fine]
    rng.shuffle(chosen)
    module = IMPORTS + "\n\n\n".join(s.code for s in chosen)
    ask = rng.choice(
        [
            f"Can you review this code? It's part of our {noun} service.",
            "Please review the module below. Focus on bugs and security problems, not style.",
            "My team lead says this file has problems. What would you change?",
        ]
    )
    issues = sorted((s for s in chosen if s.severity), key=lambda s: -s.severity)
    followups = [show_fix(s) for s in issues[1:3]] + [fix_first(issues[0])]
    opening = (f"{ask}\n\n{py(module)}", review_reply(chosen))
    return fill_turns(rng, [opening], followups, turns)


# --- summarisation of pasted documents -----------------------------------------------------


class Topic(NamedTuple):
    title: str
    lines: tuple[str, ...]
    decision: str
    action: str
    risk: str


# fmt: off
TOPICS = [
    Topic("Release timeline", (
        "{a} walked through the current plan for {proj}: feature freeze is on {date} and the "
        "release candidate is due a week later.",
        "The team is {n} tickets behind where it wanted to be, mostly because of the payment "
        "provider migration.",
        "{b} pointed out that two of the remaining tickets depend on API changes from the "
        "platform team that are not merged yet.",
        "There was a short discussion about cutting scope versus moving the date; most people "
        "preferred cutting scope."),
        "keep the {date} feature freeze and cut bulk export from this release",
        "confirm the platform team's merge date", "the platform API changes may not land in time"),
    Topic("Customer feedback", (
        "{b} summarised the last month of support tickets: {n} of them mentioned slow search, "
        "roughly double the month before.",
        "Several enterprise customers asked for single sign-on, and two said it blocks their "
        "renewal.",
        "The onboarding survey had a {pct}% response rate; the most common complaint was that "
        "the setup guide skips the permissions step.",
        "{a} suggested adding a short video to the setup guide, which everyone agreed is cheap "
        "to try."),
        "prioritise search performance ahead of new reporting features",
        "rewrite the permissions section of the setup guide",
        "two enterprise renewals depend on single sign-on"),
    Topic("Hiring", (
        "There are three open roles: two backend engineers and one designer.",
        "{a} reported {n} backend candidates at the onsite stage and one offer out.",
        "The design role has been open for eleven weeks; {b} suggested widening the search to "
        "other time zones.",
        "Interviews keep landing on the same four people, who asked for more interviewers to be "
        "trained."),
        "open the design role to remote candidates within three hours of CET",
        "train three more interviewers", "interviewer fatigue is slowing the backend pipeline"),
    Topic("Infrastructure costs", (
        "Cloud spend was {money} last month, {pct}% over budget.",
        "Most of the increase came from the staging environment, which runs at full size "
        "around the clock.",
        "{a} proposed scaling staging down outside working hours, which should save about a "
        "third of its cost.",
        "{b} asked for the load-testing cluster to be excluded, since the nightly benchmarks "
        "run at 02:00."),
        "scale staging down between 20:00 and 07:00, excluding the load-testing cluster",
        "set up the staging schedule and a cost alert",
        "nightly benchmarks break if the schedule hits the wrong cluster"),
    Topic("Security review", (
        "The external penetration test finished last week with {n} medium-severity findings and "
        "no critical ones.",
        "The most important finding is that password-reset tokens stay valid for 72 hours; the "
        "recommendation is 30 minutes.",
        "{b} has already fixed the missing rate limit on the login endpoint.",
        "Everyone agreed the remaining fixes should land before the release candidate."),
        "fix every medium finding before the release candidate",
        "shorten the reset-token lifetime to 30 minutes",
        "an open finding could delay the security sign-off"),
    Topic("Mobile app", (
        "The new mobile build has a crash-free rate of 98.{n}%, below the 99.5% target.",
        "Most crashes happen on older Android phones when the camera permission is denied.",
        "{a} has a fix in review and expects it in the next beta.",
        "App store review for iOS took four days last time, so the team wants to submit "
        "earlier this cycle."),
        "submit the iOS build three days earlier than usual",
        "ship the camera-permission crash fix in the next beta",
        "store review times could push the mobile release past the web release"),
    Topic("Team process", (
        "{b} raised that stand-ups regularly run over 25 minutes.",
        "The group agreed to move detailed discussions to a follow-up slot right after "
        "stand-up, only for the people involved.",
        "Retrospectives will move from weekly to every two weeks, with a shared board for "
        "topics in between.",
        "{a} will try the new format for a month and report back."),
        "time-box stand-ups to 15 minutes and hold retrospectives every two weeks",
        "report back on the new meeting format", ""),
    Topic("Data migration", (
        "The migration of historical records to the new database is {pct}% complete, "
        "counting the batch that finished this morning.",
        "The last batch holds the oldest records, which mix three date formats and need an "
        "extra cleaning step.",
        "{b} estimated {n} more days of work, assuming no surprises in the 2019 data.",
        "A dry run on a copy of production is planned before the final cut-over."),
        "do a full dry run on a production copy before the cut-over",
        "finish the date-format cleaning script",
        "the oldest records may hold formats the cleaning script misses"),
    Topic("Launch marketing", (
        "Marketing wants the launch blog post and the newsletter to go out on release day.",
        "{a} asked for final screenshots by {date}, so the UI has to be frozen by then.",
        "The launch webinar has {n}0 registrations so far, above the target.",
        "There is still no decision on a launch discount; {b} is against it."),
        "send the launch newsletter on release day and skip the discount",
        "deliver final screenshots to marketing",
        "late UI changes would make the screenshots outdated"),
]
FILLERS = [
    "{c} asked whether this had been discussed with the {team} team; {a} said it had come up "
    "briefly but nothing was agreed.",
    "There was some back and forth about timing, and the group agreed to revisit it next week "
    "if nothing changes.",
    "{b} noted that the numbers are from last Friday and may have moved since.",
    "{c} offered to help if the work turns out bigger than expected.",
    "Nobody objected, although {c} wants to see the details in writing first.",
    "{a} shared a short document with more context and asked for comments by Friday.",
    "The same point came up in the previous sync, so it is worth getting it settled.",
    "{b} will add a note to the {proj} project page so people outside the meeting can follow.",
    "The {team} team was not represented, so {a} will follow up with them directly.",
    "{c} reminded everyone that several people are on holiday in the coming weeks.",
]
SUMMARY_SYSTEMS = [
    "You summarise internal documents for busy managers. Lead with the outcome, use bullet "
    "points, and never add facts that are not in the text.",
    "You write clear, neutral summaries. Keep names, dates and numbers exactly as they appear "
    "in the source.",
    "Summaries must stay under 200 words unless the user asks for more. Use plain language.",
]
# fmt: on


class Meeting(NamedTuple):
    proj: str
    day: dt.date
    people: list[str]
    topics: list[tuple[Topic, str, str, str]]  # topic, text, decision, action line


def make_meeting(rng: Random) -> Meeting:
    proj, day = rng.choice(PROJECTS), some_date(rng)
    people = rng.sample(FIRST, rng.randint(3, 6))
    topics = []
    for topic in rng.sample(TOPICS, rng.randint(2, len(TOPICS))):
        a, b, c = rng.sample(people, 3)
        due = short_date(workday(day + dt.timedelta(days=rng.randint(3, 14))))
        slots = dict(
            a=a,
            b=b,
            c=c,
            proj=proj,
            n=rng.randint(3, 14),
            pct=rng.randint(12, 38),
            date=short_date(workday(day + dt.timedelta(days=rng.randint(10, 30)))),
            money=money(rng.randint(18, 95) * 1000, "$"),
            team=rng.choice(TEAMS),
        )
        lines = list(topic.lines) + rng.sample(FILLERS, rng.randint(0, 4))
        text = " ".join(line.format(**slots) for line in lines)
        topics.append(
            (topic, text, topic.decision.format(**slots), f"{a}: {topic.action} (by {due})")
        )
    return Meeting(proj, day, people, topics)


def render_meeting(m: Meeting) -> str:
    out = [f"{m.proj} weekly sync, {long_date(m.day)}", f"Attendees: {', '.join(m.people)}", ""]
    for i, (topic, text, decision, action) in enumerate(m.topics, 1):
        owner, task = action.split(": ", 1)
        out += [
            f"{i}. {topic.title}",
            text,
            f"Decision: {decision}.",
            f"Action: {owner} to {task}.",
            "",
        ]
    return "\n".join(out).strip()


def summarise_meeting(rng: Random, turns: int) -> list[Pair]:
    m = make_meeting(rng)
    ask = rng.choice(
        [
            "Can you summarise these meeting notes?",
            "Summarise this for people who missed the meeting:",
            "tl;dr of these notes please, with action items",
        ]
    )
    titles = and_list([t.title.lower() for t, *_ in m.topics])
    risks = [t.risk for t, *_ in m.topics if t.risk]
    summary = (
        f"**{m.proj} sync, {long_date(m.day)}.** The team covered {titles}.\n\n"
        f"**Decisions**\n{bullets([d[0].upper() + d[1:] for _, _, d, _ in m.topics])}\n\n"
        f"**Action items**\n{bullets([a for *_, a in m.topics])}"
    )
    if risks:
        summary += f"\n\n**Risks to watch**\n{bullets([r[0].upper() + r[1:] for r in risks])}"
    decisions = [d for _, _, d, _ in m.topics]
    followups: list[FollowUp] = [
        lambda r, p: (
            "Make it shorter, two sentences max.",
            f"The {m.proj} sync covered {titles}. The main decisions were to "
            f"{decisions[0]} and to {decisions[1]}.",
        ),
        lambda r, p: (
            "Can you turn the action items into a table?",
            "| Owner | Task | Due |\n|---|---|---|\n"
            + "\n".join(
                "| {} | {} | {} |".format(a.split(": ")[0], *a.split(": ")[1][:-1].split(" (by "))
                for *_, a in m.topics
            ),
        ),
        lambda r, p: (
            f"What did we decide about {m.topics[-1][0].title.lower()}?",
            f"The decision was to {decisions[-1]}. For context: "
            f"{m.topics[-1][1].split('. ')[0].rstrip('.')}.",
        ),
    ]
    return fill_turns(rng, [(f"{ask}\n\n{render_meeting(m)}", summary)], followups, turns)


class Cause(NamedTuple):
    tech: str
    plain: str
    signal: str
    mitigation: str
    fixes: tuple[str, ...]


# fmt: off
CAUSES = [
    Cause("an expired TLS certificate on the internal load balancer",
          "a security certificate between two of our internal systems expired, so they "
          "stopped trusting each other", "'certificate verify failed' errors in the client logs",
          "renewed and deployed the certificate",
          ("automate certificate renewal for internal load balancers",
           "alert 30 days before any certificate expires")),
    Cause("a schema migration that built an index without CONCURRENTLY and locked a large table",
          "a database change locked a busy table, so requests queued up behind it until they "
          "timed out", "a long-running ALTER TABLE holding a lock in pg_stat_activity",
          "cancelled the migration and re-ran it with CREATE INDEX CONCURRENTLY",
          ("lint migrations for locking operations in CI",
           "run large migrations outside peak hours")),
    Cause("a configuration change that set the database connection pool to 5 instead of 50",
          "a typo in a setting left the service with a tenth of the database connections it "
          "needs", "requests waiting for a free database connection",
          "restored the pool size to 50 and restarted the pods",
          ("validate config values against sane ranges before deploying",
           "require a second reviewer for production config changes")),
    Cause("a memory leak in the new image-resizing library that made pods crash and restart in "
          "a loop", "a new software component slowly used up memory until the servers crashed",
          "pods being OOM-killed every few minutes", "pinned the previous library version",
          ("alert on memory usage per pod",
           "canary new dependency versions on 5% of traffic first")),
    Cause("a retry storm: clients retried failed requests immediately and without backoff, "
          "multiplying the load during a brief slowdown",
          "a short slowdown made apps retry over and over at once, which turned a small "
          "problem into a big one", "traffic at six times the normal rate, almost all retries",
          "turned on load shedding and pushed a client config with exponential backoff",
          ("add exponential backoff with jitter to every client",
           "cap retries at three per request")),
    Cause("a full disk on the message-queue broker after log rotation was accidentally disabled",
          "a server ran out of disk space because old log files were no longer cleaned up",
          "the broker refusing writes with 'no space left on device'",
          "deleted old logs, re-enabled rotation and restarted the broker",
          ("alert when any disk is more than 80% full",
           "add log rotation to the base server image")),
]
SERVICES = [("checkout API", "takes payments and creates orders"),
            ("search service", "answers product searches from the web shop and the app"),
            ("notification worker", "sends order e-mails and push notifications"),
            ("login service", "handles sign-in and session tokens for every product"),
            ("image upload pipeline", "resizes and stores photos that sellers upload")]
WENT_WELL = ["The page reached the on-call engineer within a minute.",
             "The rollback tooling worked as designed.",
             "Status page updates went out every 30 minutes.",
             "People from three teams joined the incident channel quickly."]
WENT_POORLY = ["The first hypothesis (the earlier deploy) cost about 20 minutes.",
               "The dashboard for this service had no panel showing the real cause.",
               "The runbook was out of date and pointed to a retired host.",
               "Customer support heard about the incident from customers first."]
# fmt: on


class Incident(NamedTuple):
    service: str
    what: str
    cause: Cause
    day: dt.date
    start: dt.datetime
    minutes: int
    pct: int
    users: int
    people: list[str]


def make_incident(rng: Random) -> Incident:
    service, what = rng.choice(SERVICES)
    day = some_date(rng)
    start = dt.datetime.combine(day, dt.time(rng.randint(0, 22), rng.randrange(0, 60, 1)))
    return Incident(
        service,
        what,
        rng.choice(CAUSES),
        day,
        start,
        rng.randint(45, 170),
        rng.randint(4, 60),
        rng.randint(2, 90) * 100,
        rng.sample(FIRST, 4),
    )


def incident_timeline(rng: Random, inc: Incident) -> list[str]:
    oncall, second, _, lead = inc.people
    offsets = [0, rng.randint(2, 6), rng.randint(9, 18), rng.randint(22, 34)]
    offsets += [inc.minutes - 8, inc.minutes, inc.minutes + 30]
    t = [f"{inc.start + dt.timedelta(minutes=m):%H:%M}" for m in offsets]
    return [
        f"{t[0]} Error-rate alert fired for the {inc.service} (above 5%).",
        f"{t[1]} {oncall} (on call) acknowledged the page and opened an incident channel.",
        f"{t[2]} Suspicion fell on the deploy from earlier that day; it was rolled back "
        "with no improvement.",
        f"{t[3]} {second} spotted {inc.cause.signal}.",
        f"{t[4]} Mitigation: {inc.cause.mitigation}.",
        f"{t[5]} Error rate back to normal; monitoring continued.",
        f"{t[6]} Incident closed by {lead}.",
    ]


def render_incident(rng: Random, inc: Incident) -> str:
    sections = {
        "Background": f"The {inc.service} {inc.what}. It runs on {rng.randint(4, 24)} "
        "instances behind an internal load balancer and depends on the main Postgres cluster.",
        "Timeline (UTC)": bullets(incident_timeline(rng, inc)),
        "Impact": f"For {inc.minutes} minutes about {inc.pct}% of requests to the "
        f"{inc.service} failed, and roughly {inc.users:,} users saw errors.",
        "Root cause": f"The outage was caused by {inc.cause.tech}.",
        "What went well": bullets(rng.sample(WENT_WELL, 2)),
        "What went poorly": bullets(rng.sample(WENT_POORLY, 2)),
        "Follow-up actions": bullets([f"{rng.choice(inc.people)}: {f}" for f in inc.cause.fixes]),
    }
    head = (
        f"Incident report: {inc.service} degradation on {long_date(inc.day)}\n"
        f"Status: resolved. Severity: SEV-{2 if inc.pct > 25 else 3}. Author: {inc.people[2]}."
    )
    return "\n\n".join([head, *(f"{title}\n{body}" for title, body in sections.items())])


def summarise_incident(rng: Random, turns: int) -> list[Pair]:
    inc = make_incident(rng)
    doc = render_incident(rng, inc)
    end = inc.start + dt.timedelta(minutes=inc.minutes)
    summary = (
        f"**What happened:** on {long_date(inc.day)} the {inc.service} was degraded for "
        f"{inc.minutes} minutes ({inc.start:%H:%M}–{end:%H:%M} UTC).\n\n"
        f"**Impact:** about {inc.pct}% of requests failed; roughly {inc.users:,} users saw "
        f"errors.\n\n**Cause:** {inc.cause.tech}.\n\n**Fix:** the team "
        f"{inc.cause.mitigation}.\n\n**Follow-ups:**\n"
        + bullets([f[0].upper() + f[1:] for f in inc.cause.fixes])
    )
    followups: list[FollowUp] = [
        lambda r, p: (
            "Explain the root cause in plain language for non-technical people.",
            f"In plain terms: {inc.cause.plain}. Once the team found the problem they "
            f"{inc.cause.mitigation}, and the service recovered.",
        ),
        lambda r, p: (
            "Draft a short note to customers about it.",
            f"Subject: Service disruption on {long_date(inc.day)}\n\nOn "
            f"{long_date(inc.day)}, between {inc.start:%H:%M} and {end:%H:%M} UTC, "
            "some of you saw errors when using our service. The problem has been "
            "fixed, and we are putting safeguards in place so it does not happen "
            "again. We're sorry for the disruption.\n\nThe Support Team",
        ),
    ]
    ask = rng.choice(
        [
            "Summarise this incident report for the weekly ops review.",
            "Can you give me the key points of this postmortem?",
            "summarise pls",
        ]
    )
    return fill_turns(rng, [(f"{ask}\n\n{doc}", summary)], followups, turns)


# fmt: off
PRAISE = {
    "easy to set up": ["Setup took five minutes.", "Really easy to set up, even for me.",
                       "Out of the box and working in no time."],
    "design": ["Looks great.", "Nice design, feels solid.",
               "Much better looking than my old one."],
    "quiet": ["Surprisingly quiet.", "Quiet enough to use while the baby sleeps.",
              "Much quieter than I expected."],
    "value for money": ["Good value for the price.", "Worth every penny.",
                        "Cheaper than the big brands and just as good."],
    "the app": ["The app is simple and actually useful.", "Love controlling it from my phone.",
                "App works well and gets regular updates."],
}
COMPLAINTS = {
    "connection drops": ["Keeps dropping off the Wi-Fi.", "The app loses the connection every "
                         "few days.", "Pairing took ages and failed twice."],
    "noise": ["Louder than I expected.", "Makes an annoying high-pitched whine.",
              "Too noisy to use in the evening."],
    "early failures": ["Stopped working after six weeks.", "Died just after a month.",
                       "Second unit, same fault."],
    "slow support": ["Customer support took a week to answer.",
                     "Support just sent me a link to the manual.",
                     "Had to chase support three times."],
    "unclear instructions": ["The instructions are confusing.", "Manual is tiny and unclear.",
                             "Had to watch a video to work out the buttons."],
}
ASIDES = ["Bought it as a gift for my mum.", "Using it every day for a couple of months now.",
          "Replaced an old one that lasted ten years.", "Delivery was quick.",
          "Would buy again.", "Not sure I'd buy it again.", ""]
# fmt: on


Review = tuple[int, list[str], list[str], str]  # stars, praised, complained about, text


def make_review(rng: Random) -> Review:
    stars = weighted(rng, [(5, 30), (4, 25), (3, 15), (2, 12), (1, 18)])
    n_good = {5: 2, 4: 1, 3: 1, 2: 0, 1: 0}[stars] + rng.randint(0, 1)
    n_bad = {5: 0, 4: rng.randint(0, 1), 3: 1, 2: 1, 1: 2}[stars]
    good = rng.sample(sorted(PRAISE), n_good)
    bad = rng.sample(sorted(COMPLAINTS), n_bad)
    parts = [rng.choice(PRAISE[g]) for g in good] + [rng.choice(COMPLAINTS[b]) for b in bad]
    rng.shuffle(parts)
    text = " ".join(p for p in [*parts, rng.choice(ASIDES)] if p)
    who = f"{rng.choice(FIRST)} {rng.choice(LAST)[0]}."
    return stars, good, bad, f"{'★' * stars}{'☆' * (5 - stars)} {text} ({who})"


def themes(counts: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name} ({n})" for name, n in counts) or "none in particular"


def review_summary(reviews: list[Review]) -> str:
    mean = sum(r[0] for r in reviews) / len(reviews)
    good = Counter(g for r in reviews for g in r[1]).most_common(3)
    bad = Counter(b for r in reviews for b in r[2]).most_common(3)
    summary = (
        f"Across {len(reviews)} reviews the average rating is {mean:.1f} out of 5.\n\n"
        f"**What people like:** {themes(good)}.\n\n"
        f"**Main complaints:** {themes(bad)}.\n\n"
    )
    if not bad:
        return summary + "There is no recurring complaint."
    return summary + (
        f"The most common complaint is {bad[0][0]}; fixing it would help the largest group "
        "of unhappy customers."
    )


def summarise_reviews(rng: Random, turns: int) -> list[Pair]:
    product = rng.choice(PRODUCTS).name
    reviews = [make_review(rng) for _ in range(rng.randint(6, 30))]
    bad = Counter(b for r in reviews for b in r[2]).most_common(1)
    ask = rng.choice(
        [
            f"Here are the latest reviews of our {product}. Summarise the main themes "
            "for the product team.",
            f"What are customers saying about the {product}?",
        ]
    )
    doc = "\n".join(f"{i}. {r[3]}" for i, r in enumerate(reviews, 1))
    followups: list[FollowUp] = [
        lambda r, p: (
            "Which complaint came up most often?",
            f"{bad[0][0].capitalize()}, mentioned in {bad[0][1]} of the {len(reviews)} reviews."
            if bad
            else "None: nobody complained about anything in particular.",
        ),
        lambda r, p: (
            "Draft a short public reply we could post under the negative reviews.",
            f"Thank you for taking the time to review your {product}, and we're sorry "
            "it hasn't lived up to expectations. We'd like to put this right: please "
            "contact us at support@halcyon.example with your order number and we'll "
            "look into it personally. — The Halcyon Home team",
        ),
    ]
    return fill_turns(rng, [(f"{ask}\n\n{doc}", review_summary(reviews))], followups, turns)


def summarise(rng: Random, turns: int) -> Chat:
    kind = weighted(
        rng, [(summarise_meeting, 45), (summarise_incident, 30), (summarise_reviews, 25)]
    )
    return maybe_system(rng, SUMMARY_SYSTEMS), kind(rng, turns)


# --- data extraction into JSON ------------------------------------------------------------

# fmt: off
CATALOGUE = [("Tidy T7 robot vacuum", 349.0), ("Aurora K2 smart kettle", 89.0),
             ("K2 descaling tablets (12 pack)", 9.5), ("T7 replacement brush set", 24.9),
             ("N2 HEPA filter", 39.0), ("Lumen L5 desk lamp", 64.0), ("L5 desk clamp", 19.0),
             ("P1 sport strap", 14.5), ("B4 travel cup", 12.0), ("H9 cleaning brush", 6.5)]
COMPANIES = ["Northwind Analytics", "Bluefin Logistics", "Quarry Labs", "Tandem Health",
             "Copperleaf Studio", "Meridian Freight", "Orchard Robotics", "Pillar Finance"]
JOBS = [("Senior Backend Engineer", ["Go", "PostgreSQL", "Kubernetes"]),
        ("Data Analyst", ["SQL", "Python", "Tableau"]),
        ("Product Designer", ["Figma", "user research", "prototyping"]),
        ("Site Reliability Engineer", ["Linux", "Terraform", "Prometheus"]),
        ("Machine Learning Engineer", ["Python", "PyTorch", "model serving"])]
# fmt: on
CITIES_SHORT = ["Berlin", "Lisbon", "Toronto", "Manchester", "Austin", "Rotterdam", "Dublin"]
# fmt: off
EXTRACT_SYSTEMS = [
    "You extract structured data from text. Reply with valid JSON only, no commentary, "
    "unless the user asks a question about it.",
    "You are a data-entry assistant. Dates must be ISO 8601 (YYYY-MM-DD) and amounts plain "
    "numbers without currency symbols. Use null for missing fields.",
    "Convert documents into JSON for an import pipeline. Use null for anything not stated.",
]
# fmt: on


def order_record(rng: Random) -> tuple[str, dict[str, Any]]:
    first, day = rng.choice(FIRST), some_date(rng)
    picked = [
        (n, p, rng.choice([1, 1, 1, 2, 3])) for n, p in rng.sample(CATALOGUE, rng.randint(1, 4))
    ]
    total = round(sum(p * q for _, p, q in picked) + 4.95, 2)
    order = f"HH-{rng.randrange(10**6, 10**7)}"
    delivery = day + dt.timedelta(days=rng.randint(2, 6))
    lines = "\n".join(f"{q} x {n}  {money(p)} each" for n, p, q in picked)
    items = [{"name": n, "quantity": q, "unit_price": p} for n, p, q in picked]
    text = (
        f"Subject: Your Halcyon Home order {order} is confirmed\n\nHi {first},\n\nThanks for "
        f"your order placed on {long_date(day)}. Here's what's on its way:\n\n{lines}\n"
        f"Shipping  €4.95\nOrder total  {money(total)}\n\nEstimated delivery: "
        f"{short_date(delivery)}. We'll e-mail you a tracking link when it ships.\n\n"
        "Halcyon Home"
    )
    return text, {
        "order_id": order,
        "customer_first_name": first,
        "order_date": day.isoformat(),
        "items": items,
        "shipping": 4.95,
        "total": total,
        "currency": "EUR",
        "estimated_delivery": delivery.isoformat(),
    }


def job_record(rng: Random) -> tuple[str, dict[str, Any]]:
    title, skills = rng.choice(JOBS)
    company, city = rng.choice(COMPANIES), rng.choice(CITIES_SHORT)
    low = rng.randrange(55, 110, 5) * 1000
    remote = rng.choice(["remote", "hybrid", "on-site"])
    text = (
        f"{company} is hiring a {title} to join our team in {city} ({remote}). You'll work "
        f"closely with product and operations on systems that thousands of customers rely "
        f"on every day.\n\nWhat you bring: solid experience with {', '.join(skills[:-1])} "
        f"and {skills[-1]}, clear written communication, and curiosity.\n\nSalary: "
        f"{low:,} – {low + 25000:,} EUR a year, plus 28 days of holiday. Apply by "
        f"{long_date(some_date(rng))}."
    )
    return text, {
        "title": title,
        "company": company,
        "location": city,
        "work_mode": remote,
        "salary_min": low,
        "salary_max": low + 25000,
        "currency": "EUR",
        "skills": skills,
    }


def invite_record(rng: Random) -> tuple[str, dict[str, Any]]:
    event = rng.choice(
        [
            "quarterly planning",
            "design review",
            "budget workshop",
            "team offsite",
            "customer advisory board",
        ]
    )
    day, host = some_date(rng), f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    start = rng.choice(["09:30", "10:00", "13:00", "14:30", "15:00"])
    hours = rng.choice([1, 2, 3])
    room = rng.choice(["Room 4.12", "the Atlas meeting room", "the ground-floor café", "Zoom"])
    guests = rng.sample(FIRST, rng.randint(2, 5))
    text = (
        f"Hi all,\n\nQuick heads-up that the {event} is moving to {short_date(day)} at "
        f"{start}, in {room}. It should take about {hours} hour{'s' * (hours > 1)}. "
        f"{', '.join(guests[:-1])} and {guests[-1]}, please bring your updates. Let me know "
        f"by the day before if you can't make it.\n\nThanks,\n{host}"
    )
    end = f"{int(start[:2]) + hours:02d}{start[2:]}"
    return text, {
        "event": event,
        "date": day.isoformat(),
        "start_time": start,
        "end_time": end,
        "location": room,
        "organiser": host,
        "attendees": guests,
    }


def schema_of(value: Any) -> dict[str, Any]:
    """A JSON Schema that the extracted value satisfies, for the 'give me a schema' turn."""
    if isinstance(value, dict):
        return {
            "type": "object",
            "required": list(value),
            "properties": {k: schema_of(v) for k, v in value.items()},
        }
    if isinstance(value, list):
        return {"type": "array", "items": schema_of(value[0]) if value else {}}
    kind = {bool: "boolean", int: "integer", float: "number", str: "string"}[type(value)]
    return {"type": kind}


def extraction(rng: Random, turns: int) -> Chat:
    system = maybe_system(rng, EXTRACT_SYSTEMS)
    bare = system is not None and "JSON only" in system
    make = rng.choice([order_record, job_record, invite_record])
    text, data = make(rng)

    def as_json(value: Any) -> str:
        body = json.dumps(value, indent=2, ensure_ascii=False)
        return body if bare else f"```json\n{body}\n```"

    fields = ", ".join(list(data)[:-1]) + " and " + list(data)[-1]
    ask = rng.choice(
        [
            f"Extract {fields} from this as JSON:\n\n{text}",
            f"Return only JSON.\n\n{text}",
            f"{text}\n\nturn that into json",
        ]
    )
    other_text, other = make(rng)
    followups: list[FollowUp] = [
        lambda r, p: (f"Now the same for this one:\n\n{other_text}", as_json(other)),
        lambda r, p: (
            "Can you give me a JSON Schema for that output?",
            as_json({"$schema": "https://json-schema.org/draft/2020-12/schema", **schema_of(data)}),
        ),
    ]
    if "date" in json.dumps(list(data)):
        followups.append(
            lambda r, p: (
                "Why did you write the dates like that?",
                "I used ISO 8601 (YYYY-MM-DD) because it's unambiguous — 03/04 means "
                "different days in the US and Europe — and it sorts correctly as text.",
            )
        )
    return system, fill_turns(rng, [(ask, as_json(data))], followups, turns)


# --- travel planning -----------------------------------------------------------------------


class City(NamedTuple):
    name: str
    sights: tuple[str, ...]  # "X, description" — shown as planned activities
    food: str
    airport: str
    rain: str
    cost: int  # rough mid-range euros per person per day


# fmt: off
CITIES = [
    City("Lisbon", ("wander through Alfama, the old quarter, before it gets hot",
                    "Belém for the Jerónimos Monastery and the riverside",
                    "the Gulbenkian Museum and its gardens",
                    "LX Factory, a converted industrial site full of shops and cafés",
                    "a day trip to Sintra's palaces, about 40 minutes by train",
                    "sunset at one of the miradouros (viewpoints) above the city"),
         "pastéis de nata, grilled sardines and bacalhau",
         "The metro red line runs from the airport to the centre in about 25 minutes; a taxi "
         "takes 15–30 minutes depending on traffic.",
         "the Gulbenkian, the National Tile Museum and the Oceanarium", 110),
    City("Kyoto", ("Fushimi Inari shrine early in the morning, before the crowds",
                   "the Arashiyama bamboo grove and the riverside",
                   "the Gion district in the evening",
                   "Kiyomizu-dera temple and the old lanes below it",
                   "Nishiki Market for lunch on the go",
                   "a day trip to Nara to see the temples and the deer"),
         "kaiseki, tofu dishes and matcha sweets",
         "From Kansai Airport the Haruka limited express takes about 75 minutes to Kyoto "
         "Station; from Osaka Itami, an airport limousine bus takes about 55 minutes.",
         "the Kyoto National Museum, Nishiki Market and a tea ceremony", 140),
    City("Edinburgh", ("Edinburgh Castle and the Royal Mile", "a walk up Arthur's Seat",
                       "the National Museum of Scotland (free)", "Dean Village and the Water of "
                       "Leith walkway", "Leith for dinner by the water",
                       "a day trip into the Highlands on a small-group tour"),
         "haggis (there are good vegetarian versions), fresh seafood and shortbread",
         "The tram runs from the airport to the city centre in about 30 minutes; the Airlink "
         "bus is similar and runs through the night.",
         "the National Museum, the Scottish National Gallery and the underground vault tours",
         150),
    City("Mexico City", ("the Centro Histórico and the Zócalo", "Chapultepec Park and the "
                         "National Museum of Anthropology", "Coyoacán and the Frida Kahlo "
                         "Museum (book ahead)", "a trajinera boat in Xochimilco",
                         "a day trip to the pyramids of Teotihuacan",
                         "Roma and Condesa for cafés and street life"),
         "tacos al pastor, tamales and mole",
         "Authorised airport taxis from the booths inside the terminal take 30–60 minutes "
         "depending on traffic; buy the ticket before you leave the building.",
         "the Anthropology Museum, the Palacio de Bellas Artes and a cooking class", 90),
    City("Copenhagen", ("Nyhavn and a canal boat tour", "Tivoli Gardens",
                        "the Design Museum", "a bike ride to Refshaleøen's food market",
                        "a day trip to the Louisiana art museum on the coast",
                        "the Round Tower and the old town"),
         "smørrebrød, cinnamon pastries and new Nordic food",
         "The metro runs from the airport to the centre in about 15 minutes, day and night.",
         "the National Museum, the Glyptotek and the Design Museum", 170),
    City("Seoul", ("Gyeongbokgung Palace and the changing of the guard",
                   "Bukchon's hanok village", "Myeongdong for street food in the evening",
                   "a walk or bike ride along the Han River", "the Dongdaemun Design Plaza",
                   "a day trip to the DMZ on a guided tour"),
         "Korean barbecue, bibimbap and street-food tteokbokki",
         "The AREX express train reaches Seoul Station from Incheon in about 45 minutes.",
         "the National Museum of Korea, the COEX aquarium and a jjimjilbang (bathhouse)", 120),
]
TRAVELLERS = [("my partner and me", 2, ""),
              ("our family, two kids aged 8 and 11", 4,
               "With kids, I've kept mornings busy and afternoons lighter; build in a snack stop."),
              ("just me, solo", 1, ""),
              ("two friends and me", 3, ""),
              ("my parents, who are in their seventies", 2,
               "For your parents, I'd use taxis for the hilly or long stretches.")]
TRAVEL_SYSTEMS = [
    "You are a friendly travel planner. Suggest realistic day plans that don't rush, and "
    "mention public transport where it's practical.",
    "You are a travel assistant for budget-conscious travellers. Give prices as rough ranges.",
    "Plan trips day by day, with two or three main activities per day.",
]


SPARE = ["a slow breakfast and a wander with no plan", "a guided walking tour of the centre",
         "a food market and a long lunch", "a park and some people-watching",
         "a neighbourhood you haven't seen yet", "shopping for small souvenirs"]
# fmt: on


def itinerary(rng: Random, city: City, days: int) -> list[str]:
    slots = rng.sample(city.sights, len(city.sights)) + rng.sample(SPARE, len(SPARE))
    plan = []
    for d in range(days):
        evening = rng.choice(
            [
                "dinner somewhere local",
                "an early night",
                f"try {city.food.split(', ')[0]}",
                "a relaxed evening stroll",
            ]
        )
        if "day trip" in slots[0]:
            plan.append(f"**Day {d + 1}:** {slots.pop(0)}; back for {evening}.")
            continue
        morning = slots.pop(0)
        afternoon = next(s for s in slots if "day trip" not in s)
        slots.remove(afternoon)
        plan.append(
            f"**Day {d + 1}:** morning, {morning}; afternoon, {afternoon}; evening, {evening}."
        )
    return plan


def travel(rng: Random, turns: int) -> Chat:
    city, days = rng.choice(CITIES), rng.randint(2, 5)
    who, people, tip = rng.choice(TRAVELLERS)
    month = rng.choice(["March", "May", "June", "September", "October", "December"])
    ask = rng.choice(
        [
            f"Plan a {days}-day trip to {city.name} for {who} in {month}.",
            f"Going to {city.name} for {days} days in {month} ({who}). What is worth doing?",
            f"{days} days in {city.name} for {who}, itinerary?",
        ]
    )
    plan = "\n".join(itinerary(rng, city, days))
    reply = f"Here's a relaxed {days}-day plan for {city.name}:\n\n{plan}"
    reply += f"\n\n{tip}" if tip else ""
    budget = city.cost * people * days
    followups: list[FollowUp] = [
        lambda r, p: ("How do we get from the airport to the city?", city.airport),
        lambda r, p: (
            "What if it rains one of the days?",
            f"Swap the outdoor parts for {city.rain}. Keep the indoor options for the "
            "afternoon, when showers are often heavier.",
        ),
        lambda r, p: (
            f"Roughly how much should we budget for the {days} days?",
            f"For a mid-range trip, plan on about €{city.cost} per person per day for "
            f"food, transport and entry tickets, so around €{budget:,} in total for "
            f"{people} {'person' if people == 1 else 'people'}, not counting "
            "accommodation and flights.",
        ),
        lambda r, p: (
            "What food should we try?",
            f"Don't leave without trying {city.food}. Markets and small family-run "
            "places are usually better value than restaurants on the main squares.",
        ),
    ]
    return maybe_system(rng, TRAVEL_SYSTEMS), fill_turns(rng, [(ask, reply)], followups, turns)


# --- cooking -------------------------------------------------------------------------------


class Recipe(NamedTuple):
    name: str
    serves: int
    ingredients: tuple[tuple[float, str, str], ...]  # quantity (0 = to taste), unit, what
    steps: tuple[str, ...]
    keeps: str
    swap: tuple[str, str]  # ingredient, substitute advice
    veg: str


# fmt: off
RECIPES = [
    Recipe("shakshuka", 2, ((1, "tbsp", "olive oil"), (1, "", "onion, sliced"),
                            (1, "", "red pepper, sliced"), (2, "cloves", "garlic"),
                            (1, "tsp", "ground cumin"), (1, "tsp", "smoked paprika"),
                            (400, "g", "tinned chopped tomatoes"), (4, "", "eggs"),
                            (0, "", "parsley or coriander")),
           ("Soften the onion and pepper in the oil over medium heat for 8–10 minutes.",
            "Add the garlic and spices and cook for a minute until fragrant.",
            "Pour in the tomatoes, season and simmer for 10 minutes until thick.",
            "Make four wells, crack in the eggs, cover and cook for 6–8 minutes until the whites "
            "are set.", "Scatter over the herbs and serve straight from the pan."),
           "The sauce keeps 3 days in the fridge; cook the eggs fresh when you reheat it.",
           ("smoked paprika", "Use sweet paprika plus a pinch of chilli flakes; you lose the "
            "smokiness but keep the warmth."),
           "It's already vegetarian. For a vegan version, swap the eggs for chickpeas or cubes "
           "of firm tofu stirred into the sauce."),
    Recipe("banana bread", 8, ((3, "", "very ripe bananas"), (75, "g", "melted butter"),
                               (150, "g", "brown sugar"), (1, "", "egg"),
                               (1, "tsp", "vanilla extract"), (1, "tsp", "baking soda"),
                               (190, "g", "plain flour"), (0.5, "tsp", "salt")),
           ("Heat the oven to 175 °C and line a loaf tin.",
            "Mash the bananas, then stir in the butter, sugar, egg and vanilla.",
            "Fold in the baking soda, salt and flour until just combined.",
            "Bake for 55–65 minutes, until a skewer comes out clean.",
            "Cool in the tin for 10 minutes before turning out."),
           "It keeps 3–4 days wrapped at room temperature, or 3 months frozen in slices.",
           ("egg", "Use 3 tablespoons of yoghurt or a flax egg (1 tbsp ground flaxseed plus 3 "
            "tbsp water, left for 5 minutes)."),
           "It's vegetarian as written; for vegan, use a flax egg and coconut oil."),
    Recipe("red lentil soup", 4, ((1, "tbsp", "olive oil"), (1, "", "onion, chopped"),
                                  (2, "", "carrots, chopped"), (2, "cloves", "garlic"),
                                  (2, "tsp", "ground cumin"), (200, "g", "red lentils"),
                                  (1.2, "litres", "vegetable stock"), (0.5, "", "lemon, juiced")),
           ("Soften the onion and carrot in the oil for 5 minutes.",
            "Stir in the garlic and cumin for a minute.",
            "Add the rinsed lentils and stock, bring to the boil and simmer for 20 minutes.",
            "Blend until smooth, or leave it chunky, then add the lemon juice and season."),
           "It keeps 4 days in the fridge and freezes well for 3 months; it thickens, so add a "
           "splash of water when reheating.",
           ("red lentils", "Yellow split peas work but need 40–45 minutes; green lentils hold "
            "their shape, so the soup won't be smooth."),
           "It's already vegan as long as the stock is vegetable stock."),
    Recipe("pancakes", 4, ((200, "g", "plain flour"), (2, "tsp", "baking powder"),
                           (1, "tbsp", "sugar"), (2, "", "eggs"), (300, "ml", "milk"),
                           (30, "g", "melted butter"), (0, "", "a pinch of salt")),
           ("Whisk the flour, baking powder, sugar and salt in a bowl.",
            "Whisk the eggs, milk and butter separately, then stir into the dry ingredients "
            "until just combined — a few lumps are fine.",
            "Cook ladlefuls in a lightly oiled pan over medium heat until bubbles appear, then "
            "flip and cook for another minute."),
           "Cooked pancakes keep 2 days in the fridge or a month frozen; reheat in a toaster.",
           ("milk", "Any plant milk works; oat milk gives the closest result."),
           "They're vegetarian. For vegan pancakes use plant milk, oil instead of butter, and "
           "replace each egg with 3 tablespoons of apple purée."),
    Recipe("mushroom risotto", 3, ((1, "tbsp", "olive oil"), (25, "g", "butter"),
                                   (1, "", "shallot, finely chopped"),
                                   (250, "g", "chestnut mushrooms, sliced"),
                                   (200, "g", "risotto rice"), (100, "ml", "dry white wine"),
                                   (900, "ml", "hot vegetable stock"), (40, "g", "parmesan")),
           ("Fry the mushrooms in the oil on high heat until golden, then set aside.",
            "Soften the shallot in the butter, add the rice and stir for a minute.",
            "Add the wine and let it bubble away.",
            "Add the stock a ladle at a time, stirring, for about 18 minutes until creamy.",
            "Stir in the mushrooms and parmesan, rest for 2 minutes and serve."),
           "It's best fresh, but leftovers keep a day in the fridge and make great arancini.",
           ("white wine", "Use an extra ladle of stock with a squeeze of lemon juice."),
           "Traditional parmesan uses animal rennet; use a vegetarian hard cheese to keep it "
           "vegetarian."),
]
COOKING_SYSTEMS = [
    "You are a home-cooking assistant. Use metric measurements and give timings.",
    "You are a friendly chef who gives simple, reliable recipes for weeknight cooking.",
    "Answer cooking questions concisely. Use numbered steps for methods.",
]
# fmt: on
FRACTIONS = {0.25: "¼", 0.5: "½", 0.75: "¾"}


def quantity(q: float, unit: str, what: str, factor: float = 1.0) -> str:
    if q == 0:
        return what
    amount = q * factor
    if amount <= 1 and unit.endswith("s"):
        unit = unit[:-1]
    if unit in ("g", "ml") and amount >= 1000:
        text = f"{amount / 1000:g} {'kg' if unit == 'g' else 'litres'}"
    elif unit in ("g", "ml"):
        text = f"{max(5, round(amount / 5) * 5):g} {unit}"
    elif unit.startswith("litre"):
        text = f"{amount:.1f} {unit}"
    elif unit == "" and amount >= 1:
        count = max(1, math.ceil(amount - 0.25))
        head, _, rest = what.partition(",")
        if count > 1 and not head.endswith("s"):
            what = f"{head}s" + (f",{rest}" if rest else "")
        text = f"{count}"
    else:
        whole, frac = divmod(round(amount * 4) / 4, 1)
        text = (f"{int(whole)}" if whole else "") + FRACTIONS.get(frac, "") or "¼"
        text += f" {unit}" if unit else ""
    return f"{text} {what}"


def recipe_text(r: Recipe, people: int) -> str:
    f = people / r.serves
    items = bullets([quantity(q, u, w, f) for q, u, w in r.ingredients])
    return f"**Ingredients (serves {people})**\n{items}\n\n**Method**\n{numbered(r.steps)}"


def cooking(rng: Random, turns: int) -> Chat:
    r = rng.choice(RECIPES)
    people = rng.choice([r.serves, r.serves, 2, 4, 6])
    ask = rng.choice(
        [
            f"How do I make {r.name}?",
            f"Can you give me a simple recipe for {r.name} for {people}?",
            f"{r.name} recipe pls",
        ]
    )
    serves = people if str(people) in ask else r.serves
    reply = f"Here's an easy {r.name}:\n\n{recipe_text(r, serves)}"
    more = rng.choice([n for n in (2, 4, 6, 8, 10, 12) if n != serves])
    followups: list[FollowUp] = [
        lambda rr, p: (f"I don't have {r.swap[0]}, what can I use instead?", r.swap[1]),
        lambda rr, p: (
            f"Can you scale it for {more} people?",
            f"Sure, scaled for {more}:\n\n{recipe_text(r, more)}\n\nCooking times "
            "stay roughly the same; use a bigger pan so it isn't crowded.",
        ),
        lambda rr, p: (
            "Can I make it vegetarian?" if "vegan" not in r.veg else "Is it vegetarian?",
            r.veg,
        ),
        lambda rr, p: ("How long does it keep?", r.keeps),
    ]
    rng.shuffle(followups)
    return maybe_system(rng, COOKING_SYSTEMS), fill_turns(rng, [(ask, reply)], followups, turns)


# --- maths word problems (answers computed, so they are right) ------------------------------


class Solved(NamedTuple):
    text: str
    steps: list[str]
    answer: str
    wrong: str  # a typical wrong answer, for "can you check my answer?"
    slip: str  # the mistake that produces it


def hours_minutes(hours: float) -> str:
    h, m = divmod(round(hours * 60), 60)
    parts = [f"{h} hour{'s' * (h != 1)}"] if h else []
    parts += [f"{m} minute{'s' * (m != 1)}"] if m else []
    return " ".join(parts) or "0 minutes"


def discount(p: dict[str, Any]) -> Solved:
    price, disc, tax = p["price"], p["disc"], p["tax"]
    off = price * disc / 100
    sale = price - off
    vat = float((Decimal(str(sale)) * tax / 100).quantize(Decimal("0.01"), ROUND_HALF_UP))
    return Solved(
        f"A {p['item']} costs €{price}. It's on sale for {disc}% off, and then {tax}% tax is "
        "added to the sale price. How much do you pay?",
        [
            f"Discount: {disc}% of €{price} is €{off:.2f}, so the sale price is €{sale:.2f}.",
            f"Tax: {tax}% of €{sale:.2f} is €{vat:.2f}.",
            f"Total: €{sale:.2f} + €{vat:.2f} = €{sale + vat:.2f}.",
        ],
        f"€{sale + vat:.2f}",
        f"€{price * (1 - disc / 100 + tax / 100):.2f}",
        "adding and subtracting the percentages on the original price, but the tax applies to "
        "the already discounted price",
    )


def trains(p: dict[str, Any]) -> Solved:
    d, v1, v2 = p["d"], p["v1"], p["v2"]
    t = d / (v1 + v2)
    start = dt.datetime(2024, 1, 1, p["hour"], 0)
    meet = start + dt.timedelta(minutes=round(t * 60))
    return Solved(
        f"Two trains start at {start:%H:%M} from towns {d} km apart and travel towards each "
        f"other, one at {v1} km/h and the other at {v2} km/h. When do they meet, and how far "
        "from the first town?",
        [
            f"They close the gap at {v1} + {v2} = {v1 + v2} km/h.",
            f"Time to meet: {d} ÷ {v1 + v2} = {t:.2f} h, which is {hours_minutes(t)}.",
            f"Clock time: {start:%H:%M} + {hours_minutes(t)} = {meet:%H:%M}.",
            f"Distance covered by the first train: {v1} × {t:.2f} ≈ {v1 * t:.0f} km.",
        ],
        f"they meet at {meet:%H:%M}, about {v1 * t:.0f} km from the first town",
        f"{hours_minutes(d / abs(v1 - v2 or 10))} after they set off",
        "using the difference of the speeds, which is for trains going the same way",
    )


def work_rate(p: dict[str, Any]) -> Solved:
    names, times = p["names"], p["times"]
    t = 1 / sum(1 / x for x in times)
    who = ", ".join(f"{n} alone takes {x} hours" for n, x in zip(names, times, strict=True))
    rates = " + ".join(f"1/{x}" for x in times)
    return Solved(
        f"Painting a fence: {who}. How long does it take if they all work together?",
        [
            f"Each person paints a fraction of the fence per hour: {rates}.",
            f"Together that's {sum(1 / x for x in times):.3f} of the fence per hour.",
            f"Time = 1 ÷ {sum(1 / x for x in times):.3f} = {t:.2f} hours.",
        ],
        hours_minutes(t),
        hours_minutes(sum(times) / len(times)),
        "averaging the times, but working together must be faster than the fastest person alone",
    )


def interest(p: dict[str, Any]) -> Solved:
    principal, rate, years = p["principal"], p["rate"], p["years"]
    total = principal * (1 + rate / 100) ** years
    return Solved(
        f"You put €{principal:,} in a savings account paying {rate}% interest a year, "
        f"compounded yearly. How much is there after {years} years?",
        [
            f"Each year multiplies the balance by 1 + {rate}/100 = {1 + rate / 100}.",
            f"After {years} years: €{principal:,} × {1 + rate / 100}^{years} = €{total:,.2f}.",
            f"That's €{total - principal:,.2f} of interest.",
        ],
        f"€{total:,.2f}",
        f"€{principal * (1 + rate * years / 100):,.2f}",
        "using simple interest, which ignores the interest earned on earlier interest",
    )


def average_needed(p: dict[str, Any]) -> Solved:
    scores, target = p["scores"], p["target"]
    need = target * (len(scores) + 1) - sum(scores)
    listed = ", ".join(map(str, scores))
    verdict = f"{need}" if need <= 100 else f"{need}, which isn't possible on a 100-point test"
    if need <= 0:
        verdict = f"nothing special: even a 0 keeps you at an average of {target} or more"
    return Solved(
        f"I scored {listed} on my first {len(scores)} tests. What do I need on the next one to "
        f"average {target}?",
        [
            f"An average of {target} over {len(scores) + 1} tests needs a total of "
            f"{target} × {len(scores) + 1} = {target * (len(scores) + 1)}.",
            f"So far you have {' + '.join(map(str, scores))} = {sum(scores)}.",
            f"You need {target * (len(scores) + 1)} − {sum(scores)} = {need}.",
        ],
        verdict,
        str(target),
        "aiming for the target itself, which only works if your earlier "
        "scores already average exactly the target",
    )


# fmt: off
MATHS: list[tuple[Callable[[Random], dict[str, Any]], Callable[[dict[str, Any]], Solved],
                  Callable[[Random, dict[str, Any]], tuple[str, dict[str, Any]]]]] = [
    (lambda r: dict(item=r.choice(["jacket", "blender", "pair of boots", "desk chair"]),
                    price=r.randrange(40, 255, 5), disc=r.randrange(10, 45, 5),
                    tax=r.choice([5, 8, 10, 20])),
     discount, lambda r, p: (f"What if the discount were {p['disc'] + 10}% instead?",
                             {**p, "disc": p["disc"] + 10})),
    (lambda r: dict(v1=r.randrange(60, 130, 10), v2=r.randrange(50, 120, 10),
                    d=r.choice([150, 210, 240, 270, 300, 330]), hour=r.randint(6, 16)),
     trains, lambda r, p: (f"And if the second train only managed {p['v2'] - 20} km/h?",
                           {**p, "v2": p["v2"] - 20})),
    (lambda r: dict(names=r.sample(FIRST, 2), times=sorted(r.sample(range(2, 13), 2))),
     work_rate, lambda r, p: (f"What if a friend who takes {p['times'][1] + 2} hours alone "
                              "joined them?",
                              {"names": [*p["names"], "the friend"],
                               "times": [*p["times"], p["times"][1] + 2]})),
    (lambda r: dict(principal=r.randrange(1000, 10500, 500), rate=r.randint(2, 6),
                    years=r.randint(3, 10)),
     interest, lambda r, p: (f"And after {p['years'] * 2} years?",
                             {**p, "years": p["years"] * 2})),
    (lambda r: dict(scores=[r.randint(62, 90) for _ in range(r.randint(2, 4))],
                    target=r.randrange(70, 90, 5)),
     average_needed, lambda r, p: (f"What would I need to average {p['target'] + 5}?",
                                   {**p, "target": p["target"] + 5})),
]
MATHS_SYSTEMS = [
    "You are a maths tutor. Solve word problems step by step, show the arithmetic, and state "
    "the final answer clearly at the end.",
    "You help students with maths homework. Explain each step in plain language and keep the "
    "units.",
    "Be a careful, encouraging tutor: check the student's work before giving the answer.",
]
# fmt: on


def worked(s: Solved) -> str:
    return f"{numbered(s.steps)}\n\n**Answer:** {s.answer}."


def maths(rng: Random, turns: int) -> Chat:
    make, solve, tweak = rng.choice(MATHS)
    p = make(rng)
    first = solve(p)
    question, p2 = tweak(rng, p)
    practice = solve(make(rng))
    followups: list[FollowUp] = [
        lambda r, pairs: (
            f"Can you check my answer? I got {first.wrong}.",
            f"Not quite: the answer is {first.answer}. It looks like you were {first.slip}.",
        ),
        lambda r, pairs: (question, worked(solve(p2))),
        lambda r, pairs: (
            "Give me a similar one to practise.",
            f"Try this one:\n\n{practice.text}\n\nTell me your answer and I'll check it.",
        ),
        lambda r, pairs: (
            (f"My answer: {practice.answer}.", "Correct, well done! " + practice.steps[-1])
            if "practise" in pairs[-1][0]
            else quick_question(r, pairs)
        ),
    ]
    ask = rng.choice(["", "Can you help me with this? ", "Homework question: "]) + first.text
    return maybe_system(rng, MATHS_SYSTEMS), fill_turns(
        rng, [(ask, worked(first))], followups, turns
    )


# --- general assistant: writing and explanations ---------------------------------------------

# fmt: off
EXPLAIN = [
    ("inflation",
     "Inflation means prices in general go up over time, so the same money buys a bit less. If "
     "a comic costs €5 this year and €5.20 next year, that's 4% inflation. It happens when "
     "people want to buy more than shops can supply, or when making things gets more expensive.",
     "Central banks usually aim for about 2% a year. They fight higher inflation by raising "
     "interest rates, which makes borrowing dearer and cools spending; very low or negative "
     "inflation is also a worry, because people delay purchases and the economy slows."),
    ("how vaccines work",
     "A vaccine shows your body a harmless preview of a germ: a weakened or dead version, or "
     "just one piece of it. Your immune system practises on it and remembers, so if the real "
     "germ turns up later it can fight it off fast, before you get very ill.",
     "The memory lives in B cells, which make antibodies, and T cells, which kill infected "
     "cells. Boosters refresh that memory, and because so many people are protected, the germ "
     "struggles to spread to those who can't be vaccinated."),
    ("why the sky is blue",
     "Sunlight contains all colours. When it hits the air, the tiny gas molecules bounce blue "
     "light around much more than red light, so blue comes at you from every direction of the "
     "sky. At sunset the light travels through more air, the blue gets scattered away, and you "
     "see the reds and oranges.",
     "This is Rayleigh scattering: its strength goes with one over the wavelength to the fourth "
     "power, so blue light (about 450 nm) scatters roughly five times more than red (about "
     "700 nm). Violet scatters even more, but the sun emits less of it and our eyes are less "
     "sensitive to it."),
    ("how planes stay in the air",
     "A plane's wings are shaped and tilted so they push air downwards as the plane moves "
     "forward. Pushing air down pushes the wing up, and that upward push is called lift. The "
     "engines keep the plane moving fast enough for the wings to make enough lift.",
     "Lift depends on air density, wing area, the square of the speed and the angle of attack. "
     "Tilt the wing too much and the airflow separates from its upper surface: that's a stall, "
     "and lift drops suddenly."),
]
BUSINESSES = {
    "bakery": ["Rise & Shine", "The Daily Crumb", "Flour Power", "Golden Crust", "Knead to Know"],
    "bike repair shop": ["Spoke & Chain", "The Flat Fix", "Gear Up", "Pedal Doctor",
                         "Two Wheels Good"],
    "podcast about gardening": ["Dig Deeper", "The Compost Heap", "Rooted", "Grow Slow",
                                "Weeds & Words"],
    "board-game café": ["Roll & Brew", "The Meeple House", "Dice & Slice", "Checkmate Café",
                        "Game Night"],
}
GENERAL_SYSTEMS = [
    "You are a helpful assistant. Answer briefly unless asked for detail.",
    "You are a friendly assistant. Keep answers short and practical.",
    "You are a helpful, honest assistant. If you are unsure, say so.",
]
# fmt: on


def decline_email(rng: Random) -> tuple[Pair, list[FollowUp]]:
    to, me = rng.choice(FIRST), rng.choice(FIRST)
    event = rng.choice(
        [
            "Thursday's planning workshop",
            "the launch party",
            "next week's offsite",
            "the vendor demo on Monday",
        ]
    )
    ask = f"Write a polite email to {to} declining {event}. I'm {me}."
    body = (
        f"Hi {to},\n\nThank you for the invitation to {event}. Unfortunately I won't be able "
        "to attend, as I have a prior commitment I can't move. I'm sorry to miss it, and "
        "I'd be glad to catch up on the outcome afterwards, or to send my input in "
        f"writing beforehand if that helps.\n\nBest regards,\n{me}"
    )
    casual = (
        f"Hi {to},\n\nThanks so much for the invite! Sadly I can't make {event}, I've "
        "got something I can't move. Hope it goes really well, and let's catch up after."
        f"\n\nCheers,\n{me}"
    )
    return (ask, body), [
        lambda r, p: ("Make it a bit more casual.", casual),
        lambda r, p: (
            "Shorter please, two lines.",
            f"Hi {to}, thanks for the invite. I'm afraid I can't make {event}, but "
            f"I'd love to hear how it goes.\n{me}",
        ),
    ]


def general(rng: Random, turns: int) -> Chat:
    kind = rng.randrange(4)
    followups: list[FollowUp] = []
    if kind == 0:
        opening, followups = decline_email(rng)
    elif kind == 1:
        topic, simple, detail = rng.choice(EXPLAIN)
        opening = (f"Explain {topic} like I'm ten.", simple)
        followups = [lambda r, p: ("Now a bit more detail, for an adult.", detail)]
    elif kind == 2:
        business, names = rng.choice(list(BUSINESSES.items()))
        picks = rng.sample(names, 4)
        opening = (
            f"Give me some name ideas for a {business}.",
            "A few ideas:\n\n" + bullets(picks[:3]) + "\n\nCheck that the domain name "
            "and social handles are free before you commit to one.",
        )
        followups = [
            lambda r, p: (
                "One more, something a bit quirkier?",
                f'How about "{picks[3]}"? It\'s playful and easy to remember.',
            )
        ]
    else:
        opening = quick_question(rng, [])
    return maybe_system(rng, GENERAL_SYSTEMS), fill_turns(rng, [opening], followups, turns)


# --- assembly ------------------------------------------------------------------------------

# fmt: off
DOMAINS: list[tuple[Callable[[Random, int], Chat], int]] = [
    (support, 18), (coding, 16), (summarise, 12), (extraction, 12), (travel, 10),
    (cooking, 10), (maths, 10), (general, 12),
]
# fmt: on


def make_conversation(seed: str, index: int) -> dict[str, Any]:
    rng = Random(f"{seed}:{index}")
    domain = weighted(rng, DOMAINS)
    system, pairs = domain(rng, weighted(rng, TURN_WEIGHTS))
    messages = [{"role": "system", "content": system}] if system else []
    for user, assistant in pairs:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"id": f"sample-{index:04d}", "messages": messages}


def generate(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` conversations whose first requests all differ (a repeat is re-drawn with a new
    seed), so that a server's prefix cache does not make the sample look faster than traffic."""
    seen: set[str] = set()
    records = []
    for index in range(1, count + 1):
        # Bounded, so a huge --count cannot loop forever once short prompts run out.
        for attempt in range(1000):
            record = make_conversation(f"{seed}" + (f"/{attempt}" if attempt else ""), index)
            messages = record["messages"]
            head = messages[: 2 if messages[0]["role"] == "system" else 1]
            key = json.dumps([m["content"] for m in head])
            if key not in seen:
                break
        seen.add(key)
        records.append(record)
    return records


def stats_line(records: list[dict[str, Any]], size: int) -> str:
    turns = Counter(sum(m["role"] == "user" for m in r["messages"]) for r in records)
    prompts = [len(m["content"]) for r in records for m in r["messages"] if m["role"] == "user"]
    systems = sum(r["messages"][0]["role"] == "system" for r in records)
    spread = " ".join(f"{k}:{turns[k]}" for k in sorted(turns))
    return (
        f"{len(records)} conversations, turns {spread}, {systems} with a system message, "
        f"user message {min(prompts)}–{max(prompts)} chars, {size / 1e6:.2f} MB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSONL file")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="conversations")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    records = generate(args.count, args.seed)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8", newline="\n")
    print(f"{args.out}: {stats_line(records, len(text.encode('utf-8')))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
