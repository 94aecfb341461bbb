"""The mock's made-up products read as names of their own: the grounding check, which finds
them in a reply, extracts exactly the invented name, never a following word with it."""

from __future__ import annotations

import dataclasses

from loadprofile.mock.generation import plan_from_seed
from loadprofile.mock.profiles import BUILTIN_PROFILES
from loadprofile.quality.grounding import Grounding

MESSAGES = [{"role": "user", "content": "Recommend something."}]


def test_the_invented_name_is_what_grounding_flags() -> None:
    profile = dataclasses.replace(
        BUILTIN_PROFILES["mock-small"],
        invent_entities=1.0,
        output_tokens_min=40,
        output_tokens_max=60,
    )
    check = Grounding(("Known Thing",))
    invented = 0
    for seed in range(300):
        plan = plan_from_seed(profile, seed, MESSAGES, None)
        if plan.invented is None:
            continue
        invented += 1
        assert check.ungrounded("".join(plan.chunks), "") == [plan.invented], seed
    assert invented > 250
