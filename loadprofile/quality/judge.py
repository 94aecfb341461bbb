"""What a finished request is held against before it is counted: the response contract
(``--content-schema``), its price and the grounding check (``--entities``) (pure).

Judged on the load generator as each request ends, so the figures, the run folder's
contract examples and the gate all see the same verdicts.
"""

from __future__ import annotations

from loadprofile.config.pricing import request_cost
from loadprofile.config.run_config import RunConfig
from loadprofile.core.results import ErrorClass, RequestResult
from loadprofile.dataset.conversations import Conversation, build_messages
from loadprofile.quality.content_check import ContentCheck
from loadprofile.quality.grounding import Grounding


class RequestJudge:
    def __init__(self, config: RunConfig, conversations: list[Conversation]) -> None:
        content = config.content
        self.content_check = (
            ContentCheck(content.schema, content.extract) if content.schema is not None else None
        )
        self.prices = dict(config.prices)
        self.grounding = Grounding(config.entities) if config.entities else None
        self._by_id = {c.id: c for c in conversations}
        #: Nothing to judge against (no schema, prices or entities): callers skip judge().
        self.idle = self.content_check is None and not self.prices and self.grounding is None

    def judge(self, result: RequestResult) -> None:
        """Mark ``result``: a contract error when its content breaks the schema, its cost,
        and the names in it found neither among the known entities nor in its prompt."""
        if self.content_check is not None and result.ok:
            violation = self.content_check.violation(result.content)
            result.json_valid = violation is None
            if violation is not None:
                result.error_class, result.error = ErrorClass.CONTRACT, violation
        price = self.prices.get(result.model)
        if price is not None:
            result.cost_usd, result.retry_cost_usd = request_cost(price, result)
        if self.grounding is not None and result.ok:
            result.ungrounded = tuple(
                self.grounding.ungrounded(result.content, self._context(result))
            )

    def _context(self, result: RequestResult) -> str:
        """The prompt's own text (system and every message up to the turn), recorded history."""
        conv = self._by_id.get(result.conversation_id)
        if conv is None:
            return ""
        return "\n".join(m.get("content", "") for m in build_messages(conv, result.turn - 1, None))
