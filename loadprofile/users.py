"""``ChatUser``: a Locust user that replays recorded conversations turn by turn.

Each user is given one target (model) and walks conversations from the shared dataset:
turn 1, think, turn 2 with the history, and so on. With ``--history recorded`` (default) the
history holds the recorded assistant replies, so every model sees byte-identical prompts.
Importing this module also registers the event hooks that make plain ``locust -f`` runs
write the same run folder (``loadprofile.locust_plugin``).
"""

from __future__ import annotations

import logging
import random

import gevent
from locust import User, events, task
from locust.exception import StopUser

from loadprofile import locust_plugin  # noqa: F401  (registers the event hooks)
from loadprofile.apis.openai_chat import chat_request
from loadprofile.config import Target
from loadprofile.dataset import Conversation, build_messages
from loadprofile.http.client import HttpClient, TransportError
from loadprofile.results import ErrorClass, RequestResult
from loadprofile.session import RunSession, active
from loadprofile.streaming import send_chat

log = logging.getLogger("loadprofile")


def _think(user: ChatUser) -> float:
    low, high = user.session.config.load.think_time_s
    return user.rng.uniform(low, high) if high > 0 else 0.0


class ChatUser(User):
    """Replays conversations against the target the run session assigns it.

    Abstract: a locustfile subclasses it (and may set ``default_models``), so that Locust
    spawns exactly one user class; ``loadprofile run`` uses ``RunChatUser``.
    """

    abstract = True
    wait_time = _think
    default_models: tuple[str, ...] = ()

    session: RunSession
    target: Target
    client: HttpClient
    rng: random.Random

    def on_start(self) -> None:
        session = active()
        if session is None:
            raise RuntimeError("no loadprofile run session: start runs with `loadprofile run`")
        self.session = session
        self.target = session.assign_target()
        self.client = session.client_for(self.target)
        self.rng = random.Random(session.user_seed())

    def on_stop(self) -> None:
        if hasattr(self, "client"):
            self.client.close()
            self.session.release_target(self.target)

    @task
    def replay_conversation(self) -> None:
        if self.session.stopping:
            # The run is draining: a user that returned at once would be re-run by Locust
            # in a tight loop (no think time) and eat the CPU the last streams need.
            raise StopUser()
        conversation = self.session.next_conversation(self.target)
        live: list[str] = []
        live_history = self.session.config.load.history == "live"
        for index in range(len(conversation.turns)):
            if self.session.stopping:
                return
            if index:
                gevent.sleep(_think(self))
            result = self._send_turn(conversation, index, live if live_history else None)
            if live_history and not result.ok:
                return  # no reply to carry on with; a real user would start over
            live.append(result.content)

    def _send_turn(self, conv: Conversation, index: int, live: list[str] | None) -> RequestResult:
        load = self.session.config.load
        turn = conv.turns[index]
        messages = build_messages(conv, index, live)
        max_tokens = turn.max_tokens if turn.max_tokens is not None else load.max_tokens
        body = chat_request(self.target.model, messages, max_tokens)
        result = RequestResult(self.target.name, conv.id, index + 1, 0.0)
        # One timer per request bounds it (the client's sockets have no read timeouts).
        expired = TransportError(ErrorClass.TIMEOUT, f"no complete answer in {load.timeout_s:g}s")
        self.session.begin(result)
        try:
            with gevent.Timeout(load.timeout_s, expired):
                send_chat(self.client, body, result)
        except Exception as exc:  # boundary: a bug of ours must not lose the request
            result.error_class = ErrorClass.STREAM_MALFORMED
            result.error = f"internal error: {type(exc).__name__}: {exc}"[:500]
            self.client.close()
            log.exception("loadprofile: unexpected error in a request (counted as a failure)")
        finally:
            recorded_by_stop = not self.session.end(result)
        if not recorded_by_stop:
            self.session.record(result)
            _report_to_locust(result)
        return result


class RunChatUser(ChatUser):
    """The user class of ``loadprofile run``: ChatUser as it is."""


def _report_to_locust(result: RequestResult) -> None:
    """One Locust request event per request (never per token): Locust's own stats agree."""
    events.request.fire(
        request_type="CHAT",
        name=result.model,
        response_time=result.e2e_ms or 0.0,
        response_length=result.output_tokens,
        exception=None if result.ok else RuntimeError(f"{result.error_class}: {result.error}"),
        context={},
    )
