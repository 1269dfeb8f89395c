"""Running the bridge: `serve` (the real thing), `demo` (against the offline replica), `status`.

`serve` runs uvicorn in this process's event loop so the startup summary can read the very
objects the app uses. uvicorn handles Ctrl-C / SIGTERM: it stops accepting connections,
gives running answers `shutdown_grace` seconds, then the lifespan stops Slack, the tunnel and
finally the browser, so the Chrome profile is closed cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from app.config import Settings
from app.health import collect_health, render_summary
from app.locks import SERVE_LOCK, try_lock
from app.main import create_app
from app.services import app_services
from app.status import local_base_url

logger = logging.getLogger(__name__)

Announce = Callable[[str], None]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn, minus re-raising the stop signal after a graceful shutdown.

    uvicorn re-raises SIGINT/SIGTERM once it has shut down, so the process would die of the
    signal (exit -15) even though it stopped cleanly; a service manager should see exit 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _print_to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def serve(settings: Settings, *, announce: Announce = _print_to_stderr) -> int:
    """Run the bridge until a signal stops it. Returns the process exit status."""
    lock = await asyncio.to_thread(try_lock, settings.data_dir / SERVE_LOCK)
    if lock is None:
        announce(
            f"Another chatgpt-bridge already serves the profile in {settings.data_dir}: use "
            "that one (`chatgpt-bridge status` finds it), or give this one another "
            "BRIDGE_DATA_DIR."
        )
        return 1
    try:
        return await _serve(settings, announce)
    finally:
        lock.close()


async def _serve(settings: Settings, announce: Announce) -> int:
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace) or None,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            return 1  # uvicorn logged why the startup failed
        await asyncio.sleep(0.05)
    parts = app_services(app)
    report = await collect_health(parts, detailed=True)
    announce(render_summary(report, base_url=local_base_url(settings), api_key=parts.api_key))
    await serving
    return 0


def demo_settings(chatgpt_url: str, port: int, data_dir: Path) -> Settings:
    """Settings for the offline demo: the replica instead of chatgpt.com, nothing public."""
    return Settings(
        chatgpt_url=chatgpt_url,
        port=port,
        host="127.0.0.1",
        data_dir=data_dir,
        slack_bot_token=None,
        slack_app_token=None,
        ngrok_authtoken=None,
        api_key=None,
    )


async def demo(port: int, *, announce: Announce = _print_to_stderr) -> int:
    """The replica and the bridge wired together, logged in, with commands to try."""
    from replica import ReplicaOptions, ReplicaServer

    replica = ReplicaServer(ReplicaOptions(auto_login=True))
    await asyncio.to_thread(replica.start)
    try:
        with tempfile.TemporaryDirectory(prefix="chatgpt-bridge-demo-") as data_dir:
            settings = demo_settings(replica.url, port, Path(data_dir))
            announce(demo_instructions(local_base_url(settings), replica.url))
            return await serve(settings, announce=announce)
    finally:
        await asyncio.to_thread(replica.stop)


def demo_instructions(base_url: str, replica_url: str) -> str:
    body = '{"model": "auto", "messages": [{"role": "user", "content": "Hello!"}]}'
    stream_body = body[:-1] + ', "stream": true}'
    return f"""chatgpt-bridge demo: the bridge drives a real browser against an offline ChatGPT
replica at {replica_url} (open it in your browser to watch). The API listens on
{base_url} (port from --port, else BRIDGE_PORT). Try, in another terminal:

  curl {base_url}/v1/models

  curl {base_url}/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{body}'

  curl -N {base_url}/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{stream_body}'

  python3 -c "from openai import OpenAI
c = OpenAI(base_url='{base_url}/v1', api_key='unused')
for chunk in c.chat.completions.create(model='auto', stream=True,
        messages=[{{'role': 'user', 'content': 'markdown:rich'}}]):
    print(chunk.choices[0].delta.content or '', end='', flush=True) if chunk.choices else None"
"""
