"""The tool-call format, read from answers as ChatGPT writes them: fenced or bare, prose
around it, the arguments checked against the tool's schema; and a stream releases exactly
what the whole answer gives, holding back only what may still become a call.
(Through the app with clients: tests/test_api_tools.py, tests/test_clients*.py.)"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.api.tool_calls import (
    BLOCK_TAG,
    FunctionTool,
    ParsedAnswer,
    ToolCall,
    ToolCallError,
    ToolChoice,
    Toolset,
    repair_message,
)

WEATHER = FunctionTool(
    "get_weather",
    "The weather in a city",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
TIME = FunctionTool("get_time", None, None)
TOOLS = Toolset((WEATHER, TIME))
CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'


def _calls(parsed: ParsedAnswer) -> list[tuple[str, dict[str, object]]]:
    return [(call.name, json.loads(call.arguments)) for call in parsed.calls]


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (f"```{BLOCK_TAG}\n{CALL}\n```", ""),
        (f"```json\n{CALL}\n```\n", ""),
        (f"```\n{CALL}\n```", ""),
        (CALL, ""),
        (f"  {CALL}\n\n", ""),
        (f"Let me check the weather.\n\n```{BLOCK_TAG}\n{CALL}\n```", "Let me check the weather."),
        (f"I will look.\n```json\n{CALL}\n```\n\nOne moment.", "I will look.One moment."),
        (f"```{BLOCK_TAG}\n{CALL}", ""),  # a block ChatGPT never closed
    ],
)
def test_calls_are_read_where_chatgpt_puts_them(answer: str, text: str) -> None:
    parsed = TOOLS.parse(answer)
    assert _calls(parsed) == [("get_weather", {"city": "Paris"})]
    assert parsed.text == text
    assert parsed.calls[0].id.startswith("call_") and len(parsed.calls[0].id) == 29


def test_openai_item_shape_string_arguments_and_parallel_calls() -> None:
    answer = json.dumps(
        {
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": '{"city": "Rome", "days": 2}'}},
                {"name": "get_time"},
            ]
        }
    )
    parsed = TOOLS.parse(f"```json\n{answer}\n```")
    assert _calls(parsed) == [("get_weather", {"city": "Rome", "days": 2}), ("get_time", {})]
    assert len({call.id for call in parsed.calls}) == 2


@pytest.mark.parametrize(
    "answer",
    [
        "It is sunny in Paris today.",
        "Code:\n```python\nx = {'tool_calls': []}\n```\nand JSON:\n```json\n{\"a\": 1}\n```",
        'Inline `{"tool_calls": []}` stays prose, as does a {"tool_calls": 1} mid-line.',
        '```python\n{"tool_calls": [{"name": "get_weather"}]}\n```',
        "{not json at all}\n`tick` and ``two``",
        "",
    ],
)
def test_prose_stays_prose(answer: str) -> None:
    assert TOOLS.parse(answer) == ParsedAnswer(answer, ())


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ('{"tool_calls": [{"name": "get_wether", "arguments": {}}]}', 'no tool "get_wether"'),
        (
            '{"tool_calls": [{"name": "get_weather", "arguments": {"city": 7}}]}',
            "$.city: 7 is not of type 'string'",
        ),
        ('{"tool_calls": [{"name": "get_weather", "arguments": {}}]}', "'city' is a required"),
        ('{"tool_calls": [{"name": "get_weather", "arguments": "{oops"}]}', "not valid JSON"),
        ('{"tool_calls": [{"name": "get_weather", "arguments": [1]}]}', "must be a JSON object"),
        ('{"tool_calls": []}', 'non-empty "tool_calls" list'),
        (f"```{BLOCK_TAG}\n" + '{"tool_calls": [{"name": }\n```', "not valid JSON"),
        ('{"tool_calls": [{"name": "get_weather", "arg', "incomplete or invalid"),
    ],
)
def test_a_broken_call_is_an_error_a_repair_message_explains(answer: str, problem: str) -> None:
    with pytest.raises(ToolCallError) as raised:
        TOOLS.parse(answer)
    assert problem in str(raised.value)
    repair = repair_message(raised.value)
    assert problem in repair and BLOCK_TAG in repair and len(repair) < 400


def test_the_tool_choice_and_parallel_calls_are_enforced() -> None:
    two = json.dumps({"tool_calls": [{"name": "get_time"}, {"name": "get_time"}]})
    with pytest.raises(ToolCallError, match="at most one"):
        Toolset((TIME,), parallel=False).parse(two)
    with pytest.raises(ToolCallError, match="must call a tool"):
        Toolset((TIME,), ToolChoice("required")).parse("No tool today.")
    named = Toolset((WEATHER, TIME), ToolChoice("function", "get_weather"))
    with pytest.raises(ToolCallError, match='only the tool "get_weather"'):
        named.parse('{"tool_calls": [{"name": "get_time"}]}')
    with pytest.raises(ToolCallError, match='must call the tool "get_weather"'):
        named.parse("Prose instead.")
    required = Toolset((TIME,), ToolChoice("required")).parse(
        'Calling.\n{"tool_calls": [{"name": "get_time"}]}'
    )
    assert (required.text, [call.name for call in required.calls]) == ("Calling.", ["get_time"])


def test_the_instruction_lists_the_tools_and_the_choice() -> None:
    instruction = TOOLS.instruction()
    assert instruction is not None
    assert instruction.startswith("[Tools]") and instruction.endswith("[End of tools]")
    assert WEATHER.as_json() in instruction.splitlines()
    assert '{"name": "get_time", "parameters": {"type": "object", "properties": {}}}' in (
        instruction
    )
    assert "only when it is needed" in instruction and "several tools" in instruction
    assert "results above" not in instruction
    named = Toolset((WEATHER,), ToolChoice("function", "get_weather"), parallel=False)
    text = named.instruction(after_results=True) or ""
    assert 'You must call the tool "get_weather" in this reply.' in text
    assert "at most one tool" in text and "results above" in text
    assert Toolset((WEATHER,), ToolChoice("none")).instruction() is None
    assert Toolset(()).instruction() is None


@pytest.mark.parametrize(
    ("value", "choice"),
    [
        (None, ToolChoice("auto")),
        ("required", ToolChoice("required")),
        ({"type": "function", "function": {"name": "f"}}, ToolChoice("function", "f")),
        ({"type": "function", "name": "f"}, ToolChoice("function", "f")),  # Responses' shape
    ],
)
def test_tool_choice_in_both_apis_shapes(value: object, choice: ToolChoice) -> None:
    assert ToolChoice.parse(value) == choice


@pytest.mark.parametrize("value", ["sometimes", {"type": "function"}, {"type": "custom"}])
def test_a_bad_tool_choice_says_why(value: object) -> None:
    with pytest.raises(ValueError, match=r"tool_choice|function\.name"):
        ToolChoice.parse(value)


ANSWERS = st.sampled_from(
    [
        f"Checking.\n\n```{BLOCK_TAG}\n{CALL}\n```\n",
        f"{CALL}\nDone.",
        "Code:\n```python\nprint({'a': 1})\n```\nthen `x` and\n{not a call}\n",
        f'Two:\n```json\n{{"a": 1}}\n```\n```json\n{CALL}\n```',
        "plain words, ``` inline fences ``` and { braces }",
    ]
)


def _normalised(pieces: list[str | ToolCall]) -> tuple[str, list[tuple[str, str]]]:
    text = "".join(piece for piece in pieces if isinstance(piece, str))
    return text, [(p.name, p.arguments) for p in pieces if isinstance(p, ToolCall)]


@given(ANSWERS, st.lists(st.integers(0, 120), max_size=8))
def test_a_stream_releases_what_the_whole_answer_gives(answer: str, cuts: list[int]) -> None:
    bounds = sorted({min(cut, len(answer)) for cut in cuts})
    deltas = [
        answer[start:end] for start, end in zip([0, *bounds], [*bounds, len(answer)], strict=True)
    ]
    stream = TOOLS.stream()
    pieces: list[str | ToolCall] = []
    released = ""
    for delta in deltas:
        for piece in stream.feed(delta):
            pieces.append(piece)
            if isinstance(piece, str):
                released += piece
                # Never released: anything of a call block.
                assert "tool_calls" not in piece or "```python" in answer
    pieces += stream.close()
    whole = TOOLS.parse(answer)
    assert _normalised(pieces) == (whole.text, [(c.name, c.arguments) for c in whole.calls])


def test_text_that_may_open_a_call_is_held_until_known() -> None:
    stream = TOOLS.stream()
    assert stream.feed("Looking it up.\n") == ["Looking it up."]
    assert stream.feed("``") == []
    assert stream.feed('`json\n{"tool') == []
    pieces = stream.feed('_calls": [{"name": "get_time"}]}\n```\n')
    assert [type(piece) for piece in pieces] == [ToolCall]
    assert stream.feed("Done.") == ["Done."]
    assert stream.close() == []
    code = TOOLS.stream()
    assert code.feed("```python\nprint(1)\n") == ["```python\n", "print(1)\n"]
    assert code.feed("``") == []  # may be the closing fence: its line is kept whole
    assert code.feed("`\n{") == ["```"]
    assert code.feed('"a": 1}') == ["\n{", '"a": 1}']
