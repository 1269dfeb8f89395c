"""Bad input: whatever arrives at `/v1/chat/completions` and `/slack/events`, the answer is a
proper 4xx (never a 5xx, never a hang); and hostile prompts are typed exactly.

Hypothesis generates malformed, mistyped, oversized and hostile bodies. Generated requests
that would be valid name a model that does not exist, so they are judged by the parser and
the catalogue but never start hundreds of browser turns; the few valid hostile prompts are
sent on purpose, once each, and compared with what the replica received.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replica.model import answer
from tests.api_support import Api, running_api, unique, user
from tests.fixtures.slack_api import FakeSlack, SlackEvents, event_body, slack_values

pytestmark = pytest.mark.browser

CHANNEL = "CFUZZ00001"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def api(
    replica: Any,
    browser_executable: str,
    slack_api_server: FakeSlack,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    with running_api(
        replica,
        browser_executable,
        data_dir,
        max_prompt_chars=60_000,
        slack_channels=[CHANNEL],
        **slack_values(slack_api_server.url),
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http(api: Api) -> Iterator[httpx.Client]:
    """A blocking client (the app runs in its own thread); the timeout turns a hang into a
    failure."""
    with httpx.Client(base_url=api.url, timeout=30) as client:
        yield client


HOSTILE = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "",
            "\x00",
            "\ud800",
            "'; DROP TABLE api_conversations; --",
            "<script>alert(1)</script>",
            "\u202eevil\u202c",
            "{{7*7}}${7*7}%s%n",
            "../../etc/passwd",
            "A" * 100_000,
        ]
    ),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE,
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "role": st.one_of(
            st.sampled_from(["user", "system", "assistant", "developer", "tool", "function"]),
            ANY_JSON,
        ),
        "content": st.one_of(
            HOSTILE,
            st.lists(
                st.fixed_dictionaries(
                    {"type": st.sampled_from(["text", "image_url", "file", "input_audio", "x"])},
                    optional={"text": ANY_JSON, "image_url": ANY_JSON, "file": ANY_JSON},
                ),
                max_size=3,
            ),
            ANY_JSON,
        ),
        "name": ANY_JSON,
        "tool_calls": ANY_JSON,
        "tool_call_id": ANY_JSON,
    },
)
UNKNOWN_MODEL = "no-such-model-fuzz"
REQUEST = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(st.just(UNKNOWN_MODEL), ANY_JSON),
        "messages": st.one_of(st.lists(MESSAGE, max_size=4), ANY_JSON),
        "stream": ANY_JSON,
        "stream_options": ANY_JSON,
        "max_tokens": ANY_JSON,
        "max_completion_tokens": ANY_JSON,
        "temperature": ANY_JSON,
        "n": ANY_JSON,
        "stop": ANY_JSON,
        "response_format": ANY_JSON,
        "tools": ANY_JSON,
        "logprobs": ANY_JSON,
        "seed": ANY_JSON,
    },
)


def _would_start_a_turn(body: Any) -> bool:
    """Only an unknown model keeps a generated request away from the browser."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("model"), str)
        and (body["model"] != UNKNOWN_MODEL)
    )


def _assert_openai_4xx(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]


@FUZZ
@given(body=REQUEST)
def test_generated_requests_are_refused_with_a_4xx(http: httpx.Client, body: Any) -> None:
    if _would_start_a_turn(body):
        body["model"] = UNKNOWN_MODEL
    _assert_openai_4xx(http.post("/v1/chat/completions", content=json.dumps(body)))


@FUZZ
@given(
    raw=st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(str.encode)),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "x/y"]
    ),
)
def test_malformed_bytes_are_refused_with_a_4xx(
    http: httpx.Client, raw: bytes, content_type: str
) -> None:
    try:
        if _would_start_a_turn(json.loads(raw)):
            return  # a valid request by chance: not this test's business
    except (ValueError, RecursionError):
        pass
    response = http.post(
        "/v1/chat/completions", content=raw, headers={"Content-Type": content_type}
    )
    _assert_openai_4xx(response)


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "auto", "messages": [' + b"[" * 600_000 + b"]" * 600_000 + b"]}",
        b"{" + b" " * 2_000_000 + b"}",
        json.dumps({"model": "m" * 1_200_000, "messages": [user("hi")]}).encode(),
    ],
    ids=["deep-nesting", "2MB-whitespace", "1.2MB-model"],
)
def test_oversized_bodies_are_refused_with_a_4xx(http: httpx.Client, body: bytes) -> None:
    assert len(body) > 1_000_000
    _assert_openai_4xx(http.post("/v1/chat/completions", content=body))


def test_a_huge_prompt_is_answered_whole_not_refused(http: httpx.Client) -> None:
    """Past the message box a prompt goes as a file (`prompt.md`): 1.5 MB arrive byte for byte."""
    prompt = "x" * 1_500_000
    body = json.dumps({"model": "auto", "messages": [user(prompt)]}).encode()
    response = http.post("/v1/chat/completions", content=body)
    assert response.status_code == 200, response.text[:500]
    content = response.json()["choices"][0]["message"]["content"]
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    assert f"- prompt.md (text/markdown, 1500000 bytes, sha256 {digest})" in content


@pytest.fixture(scope="module")
def slack_events(api: Api) -> SlackEvents:
    return SlackEvents(api.url)


def _slack_post(
    http: httpx.Client, events: SlackEvents, body: bytes, *, signed: bool, stamp: int | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signed:
        headers |= events.headers(body.decode("utf-8", "surrogateescape"), timestamp=stamp)
    return http.post("/slack/events", content=body, headers=headers)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=2000), ANY_JSON.map(lambda v: json.dumps(v).encode())))
def test_unsigned_slack_bodies_are_refused(
    http: httpx.Client, slack_events: SlackEvents, raw: bytes
) -> None:
    assert _slack_post(http, slack_events, raw, signed=False).status_code == 401


SLACK_EVENT = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "reaction_added", "app_home_opened"])},
    optional={
        "channel": st.one_of(st.sampled_from(["COTHER0001", "D0DIRECT1"]), ANY_JSON),
        "channel_type": st.one_of(st.sampled_from(["channel", "group"]), ANY_JSON),
        "text": HOSTILE.filter(lambda text: "<@" not in text),
        "ts": ANY_JSON,
        "thread_ts": ANY_JSON,
        "user": ANY_JSON,
        "subtype": ANY_JSON,
        "bot_id": ANY_JSON,
        "files": ANY_JSON,
    },
)


@FUZZ
@given(
    body=st.one_of(
        SLACK_EVENT.map(event_body),
        st.dictionaries(st.text(max_size=10), ANY_JSON, max_size=6),
        ANY_JSON,
    )
)
def test_signed_garbage_never_breaks_the_slack_endpoint(
    http: httpx.Client, slack_events: SlackEvents, replica: Any, body: Any
) -> None:
    """Signed, so bolt parses it: whatever it holds, no 5xx (and nothing is asked)."""
    raw = json.dumps(body).encode()
    response = _slack_post(http, slack_events, raw, signed=True)
    assert response.status_code < 500, (response.status_code, response.text[:300])


def test_huge_slack_bodies_are_refused_without_trouble(
    http: httpx.Client, slack_events: SlackEvents
) -> None:
    huge = json.dumps(event_body({"type": "message", "text": "x" * 2_000_000})).encode()
    assert _slack_post(http, slack_events, huge, signed=False).status_code == 401
    assert _slack_post(http, slack_events, huge, signed=True).status_code < 500


PROMPTS = {
    "control characters": "bell\x07 escape\x1b[31mred\x1b[0m tab\tvertical\x0bform\x0cend",
    "NUL and carriage returns": "nul\x00 windows\r\nline old-mac\rline del\x7f end",
    "emoji": "family 👩‍👩‍👧‍👦 flag 🏳️‍🌈 skin 👋🏽 keycap 1️⃣ rocket 🚀",
    "right-to-left": "שלום עולם مرحبا بالعالم \u202bembedded\u202c \u202eoverride\u202c mixed",
    "zero-width and combining": "zero\u200bwidth\u200djoin e\u0301 a\u0308 \ufeffbom",
    "50,000 characters": ("Lorem ipsum dolor sit amet, 日本語 ✓ — " * 1400)[:50_000],
}


@pytest.mark.parametrize("text", list(PROMPTS.values()), ids=list(PROMPTS))
async def test_hostile_prompts_are_typed_exactly(api: Api, replica: Any, text: str) -> None:
    prompt = unique(text)
    completion = await api.async_client().chat.completions.create(
        model="auto", messages=[user(prompt)]
    )
    # A web page has no carriage returns: browsers turn CR and CRLF into LF in any text
    # field, so that is the one change a prompt may undergo on its way into ChatGPT.
    expected = prompt.replace("\r\n", "\n").replace("\r", "\n")
    token = prompt.rsplit(" ", 1)[1]
    [send] = [s for s in await replica.sends() if token in s["prompt"]]
    assert send["prompt"] == expected and send["status"] == 200
    assert completion.choices[0].message.content == answer(expected, "auto", 1)
