"""The `chatgpt-bridge` command: serve | login | ask | status | demo | replica.

Each subcommand is a small function that parses nothing itself; argparse does the parsing
and `main` dispatches. Commands that run async code call `asyncio.run` exactly once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

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


_REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = []


if __name__ == "__main__":
    sys.exit(main())
