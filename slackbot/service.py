"""The Slack side as one object the composition root starts, stops and routes to.

HTTP mode: Slack POSTs events and button clicks to `/slack/events`; `handle()` checks the
signing secret before anything reads the body. An event is then stored in the inbox and
acknowledged at once, bolt dispatching it afterwards (`slackbot/inbox.py`: store, then ack);
what needs an answer in the response itself (`url_verification`, button clicks, commands)
goes through bolt before the ack. Socket Mode (when `SLACK_APP_TOKEN` is set): the bridge
opens a websocket to Slack, authenticated by the app token, so no public URL is needed. Both
feed the same listeners.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from slackbot import phases
from slackbot.commands import SlashCommand
from slackbot.database import Database
from slackbot.feedback import FeedbackButtons, FeedbackStore
from slackbot.files_in import SharedFiles
from slackbot.home import BatchReport, Home
from slackbot.inbox import Inbox
from slackbot.jobs import JobRunner
from slackbot.layout_watch import Examine, LayoutWatch
from slackbot.listeners import Listeners
from slackbot.personas import Personas, PersonaSetupError
from slackbot.session import Sessions
from slackbot.settings import SlackSettings
from slackbot.store import SlackStore
from slackbot.watch import StateWatch
from slackbot.writer import Streaming, slack_error

if TYPE_CHECKING:
    from browser import Bridge

logger = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"
RATE_LIMIT_RETRIES = 5
_BAD_TOKEN = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})

Mode = Literal["http", "socket"]


class SlackSetupError(RuntimeError):
    """Slack is configured in a way that cannot work; the message says what to change."""


def slack_mode(settings: SlackSettings) -> Mode | None:
    """How Slack events reach the bridge with these settings, or None if Slack is off."""
    if settings.slack_bot_token is None:
        return None
    return "socket" if settings.slack_app_token is not None else "http"


class SlackService:
    """Owns the bolt app, the Web API client, the job runner and (maybe) the socket."""

    def __init__(
        self,
        settings: SlackSettings,
        bridge: Bridge,
        db: Database,
        *,
        update_interval: float = 1.0,
        batches: BatchReport | None = None,
        examine: Examine | None = None,
    ) -> None:
        mode = slack_mode(settings)
        if mode is None or settings.slack_bot_token is None:
            raise SlackSetupError("SLACK_BOT_TOKEN is not set: Slack is not configured.")
        secret = settings.slack_signing_secret
        if mode == "http" and secret is None:
            raise SlackSetupError(
                "SLACK_SIGNING_SECRET is required to receive Slack events over HTTP (find it "
                "under Basic Information in your Slack app), or set SLACK_APP_TOKEN to use "
                "Socket Mode instead."
            )
        self.mode: Mode = mode
        self._settings = settings
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=_base_url(settings.slack_api_url),
        )
        self.client.retry_handlers.append(
            AsyncRateLimitErrorRetryHandler(
                max_retry_count=RATE_LIMIT_RETRIES,
                interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=1.0),
            )
        )
        # Bolt's own signature check is off: `handle()` has verified every HTTP request
        # before bolt sees it, and bolt skips the check for Socket Mode anyway. Bolt is not
        # given the secret at all (an empty one also stops it reading SLACK_SIGNING_SECRET).
        self.app = AsyncApp(
            client=self.client,
            signing_secret="",
            request_verification_enabled=False,
            process_before_response=True,
        )
        self.store = SlackStore(db)
        self.shared_files = SharedFiles(
            db, settings.slack_bot_token.get_secret_value(), settings.file_max_bytes
        )
        self.streaming = Streaming()
        self.sessions = Sessions()
        try:
            personas = Personas.load(settings.slack_personas)
        except PersonaSetupError as error:
            raise SlackSetupError(str(error)) from error
        self.feedback = FeedbackStore(db)
        self.runner = JobRunner(
            store=self.store,
            bridge=bridge,
            client=self.client,
            settings=settings,
            streaming=self.streaming,
            shared_files=self.shared_files,
            sessions=self.sessions,
            personas=personas,
            feedback=self.feedback,
            update_interval=update_interval,
        )
        runner = self.runner
        self.home = Home(
            self.client,
            bridge,
            owner=settings.slack_owner,
            batches=batches,
            pending=lambda: runner.pending,
            last_error=lambda: runner.last_error,
        )
        self.watch = StateWatch(
            self.client,
            bridge,
            self.home,
            owner=settings.slack_owner,
            interval=settings.slack_watch_interval,
            limited_until=lambda: runner.limited_until,
        )
        owner, every = settings.slack_owner, settings.bridge_doctor_interval
        self.layout = (
            LayoutWatch(self.client, examine, owner=owner, interval=every)
            if examine is not None and owner and every > 0
            else None
        )
        command = SlashCommand(
            store=self.store,
            client=self.client,
            personas=personas,
            default_model=settings.default_model,
        )
        self.listeners = Listeners(
            settings=settings,
            store=self.store,
            runner=self.runner,
            shared_files=self.shared_files,
            client=self.client,
            command=command,
            home=self.home,
        )
        self.listeners.register(self.app)
        self.buttons = FeedbackButtons(
            store=self.feedback,
            bridge=bridge,
            client=self.client,
            owner=settings.slack_owner,
            chatgpt_url=settings.chatgpt_url,
        )
        self.buttons.register(self.app)
        self._http = AsyncSlackRequestHandler(self.app)
        self.inbox = Inbox(db)
        self._verifier = SignatureVerifier(secret.get_secret_value()) if secret else None
        self._socket: AsyncSocketModeHandler | None = None
        self.bot_user_id: str | None = None
        self.connected = False

    async def start(self) -> None:
        await self.store.setup()
        await self.feedback.setup()
        await self.shared_files.setup()
        await self._identify()
        if self.mode == "socket" and self._settings.slack_app_token is not None:
            self._socket = AsyncSocketModeHandler(
                self.app, self._settings.slack_app_token.get_secret_value()
            )
            await self._socket.connect_async()
            logger.info("Slack Socket Mode connected")
        # Jobs first: a replayed event that was accepted already is then a known duplicate.
        await self.runner.recover()
        await self.inbox.start(self._dispatch)
        self.watch.start()
        if self.layout is not None:
            self.layout.start()

    async def stop(self) -> None:
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()
        await self.inbox.close()
        await self.watch.close()
        if self.layout is not None:
            await self.layout.close()
        await self.listeners.close()
        await self.buttons.close()
        await self.runner.close()

    async def handle(self, request: Request) -> Response:
        """The FastAPI route's body: the one signature check, then bolt acks and dispatches."""
        phases.reached(phases.RECEIVED)
        if self._verifier is None:
            # Socket Mode without a signing secret: nothing could authenticate an HTTP event.
            return JSONResponse(
                {
                    "error": "This bridge receives Slack events over Socket Mode; HTTP events "
                    "are off (set SLACK_SIGNING_SECRET to accept them too)."
                },
                status_code=404,
            )
        if not _is_signed(self._verifier, await request.body(), request.headers):
            # Checked before bolt parses anything: bolt reads the body first and a stranger's
            # garbage would otherwise surface as a 500 from deep inside it.
            return JSONResponse({"error": "invalid Slack signature"}, status_code=401)
        body = await request.body()
        if _is_event(body, request.headers):
            await self.inbox.put(body.decode())
            return Response(status_code=200)
        try:
            return await self._http.handle(request)
        except Exception as error:  # signed, yet bolt could not make sense of it
            logger.warning("malformed Slack request refused (%s)", type(error).__name__)
            return JSONResponse({"error": "malformed Slack request"}, status_code=400)

    async def _dispatch(self, body: str) -> None:
        """An acknowledged event through bolt's middleware and listeners."""
        request = AsyncBoltRequest(body=body, headers={"content-type": "application/json"})
        response = await self.app.async_dispatch(request)
        if response.status >= 400:
            logger.warning("stored Slack event refused by bolt (%d)", response.status)

    def health(self) -> dict[str, Any]:
        """For `/health` and the startup summary (the bot id is dropped for anonymous callers)."""
        return {
            "mode": self.mode,
            "connected": self.connected,
            "bot_user_id": self.bot_user_id,
            "pending_jobs": self.runner.pending,
            "native_streaming": self.streaming.enabled,
            "agent_sessions": self.sessions.enabled,
        }

    async def _identify(self) -> None:
        """`auth.test` at start: a wrong token is reported now, not at the first message."""
        try:
            response = await self.client.auth_test()
        except SlackApiError as error:
            code = slack_error(error)
            if code in _BAD_TOKEN:
                raise SlackSetupError(
                    f"Slack rejected SLACK_BOT_TOKEN ({code}). Copy the Bot User OAuth Token "
                    "(xoxb-…) from OAuth & Permissions in your Slack app."
                ) from error
            logger.warning("Slack auth.test failed (%s); will retry on the first event", code)
            return
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            logger.warning("Slack is unreachable (%s); will retry on the first event", error)
            return
        self.bot_user_id = response.get("user_id")
        self.connected = True
        logger.info("Slack bot %s connected (mode: %s)", self.bot_user_id, self.mode)


def _is_signed(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    # The SDK's verifier raises on a timestamp that is not a number.
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    return verifier.is_valid(body, timestamp, signature)


def _is_event(body: bytes, headers: Mapping[str, str]) -> bool:
    """An Events API envelope (JSON `event_callback`): it needs nothing but the ack."""
    if not headers.get("content-type", "").startswith("application/json"):
        return False
    try:
        envelope = json.loads(body)
    except ValueError:
        return False
    return isinstance(envelope, dict) and envelope.get("type") == "event_callback"


def _base_url(url: str | None) -> str:
    # slack_sdk joins method names onto the base URL: without the slash they would fuse.
    url = url or SLACK_API_URL
    return url if url.endswith("/") else url + "/"
