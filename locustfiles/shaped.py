"""Plain Locust with loadprofile's load shapes; copy this file and edit it.

    loadprofile mock --port 8000 &
    locust -f locustfiles/shaped.py --host http://127.0.0.1:8000 --headless \\
        --shape spike --base-users 5 --spike-users 100 --spike-at 60s --spike-for 30s

Locust follows a shape class when the locustfile defines one, so this file adds one that
follows loadprofile's --shape step|spike|stages flags (or ``[load]`` of
``--loadprofile-config FILE``); the shape sets the users and the run time (-u/-t are not
needed). Phases, recovery time and the capacity curve land in the same run folder and
report as with ``loadprofile run``. Open-loop runs (``--rate``) need no shape: use chat.py.
"""

from loadprofile.shapes import PlanShape
from loadprofile.users import ChatUser


class ChatbotUser(ChatUser):
    # Models to load when --model is not given on the command line.
    default_models = ("mock-small", "mock-large")


class LoadprofileShape(PlanShape):
    """Follows the run's load plan: the users of each stage, then stops the run."""
