"""``ChatUser``: a Locust user that replays recorded conversations turn by turn.

Each user is given one target (model) and walks conversations from the shared dataset:
turn 1, think, turn 2 with the history, and so on. With ``--history recorded`` (default) the
history holds the recorded assistant replies, so every model sees byte-identical prompts.
Importing this module also registers the event hooks that make plain ``locust -f`` runs
write the same run folder (``loadprofile.engine.locust_plugin``).
"""

from __future__ import annotations

import logging
import random
import time
import uuid

import gevent
from locust import User, events, task
from locust.exception import StopUser

from loadprofile.client.apis.endpoints import endpoint_path
from loadprofile.client.apis.flavours import flavour
from loadprofile.client.http.client import HttpClient, TransportError
from loadprofile.client.streaming import send_chat
from loadprofile.config.extra_body import apply_extra_body
from loadprofile.config.run_config import Target
from loadprofile.core.prefix import prefix_nonce, with_unique_prefix
from loadprofile.core.results import ErrorClass, RequestResult, keep_what_arrived
from loadprofile.dataset.conversations import Conversation, build_messages
from loadprofile.engine import locust_plugin  # noqa: F401  (registers the event hooks)
from loadprofile.engine.active import active_run_session
from loadprofile.engine.session import RunSession

log = logging.getLogger("loadprofile")


def _think_s(user: ChatUser) -> float:
    low, high = user.session.config.load.think_time_s
    return user.rng.uniform(low, high) if high > 0 else 0.0


def _wait(user: ChatUser) -> float:
    """Locust's wait between tasks (one task = one request, or one open-loop arrival)."""
    load = user.session.config.load
    if load.open_loop:
        return 0.0  # the arrival schedule decides when the next request starts
    if load.pace_s is not None:  # closed-loop pacing, as Locust's constant_pacing
        return max(0.0, load.pace_s - (time.monotonic() - user.task_started))
    return _think_s(user)


class ChatUser(User):
    """Replays conversations against the target the run session assigns it.

    Closed loop (default): each task sends the next turn of the user's conversation, then
    the user thinks (or waits out its --pace). Open loop (--rate): each task takes the next
    due time from the target's arrival schedule, waits for it and sends; the request is
    timed from that due time. A task is one request, so a user stopped by a shape's ramp-down
    finishes its request (measured) and is never cut off mid-stream.

    Abstract: a locustfile subclasses it (and may set ``default_models``), so that Locust
    spawns exactly one user class; ``loadprofile run`` uses ``RunChatUser``.
    """

    abstract = True
    wait_time = _wait
    default_models: tuple[str, ...] = ()

    session: RunSession
    target: Target
    client: HttpClient
    rng: random.Random
    task_started: float = 0.0
    _conversation: Conversation | None = None
    _turn: int = 0
    _live: list[str]
    _no_free_user: bool = False
    _tag: str = "u"
    _transactions: int = 0

    def on_start(self) -> None:
        session = active_run_session()
        if session is None:
            raise RuntimeError("no loadprofile run session: start runs with `loadprofile run`")
        self.session = session
        self.target = session.assign_target()
        self.client = session.client_for(self.target)
        self.path = endpoint_path(self.target)  # under the client's base URL
        seed = session.user_seed()
        self.rng = random.Random(seed)
        # Unique across users and workers (a worker joining late shares its seeds' stride).
        self._tag = f"u{seed}-{uuid.uuid4().hex[:8]}"
        self._live = []

    def on_stop(self) -> None:
        if hasattr(self, "client"):
            self.client.close()
            self.session.release_target(self.target)

    @task
    def next_request(self) -> None:
        if self.session.stopping:
            # The run is draining: a user that returned at once would be re-run by Locust
            # in a tight loop (no think time) and eat the CPU the last streams need.
            raise StopUser()
        self.task_started = time.monotonic()
        load = self.session.config.load
        if not load.open_loop:
            self._closed_loop_turn()
        elif load.rate_unit == "requests":
            self._arrival_of_request()
        else:
            self._arrival_of_conversation()

    def _closed_loop_turn(self) -> None:
        conv = self._conversation
        if conv is None or self._turn >= len(conv.turns):
            conv = self._conversation = self.session.next_conversation(self.target)
            self._turn, self._live = 0, []
        live_history = self.session.config.load.history == "live"
        result = self._send_turn(conv, self._turn, self._live if live_history else None)
        self._turn += 1
        if live_history and not result.ok:
            self._conversation = None  # no reply to carry on with; a real user starts over
        self._live.append(result.content)

    def _await_arrival(self) -> int | None:
        """Wait until the dispatcher hands this user an arrival; None when the run stops."""
        due_ns, waited = self.session.dispatchers[self.target.name].wait()
        if due_ns is None:
            # The schedule is over: stay in the pool (idle) until the stop, so the user
            # count keeps meaning the pool's size.
            gevent.sleep(max(0.1, self.session.plan.run_time_s - self.session.elapsed_s))
            raise StopUser()
        if self.session.stopping:
            self.session.arrivals.note_unsent(due_ns, self.session.load_end_ns)
            return None
        self._no_free_user = waited
        return due_ns

    def _arrival_of_request(self) -> None:
        due_ns = self._await_arrival()
        if due_ns is not None:
            conv, index = self.session.arrivals.next_turn(self.target)
            self._send_turn(conv, index, None, due_ns, whole=True)

    def _arrival_of_conversation(self) -> None:
        """One arrival starts a whole conversation; later turns follow the think time and are
        due when the think time is over."""
        due_ns = self._await_arrival()
        if due_ns is None:
            return
        conv = self.session.next_conversation(self.target)
        live: list[str] = []
        live_history = self.session.config.load.history == "live"
        for index in range(len(conv.turns)):
            if index:
                think = _think_s(self)
                due_ns = time.perf_counter_ns() + round(think * 1e9)
                self._no_free_user = False
                gevent.sleep(think)
            if self.session.stopping:
                return
            result = self._send_turn(conv, index, live if live_history else None, due_ns)
            if live_history and not result.ok:
                return
            live.append(result.content)

    def _send_turn(
        self,
        conv: Conversation,
        index: int,
        live: list[str] | None,
        due_ns: int = 0,
        *,
        whole: bool = False,
    ) -> RequestResult:
        """One turn as the user feels it: its attempts (``--retries``), recorded once.
        ``whole``: the turn is a transaction of its own (open loop by requests)."""
        load = self.session.config.load
        turn = conv.turns[index]
        if whole or index == 0:
            self._transactions += 1
        transaction = f"{self._tag}-{self._transactions}"
        messages = build_messages(conv, index, live)
        if load.unique_prefix:  # one nonce per conversation: its turns still share a prefix
            messages = with_unique_prefix(messages, prefix_nonce(transaction))
        max_tokens = turn.max_tokens if turn.max_tokens is not None else load.max_tokens
        body = flavour(self.target.api).request(self.target.model, messages, max_tokens)
        if load.extra_body or self.target.extra_body or turn.extra_body:
            apply_extra_body(body, load.extra_body, self.target.extra_body, turn.extra_body)
        if not self.session.take_request():
            raise StopUser()  # -n: the run's request budget is spent; the drain follows
        policy = load.retry
        # Late or not is judged before connecting: opening a connection is the server's
        # latency as a new user feels it (connect_ms), not the generator falling behind.
        begin_ns = time.perf_counter_ns()
        attempts: list[RequestResult] = []
        while True:
            first = attempts[0] if attempts else None
            # A retry is timed from the first attempt's start: what the user waited.
            result = RequestResult(
                self.target.name,
                conv.id,
                index + 1,
                0.0,
                scheduled_ns=due_ns if first is None else first.scheduled_ns or first.sent_ns,
                earlier=list(attempts),
                transaction=transaction,
            )
            result.transaction_end = whole or index + 1 >= len(conv.turns)
            sent = self._attempt(body, result)
            if due_ns and first is None:
                self.session.arrivals.note_start(
                    delay_ms=(begin_ns - due_ns) / 1e6, no_free_user=self._no_free_user
                )
            if not sent:
                return result  # the stop recorded it (with its earlier attempts)
            attempts.append(result)
            if self.session.stopping or not policy.should_retry(result, len(attempts)):
                break
            self.session.hold(result)  # the drain waits for it, the stop cuts its backoff short
            try:
                self._back_off(policy.delay_s(len(attempts), self.rng))
            except gevent.GreenletExit:
                if self.session.release(result):
                    self._record(result, attempts[0])  # killed while backing off: keep it
                raise
            if not self.session.release(result):
                return result  # the stop recorded it
            if self.session.stopping:
                break
        if live is not None and not result.ok:
            result.transaction_end = True  # no reply to carry on with: the user gives up
        self._record(result, attempts[0])
        return result

    def _back_off(self, seconds: float) -> None:
        """Wait before a retry, but no longer than until the run stops."""
        until = time.monotonic() + seconds
        while not self.session.stopping and (left := until - time.monotonic()) > 0:
            gevent.sleep(min(left, 0.05))

    def _attempt(self, body: dict[str, object], result: RequestResult) -> bool:
        """Send one attempt; False when the run's stop already recorded it (abandoned)."""
        load = self.session.config.load
        # One timer per request bounds it (the client's sockets have no read timeouts).
        expired = TransportError(ErrorClass.TIMEOUT, f"no complete answer in {load.timeout_s:g}s")
        self.session.begin(result)
        try:
            with gevent.Timeout(load.timeout_s, expired):
                send_chat(self.client, body, result, api=self.target.api, path=self.path)
        except Exception as exc:  # boundary: a bug of ours must not lose the request
            result.error_class = ErrorClass.STREAM_MALFORMED
            result.error = f"internal error: {type(exc).__name__}: {exc}"[:500]
            self.client.close()
            log.exception("loadprofile: unexpected error in a request (counted as a failure)")
        except gevent.GreenletExit:
            # Locust killed this user mid-request (a ramp-down past --stop-timeout): the
            # request still counts, as cut off, before the user goes.
            if self.session.end(result):
                result.error_class = ErrorClass.TIMEOUT
                result.error = "cut off: Locust stopped the user mid-request (--stop-timeout)"
                keep_what_arrived(result, time.perf_counter_ns())
                self.session.record(result)
            raise
        finally:
            recorded_by_stop = not self.session.end(result)
        return not recorded_by_stop

    def _record(self, result: RequestResult, first: RequestResult) -> None:
        # The generator's lateness is the first attempt's; later ones waited on purpose.
        result.start_delay_ms = first.start_delay_ms
        self.session.record(result)
        _report_to_locust(result)


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
