"""The `chatgpt-bridge` command: serve | mcp | login | ask | doctor | status | demo | replica |
decode.

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


def _run_mcp(args: argparse.Namespace) -> int:
    from app.logs import configure_logging
    from app.mcp.stdio import serve_stdio

    settings = _settings(args)
    configure_logging(settings)  # to stderr: stdout carries MCP messages only
    return asyncio.run(serve_stdio(settings))


def _register_mcp(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "mcp",
        help="an MCP server on stdio for coding agents (shares the running bridge, or "
        "starts one in the background)",
    )
    parser.add_argument("--host", help="the bridge's address (default BRIDGE_HOST)")
    parser.add_argument("--port", type=int, help="the bridge's port (default BRIDGE_PORT)")
    parser.set_defaults(run=_run_mcp)


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

    return asyncio.run(login(Settings(), remote=args.remote))


def _register_login(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "login", help="log in to ChatGPT once, in a plain browser window, then check it"
    )
    parser.add_argument(
        "--remote",
        action="store_true",
        help="no screen here: show the browser through a web page on 127.0.0.1 (SSH tunnel)",
    )
    parser.set_defaults(run=_run_login)


def _run_view(args: argparse.Namespace) -> int:
    from app.browser_commands import view

    return asyncio.run(view(Settings()))


def _register_view(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "view", help="show the serving browser's virtual display (to answer a challenge)"
    )
    parser.set_defaults(run=_run_view)


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
    parser.add_argument(
        "--model",
        help="model id as `/v1/models` lists it: slug[@effort], a custom GPT g-<id> or "
        "project/<name> (default DEFAULT_MODEL)",
    )
    parser.add_argument("--conversation", metavar="ID", help="continue this conversation")
    parser.add_argument("--temporary", action="store_true", help="a temporary chat")
    parser.set_defaults(run=_run_ask)


def _run_decode(args: argparse.Namespace) -> int:
    import json

    from browser.decoder import StreamDecoder

    try:
        body = sys.stdin.read() if args.file == "-" else _read_text(args.file)
    except OSError as error:
        print(f"chatgpt-bridge decode: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    decoder = StreamDecoder(user_message_id=args.prompt_id)
    decoder.feed(body)
    decoder.close()
    state = decoder.state
    if args.json:
        fields = ("text", "conversation_id", "model", "finish_reason", "done", "handoff")
        print(json.dumps({name: getattr(state, name) for name in fields}, ensure_ascii=False))
    else:
        print(state.text)
    return 0


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8", newline="") as file:  # keep CRLF: the parser handles it
        return file.read()


def _register_decode(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "decode",
        help="decode a saved text/event-stream body of the conversation endpoint",
        description="Print the answer a saved /backend-api/f/conversation stream carries "
        "(for bug reports and tests of real captures).",
    )
    parser.add_argument("file", help='the saved body ("-" reads stdin)')
    parser.add_argument(
        "--json",
        action="store_true",
        help="print {text, conversation_id, model, finish_reason, done, handoff}",
    )
    parser.add_argument(
        "--prompt-id", metavar="ID", help="our user message id: picks its attempt of a retry"
    )
    parser.set_defaults(run=_run_decode)


def _run_doctor(args: argparse.Namespace) -> int:
    import json

    from pydantic import ValidationError

    from app.logs import configure_logging
    from browser.doctor import Check, Report, run

    try:
        settings = Settings()
    except ValidationError as error:  # e.g. a typo in the BRIDGE_SELECTORS_FILE being fixed
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        report = Report([Check("settings", False, problems)])
    else:
        configure_logging(settings)
        report = asyncio.run(run(settings, send=args.send))
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else report.table())
    return 0 if report.ok else 1


def _register_doctor(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "doctor",
        help="check that the bridge still understands chatgpt.com (exit 1 names the failure)",
        description="Open CHATGPT_URL in the bridge's browser and check the session, the page "
        "renderer and the controls, naming the selector layer that found each.",
    )
    parser.add_argument(
        "--send",
        action="store_true",
        help="also ask one short question in a temporary chat and say how the answer was read",
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(run=_run_doctor)


_REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_serve,
    _register_mcp,
    _register_demo,
    _register_status,
    _register_replica,
    _register_login,
    _register_view,
    _register_ask,
    _register_doctor,
    _register_decode,
]


if __name__ == "__main__":
    sys.exit(main())
