"""Publish the local server through ngrok (pyngrok), so Slack can deliver HTTP events.

pyngrok is imported only when a tunnel is wanted: it downloads the ngrok binary on first
use, which must never happen for people who don't use it (or in tests, where a substitute
package stands in for it). A tunnel that cannot open is reported, never fatal: the bridge
keeps serving locally and the startup summary says why Slack cannot reach it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from app.config import Settings

logger = logging.getLogger(__name__)


class TunnelError(RuntimeError):
    """ngrok could not open the tunnel; the message says why and what to check."""


@dataclass
class Tunnel:
    public_url: str

    @property
    def slack_request_url(self) -> str:
        """The exact URL to paste into the Slack app's Event Subscriptions and Interactivity."""
        return f"{self.public_url}/slack/events"

    async def close(self) -> None:
        from pyngrok import ngrok

        await asyncio.to_thread(_disconnect, ngrok, self.public_url)


def _disconnect(ngrok: object, public_url: str) -> None:
    try:
        ngrok.disconnect(public_url)  # type: ignore[attr-defined]
        ngrok.kill()  # type: ignore[attr-defined]
    except Exception as error:  # closing is best effort: the process is going away anyway
        logger.warning("could not close the ngrok tunnel cleanly: %s", error)


async def open_tunnel(settings: Settings, port: int) -> Tunnel:
    """Open an HTTPS tunnel to `port`; raises TunnelError with a message a person can act on."""
    if settings.ngrok_authtoken is None:
        raise TunnelError("NGROK_AUTHTOKEN is not set")
    try:
        from pyngrok import conf, ngrok
        from pyngrok.exception import PyngrokError
    except ImportError as error:
        raise TunnelError(f"pyngrok is not installed ({error})") from error

    config = conf.PyngrokConfig(auth_token=settings.ngrok_authtoken.get_secret_value())
    options = {"domain": settings.ngrok_domain} if settings.ngrok_domain else {}
    try:
        tunnel = await asyncio.to_thread(
            ngrok.connect, str(port), "http", pyngrok_config=config, **options
        )
    except PyngrokError as error:
        raise TunnelError(
            f"ngrok could not start: {_without_secret(str(error), settings)}. Check "
            "NGROK_AUTHTOKEN (and NGROK_DOMAIN), and that this machine can reach ngrok."
        ) from error
    public_url = tunnel.public_url.replace("http://", "https://", 1)
    logger.info("ngrok tunnel open at %s", public_url)
    return Tunnel(public_url=public_url)


def _without_secret(text: str, settings: Settings) -> str:
    token = settings.ngrok_authtoken.get_secret_value() if settings.ngrok_authtoken else ""
    return text.replace(token, "***") if token else text
