"""An offline stand-in for chatgpt.com: the page, its script, its endpoints and a fake model.

See `docs/replica.md`. `ReplicaServer(ReplicaOptions(auto_login=True)).start().url` is all
a test or a benchmark needs.
"""

from browser.replica.options import KNOB_NAMES, ReplicaOptions
from browser.replica.runner import ReplicaServer
from browser.replica.server import create_replica_app

__all__ = ["KNOB_NAMES", "ReplicaOptions", "ReplicaServer", "create_replica_app"]
