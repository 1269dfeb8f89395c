"""`chatgpt-bridge decode`: a saved conversation stream body -> the answer (no browser).

The bodies are the 2026-shaped streams of tests/streams/ (each says which capture it imitates).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli import main

STREAMS = Path(__file__).parent / "streams"


def decode_json(capsys: pytest.CaptureFixture[str], name: str, *extra: str) -> dict[str, Any]:
    assert main(["decode", str(STREAMS / name), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_tool_turn_json_has_citations_as_links(capsys: pytest.CaptureFixture[str]) -> None:
    result = decode_json(capsys, "tool_turn_2026.sse")
    assert result["text"].startswith("**Spain** won the final 2–1 ([FIFA World Cup 26 final")
    assert "\ue200" not in result["text"] and "(https://example.org/report)" in result["text"]
    assert result == result | {
        "conversation_id": "6ad0c1e2-0000-83ea-9836-d2642f97cb6d",
        "model": "gpt-5-6-thinking",
        "finish_reason": "stop",
        "done": True,
        "handoff": False,
    }


def test_image_turn_is_not_done(capsys: pytest.CaptureFixture[str]) -> None:
    result = decode_json(capsys, "image_turn_2026.sse")
    assert result["text"] == "" and result["done"] is False and result["handoff"] is False


def test_handoff_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    result = decode_json(capsys, "handoff_2026.sse")
    assert result["handoff"] is True and result["done"] is False
    assert result["text"] == "Working through"


def test_retried_post_body(capsys: pytest.CaptureFixture[str]) -> None:
    result = decode_json(capsys, "retried_post_2026.sse", "--prompt-id", "u-ours")
    assert result["text"] == "Spain won." and result["done"] is True


def test_plain_output_and_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(STREAMS / "patch_shapes_2026.sse")]) == 0
    assert capsys.readouterr().out == "One, two, three.\n"
    assert main(["decode", str(STREAMS / "nope.sse")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_stdin_in_a_real_process() -> None:
    """`-` reads the body from stdin, as in `pbpaste | chatgpt-bridge decode - --json`."""
    body = (STREAMS / "tool_turn_2026.sse").read_bytes()
    process = subprocess.run(
        [sys.executable, "-m", "app.cli", "decode", "-", "--json"],
        input=body,
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr.decode()
    assert json.loads(process.stdout)["done"] is True
