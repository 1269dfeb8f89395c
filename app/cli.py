"""The `chatgpt-bridge` command: serve | login | ask | status | demo | replica.

Each subcommand is a small function that parses nothing itself; argparse does the parsing
and `main` dispatches. Commands that run async code call `asyncio.run` exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

from app.config import Settings

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatgpt-bridge",
        description="Use your own ChatGPT subscription from Slack and OpenAI clients.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _REGISTRARS:
        register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.run
    try:
        return command(args)
    except KeyboardInterrupt:
        return 130


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        name: getattr(args, name) for name in ("host", "port") if getattr(args, name, None)
    }
    return Settings(**overrides)


def _run_serve(args: argparse.Namespace) -> int:
    from app.logs import configure_logging
    from app.serve import serve

    settings = _settings(args)
    configure_logging(settings)
    return asyncio.run(serve(settings))


def _register_serve(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("serve", help="run the bridge: API, Slack, tunnel")
    parser.add_argument("--host", help="bind address (default BRIDGE_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default BRIDGE_PORT, 8765)")
    parser.set_defaults(run=_run_serve)


def _run_demo(args: argparse.Namespace) -> int:
    from app.logs import configure_logging
    from app.serve import demo

    settings = _settings(args)  # BRIDGE_PORT, unless --port says otherwise
    configure_logging(settings)
    return asyncio.run(demo(settings.port))


def _register_demo(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "demo", help="the bridge against an offline ChatGPT replica (no account needed)"
    )
    parser.add_argument("--port", type=int, help="API port (default BRIDGE_PORT, 8765)")
    parser.set_defaults(run=_run_demo)


def _run_status(args: argparse.Namespace) -> int:
    from app.status import describe_status, fetch_status

    code, report = fetch_status(_settings(args))
    print(report if isinstance(report, str) else describe_status(report))
    return code


def _register_status(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "status", help="ask the running bridge how it is (exit 0 ready, 1 degraded, 2 down)"
    )
    parser.add_argument("--host", help="the bridge's address (default BRIDGE_HOST)")
    parser.add_argument("--port", type=int, help="the bridge's port (default BRIDGE_PORT)")
    parser.set_defaults(run=_run_status)


def _run_replica(args: argparse.Namespace) -> int:
    from replica.options import options_from_arguments
    from replica.runner import serve_forever

    serve_forever(options_from_arguments(args), port=args.port)
    return 0


def _register_replica(subcommands: argparse._SubParsersAction) -> None:
    from replica.options import add_knob_arguments

    parser = subcommands.add_parser(
        "replica", help="serve the offline chatgpt.com replica alone (Ctrl-C to stop)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    add_knob_arguments(parser)
    parser.set_defaults(run=_run_replica)


def _run_login(args: argparse.Namespace) -> int:
    from app.browser_commands import login

    return asyncio.run(login(Settings()))


def _register_login(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "login", help="open ChatGPT in a browser window and wait until you have logged in"
    )
    parser.set_defaults(run=_run_login)


def _run_ask(args: argparse.Namespace) -> int:
    from app.browser_commands import ask

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    return asyncio.run(
        ask(
            Settings(),
            prompt,
            conversation_id=args.conversation,
            model=args.model,
            temporary=args.temporary,
        )
    )


def _register_ask(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "ask",
        help="ask ChatGPT once: the answer streams to stdout, the conversation id to stderr",
    )
    parser.add_argument("prompt", help='the prompt ("-" reads it from stdin)')
    parser.add_argument("--model", help="model slug for a new chat (default DEFAULT_MODEL)")
    parser.add_argument("--conversation", metavar="ID", help="continue this conversation")
    parser.add_argument("--temporary", action="store_true", help="a temporary chat")
    parser.set_defaults(run=_run_ask)


_REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_serve,
    _register_demo,
    _register_status,
    _register_replica,
    _register_login,
    _register_ask,
]


if __name__ == "__main__":
    sys.exit(main())
