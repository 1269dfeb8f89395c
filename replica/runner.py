"""`ReplicaServer`: the replica under uvicorn on loopback, in its own thread and event loop.

Its own loop means a replica's timing never depends on the caller's loop: a test that
blocks its loop, or a driver under load, cannot slow the "web app" down or stall it.
"""

from __future__ import annotations

import asyncio
import threading
import time

import uvicorn

from replica.options import ReplicaOptions
from replica.server import create_replica_app


class ReplicaServer:
    """`start()` serves the replica on 127.0.0.1 (port 0 picks a free one); `url` is its base."""

    def __init__(self, options: ReplicaOptions | None = None, *, port: int = 0) -> None:
        self.app = create_replica_app(options)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="replica", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as error:  # surfaced by start()
            self._error = error

    @property
    def url(self) -> str:
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, timeout: float = 30.0) -> ReplicaServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the replica failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica did not start within {timeout} s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_forever(options: ReplicaOptions, port: int = 0) -> None:
    """Serve until Ctrl-C, printing the URL (the `chatgpt-bridge replica` command)."""
    server = ReplicaServer(options, port=port).start()
    print(f"Replica of chatgpt.com serving at {server.url}  (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    finally:
        server.stop()
