"""Records every call; `BAD_TOKEN` makes `connect` fail like ngrok's ERR_NGROK_105."""

from dataclasses import dataclass
from typing import Any

from pyngrok.conf import PyngrokConfig
from pyngrok.exception import PyngrokNgrokError

BAD_TOKEN = "bad-ngrok-token-123456"
calls: list[tuple[str, Any]] = []


@dataclass
class NgrokTunnel:
    public_url: str


def connect(
    addr: str | None = None,
    proto: str | None = None,
    pyngrok_config: PyngrokConfig | None = None,
    **options: Any,
) -> NgrokTunnel:
    token = pyngrok_config.auth_token if pyngrok_config else None
    calls.append(("connect", {"addr": addr, "proto": proto, **options}))
    if token == BAD_TOKEN:
        raise PyngrokNgrokError(
            f"The ngrok process errored on start: authentication failed: The authtoken you "
            f"specified is not valid ({token}). ERR_NGROK_105"
        )
    domain = options.get("domain") or "fake-tunnel.ngrok-free.app"
    return NgrokTunnel(public_url=f"http://{domain}")


def disconnect(public_url: str) -> None:
    calls.append(("disconnect", public_url))


def kill() -> None:
    calls.append(("kill", None))
