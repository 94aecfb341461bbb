"""Replay recorded conversations with plain Locust; copy this file and edit it.

    loadprofile mock --port 8000 &
    locust -f locustfiles/chat.py --host http://127.0.0.1:8000 --headless -u 50 -r 10 -t 1m

writes the same run folder as ``loadprofile run`` (``--out DIR``, default reports/<run-id>),
with report.html. loadprofile's own options work here too: ``--model NAME[=WEIGHT]``
(repeatable), ``--dataset FILE``, ``--think-time 1-3``, ``--history recorded|live``,
``--timeout 300s``, ``--max-tokens 256``, ``--api-key-env VAR``, ``--loadprofile-config FILE``;
open-loop arrivals with ``--rate R [--arrival poisson|constant|gamma:K]`` (then -u is the pool
of users that wait for arrivals), ``--pace``, ``--slo-ttft-ms``/``--slo-tpot-ms`` (goodput).
Load shapes (step, spike, stages) need a shape class: see shaped.py.
"""

from loadprofile.users import ChatUser


class ChatbotUser(ChatUser):
    # Models to load when --model is not given on the command line.
    default_models = ("mock-small", "mock-large")
