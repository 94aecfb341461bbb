"""Does a model degrade under load? A sample of its replies, held against a calm baseline.

``--sample-outputs N`` keeps a uniform sample (reservoir, seeded) of N successful replies per
model over the run, with when they came and how many users were loading the model then;
``--baseline MODEL=SNAPSHOT`` compares each sampled reply with the same prompt's answer in a
snapshot taken at low load (``loadprofile snapshot``), with the measures of ``diff``. Replies
that differ under load (other text, shorter, refusals) are the signal; a model that is not
deterministic at temperature 0 drifts at low load too, which a snapshot diffed against a
second one of itself shows. Pure: the session offers results, the recorder writes and judges.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from loadprofile.contract.summary import Drift, PairRates
from loadprofile.core.results import RequestResult
from loadprofile.quality.drift import compare
from loadprofile.quality.snapshot_format import output_from_json, output_of, read_outputs


class OutputSampler:
    def __init__(self, per_model: int, seed: int = 0) -> None:
        self.per_model = per_model
        self._rng = random.Random(seed)
        self._seen: Counter[str] = Counter()
        self._kept: dict[str, list[dict[str, Any]]] = {}

    def offer(self, result: RequestResult, t_s: float, users: int) -> None:
        """Algorithm R: every successful reply has the same chance to be kept."""
        if self.per_model <= 0 or not result.ok:
            return
        model = result.model
        self._seen[model] += 1
        kept = self._kept.setdefault(model, [])
        slot = len(kept) if len(kept) < self.per_model else self._rng.randrange(self._seen[model])
        if slot < self.per_model:
            item = sample_of(result, t_s, users)
            if slot == len(kept):
                kept.append(item)
            else:
                kept[slot] = item

    def samples(self) -> list[dict[str, Any]]:
        return [item for model in sorted(self._kept) for item in self._kept[model]]


def sample_of(result: RequestResult, t_s: float, users: int) -> dict[str, Any]:
    """One line of samples.jsonl: the reply as a snapshot line, with when and at what load."""
    return {
        "model": result.model,
        "t_s": round(t_s, 3),
        "users": users,
        **asdict(output_of(result)),
    }


def drift_against_baseline(samples: list[dict[str, Any]], baseline: Path) -> Drift:
    """summary.json's correctness[M]["drift"]: the sampled replies against the snapshot's
    answers to the same prompts (samples of prompts the snapshot lacks are counted)."""
    under_load = {str(s["key"]): output_from_json(s) for s in samples}
    calm = read_outputs(baseline)
    result = compare(
        {k: calm[k] for k in under_load.keys() & calm.keys()}, under_load, None, worst=0
    ).to_json()
    return Drift(
        baseline=str(baseline),
        sampled=len(under_load),
        compared=result["compared"],
        not_in_baseline=len(under_load.keys() - calm.keys()),
        exact_match_rate=result["exact_match_rate"],
        edit_distance_mean=result["edit_distance"]["mean"],
        edit_distance_p90=result["edit_distance"]["p90"],
        length_ratio_median=result["length_ratio"]["median"],
        output_tokens_ratio=result["output_tokens_ratio"]["total"],
        refusal_rate=PairRates(**result["refusal_rate"]),
        empty_rate=PairRates(**result["empty_rate"]),
    )
