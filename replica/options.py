"""The replica's knobs: one model shared by the CLI flags and `POST /_replica/control`.

Every fault a driver must survive is a knob here, so a test can switch it on for exactly
the next send(s) and the benchmark can shape timing without touching code.
"""

from __future__ import annotations

import argparse
from typing import Literal, get_args

from pydantic import BaseModel, Field

FailStatus = Literal[401, 403, 429, 500]
Handoff = Literal["ws", "resume"]
ResumeFailure = Literal[404, 410]
Renderer = Literal["search-unit", "legacy-turn", "classic"]
Lang = Literal["en", "ko"]

DEFAULT_RENDERER: Renderer = "search-unit"
"""The page `ReplicaOptions()` serves (tests, `demo`); flip to "search-unit" once the fixture
and the driver read today's page. The `replica` command serves `CLI_RENDERER`."""
CLI_RENDERER: Renderer = "search-unit"

PAGE = {"page": True}
"""`json_schema_extra` of a knob the page's own script applies (see `page_knobs`)."""


class ReplicaOptions(BaseModel):
    """Behaviour of one replica. Counters ending in `_next` decrement per conversation POST."""

    model_config = {"validate_assignment": True, "extra": "forbid"}

    auto_login: bool = Field(False, description="treat every visitor as logged in")
    logged_out: bool = Field(False, description="treat every visitor as logged out")
    challenge: bool = Field(False, description="serve a Cloudflare-like page for page GETs")
    bot_check: bool = Field(
        False, description="challenge a browser showing automation tells (webdriver, headless)"
    )
    session_lifetime_s: float | None = Field(
        None, gt=0, description="every login ends this many seconds after the knob is set"
    )
    workspaces: bool = Field(
        False, description="the login offers two workspaces: a personal plan and a Team"
    )
    anonymous_chat: bool = Field(
        False,
        description="logged-out visitors get a composer and chat via /backend-anon/",
        json_schema_extra=PAGE,
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
    feedback_fail_next: int = Field(
        0, ge=0, description="refuse the next N feedback ratings with HTTP 500"
    )
    cut_stream_next: int = Field(0, ge=0, description="cut the next N streams before [DONE]")
    stall_next: int = Field(0, ge=0, description="stall the next N streams after one chunk")
    drop_stream_next: int = Field(
        0, ge=0, description="drop the next N streams after 2 chunks; answers finish in the store"
    )
    handoff_next: int = Field(
        0, ge=0, description="hand the next N answers off (see --handoff) after 2 chunks"
    )
    toast_error_next: int = Field(0, ge=0, description="show an error toast on the next N sends")

    flicker_stop: bool = Field(
        False, description="stop button turns to send between chunks", json_schema_extra=PAGE
    )
    markdown_empty_until_settled: bool = Field(
        False, description="keep .markdown empty until the turn finishes", json_schema_extra=PAGE
    )
    use_article: bool = Field(
        False, description="turns are <article> instead of <section>", json_schema_extra=PAGE
    )
    thinking: bool = Field(
        False, description="every turn thinks first, then hands its answer off (--handoff)"
    )
    handoff: Handoff = Field(
        "ws", description="where handed-off answers continue: ws topic or resume endpoint"
    )
    think_silence_ms: int = Field(
        3000, ge=0, description="silence of a thinking turn's hidden reasoning phase"
    )
    handoff_silence_ms: int = Field(
        1000, ge=0, description="silence between a handoff and the first item on its topic"
    )
    resume_failure: ResumeFailure | None = Field(
        None, description="the resume endpoint answers 404 tokenless / 410 persisted final"
    )
    abort_post_next: int = Field(
        0, ge=0, description="abort the next N POSTs after their opening (the page retries)"
    )
    cf_challenge_next: int = Field(
        0, ge=0, description="answer the next N /backend-api/ fetches 403 cf-mitigated"
    )
    composer_limit_tokens: int = Field(
        40_000, ge=1, description="longest message accepted (tokens ~ characters / 4)"
    )
    image_turn_next: int = Field(
        0, ge=0, description="the next N sends make a picture: tool card, no answer text"
    )
    tool_call_next: int = Field(
        0, ge=0, description="the next N turns call a tool (a call and a result) first"
    )
    image_delay_ms: int = Field(
        1500, ge=0, description="how long an image turn's picture takes to reach read-back"
    )
    image_link_ttl_ms: int = Field(
        60_000, ge=0, description="how long a picture's signed download link works"
    )
    downgrade_to: str | None = Field(
        None, description="answer with this model slug whatever the request asked for"
    )
    renderer: Renderer = Field(
        DEFAULT_RENDERER,
        description="the page: today's search-unit or legacy-turn, or the 2025 classic page",
        json_schema_extra=PAGE,
    )
    lang: Lang = Field(
        "en", description="UI language of today's page's labels", json_schema_extra=PAGE
    )
    composer_without_id: bool = Field(
        False,
        description="the textbox has no id; #prompt-textarea is the hidden fallback textarea",
        json_schema_extra=PAGE,
    )
    send_without_label: bool = Field(
        False, description="the Send button carries no aria-label", json_schema_extra=PAGE
    )
    web_search_unavailable: bool = Field(
        False,
        description="the plan has no web search: the composer's menu offers none",
        json_schema_extra=PAGE,
    )
    late_title: bool = Field(False, description="send title_generation after completion")
    page_weight_ms: int = Field(
        0,
        ge=0,
        description="main-thread script work each full page load burns (ms); above 0 the page "
        "also ships a bundle of chatgpt.com's size (in-app navigation stays cheap)",
        json_schema_extra=PAGE,
    )
    quota_remaining: int = Field(
        80, ge=0, description="limits_progress.remaining; each send uses one"
    )
    upload_max_bytes: int = Field(
        512 * 1024 * 1024, ge=1, description="largest file an upload accepts (bytes)"
    )
    upload_max_image_bytes: int = Field(
        20 * 1024 * 1024, ge=1, description="largest image an upload accepts (bytes)"
    )
    upload_rejected_types: str = Field(
        "application/x-msdownload,application/x-dosexec",
        description="comma-separated MIME types an upload refuses",
    )
    upload_fail_next: int = Field(
        0, ge=0, description="the next N blob uploads fail (HTTP 500): the chip shows failed"
    )
    upload_step_ms: int = Field(50, ge=0, description="delay between an upload's processing events")


KNOB_NAMES: tuple[str, ...] = tuple(ReplicaOptions.model_fields)
PAGE_KNOBS: tuple[str, ...] = tuple(
    name for name, field in ReplicaOptions.model_fields.items() if field.json_schema_extra == PAGE
)
"""Knobs the page's script applies itself; the server hands them to it (`page_knobs`)."""


def add_knob_arguments(parser: argparse.ArgumentParser) -> None:
    """One command-line flag per knob (`--ttft-ms 400`, `--flicker-stop`, ...)."""
    for name, field in ReplicaOptions.model_fields.items():
        flag = "--" + name.replace("_", "-")
        if field.annotation is bool:
            parser.add_argument(flag, action="store_true", default=None, help=field.description)
        elif name in ("fail_next_status", "resume_failure"):
            choices = [401, 403, 429, 500] if name == "fail_next_status" else [404, 410]
            parser.add_argument(flag, type=int, choices=choices, help=field.description)
        elif name == "handoff":
            parser.add_argument(flag, choices=["ws", "resume"], help=field.description)
        elif name in ("renderer", "lang"):
            default = CLI_RENDERER if name == "renderer" else None
            choices = list(get_args(field.annotation))
            parser.add_argument(flag, choices=choices, default=default, help=field.description)
        elif name == "downgrade_to":
            parser.add_argument(flag, metavar="SLUG", help=field.description)
        elif name == "upload_rejected_types":
            parser.add_argument(flag, metavar="TYPES", help=field.description)
        else:
            helptext = f"{field.description} (default {field.default})"
            parser.add_argument(flag, type=int, metavar="N", help=helptext)


def options_from_arguments(args: argparse.Namespace) -> ReplicaOptions:
    """The knobs given on the command line; everything else keeps its default."""
    given = {name: getattr(args, name) for name in KNOB_NAMES if getattr(args, name) is not None}
    return ReplicaOptions(**given)
