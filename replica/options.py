"""The replica's knobs: one model shared by the CLI flags and `POST /_replica/control`.

Every fault a driver must survive is a knob here, so a test can switch it on for exactly
the next send(s) and the benchmark can shape timing without touching code.
"""

from __future__ import annotations

import argparse
from typing import Literal

from pydantic import BaseModel, Field

FailStatus = Literal[401, 403, 429, 500]


class ReplicaOptions(BaseModel):
    """Behaviour of one replica. Counters ending in `_next` decrement per conversation POST."""

    model_config = {"validate_assignment": True, "extra": "forbid"}

    auto_login: bool = Field(False, description="treat every visitor as logged in")
    logged_out: bool = Field(False, description="treat every visitor as logged out")
    challenge: bool = Field(False, description="serve a Cloudflare-like page for page GETs")
    anonymous_chat: bool = Field(
        False, description="logged-out visitors get a composer and chat via /backend-anon/"
    )

    ttft_ms: int = Field(400, ge=0, description="delay before the first answer text")
    chunk_delay_ms: int = Field(40, ge=0, description="delay between answer chunks")
    chunk_chars: int = Field(12, ge=1, description="answer characters per chunk")

    rate_limit_next: int = Field(0, ge=0, description="answer the next N sends with HTTP 429")
    fail_next_status: FailStatus | None = Field(None, description="HTTP status for failed sends")
    fail_next_count: int = Field(
        0, ge=0, description="how many sends fail_next_status hits (1 if 0)"
    )
    sse_error_next: int = Field(0, ge=0, description="end the next N streams with an error")
    cut_stream_next: int = Field(0, ge=0, description="cut the next N streams before [DONE]")
    stall_next: int = Field(0, ge=0, description="stall the next N streams after one chunk")
    drop_stream_next: int = Field(
        0, ge=0, description="drop the next N streams after 2 chunks; answers finish in the store"
    )
    handoff_next: int = Field(
        0, ge=0, description="hand the next N streams off to the resume endpoint after 2 chunks"
    )
    toast_error_next: int = Field(0, ge=0, description="show an error toast on the next N sends")

    flicker_stop: bool = Field(False, description="stop button turns to send between chunks")
    markdown_empty_until_settled: bool = Field(
        False, description="keep .markdown empty until the turn finishes"
    )
    use_article: bool = Field(False, description="turns are <article> instead of <section>")
    legacy_encoding: bool = Field(False, description="cumulative events instead of delta v1")
    thinking: bool = Field(False, description="add thoughts/reasoning_recap messages first")


KNOB_NAMES: tuple[str, ...] = tuple(ReplicaOptions.model_fields)


def add_knob_arguments(parser: argparse.ArgumentParser) -> None:
    """One command-line flag per knob (`--ttft-ms 400`, `--flicker-stop`, ...)."""
    for name, field in ReplicaOptions.model_fields.items():
        flag = "--" + name.replace("_", "-")
        if field.annotation is bool:
            parser.add_argument(flag, action="store_true", default=None, help=field.description)
        elif name == "fail_next_status":
            parser.add_argument(
                flag, type=int, choices=[401, 403, 429, 500], help=field.description
            )
        else:
            helptext = f"{field.description} (default {field.default})"
            parser.add_argument(flag, type=int, metavar="N", help=helptext)


def options_from_arguments(args: argparse.Namespace) -> ReplicaOptions:
    """The knobs given on the command line; everything else keeps its default."""
    given = {name: getattr(args, name) for name in KNOB_NAMES if getattr(args, name) is not None}
    return ReplicaOptions(**given)
