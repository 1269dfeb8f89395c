"""`POST /v1/images/generations`: OpenAI's image API, drawn by ChatGPT's own image tool.

The request becomes one prompt typed into a new chat ("Generate an image: ...", the size
and style said in words, since the web app has no size control), the turn's picture is kept
in the file store like any drawn file (`app.api.generated`) and returned in OpenAI's
`ImagesResponse` shape: `b64_json`, or a `url` the bridge serves. ChatGPT draws one picture
per turn, so `n` must be 1; a streamed answer and partial images are refused up front.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.errors import APIError, api_error_from, invalid_request, unsupported
from app.api.routes import shelf
from app.api.routing import openai_router
from app.api.schemas import validation_error
from app.services import services
from browser.contract import AskOptions
from browser.errors import BridgeError

router = openai_router()

OPENAI_IMAGE_MODELS = re.compile(r"^(dall-e-|gpt-image-)")
"""OpenAI's own image models: ChatGPT picks its image tool itself, so these ask for nothing."""
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_STYLES = {"vivid": "vivid and dramatic", "natural": "natural and realistic"}


class ImageRequest(BaseModel):
    """`CreateImageRequest`: what the bridge reads of it; the rest is accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=32000)
    model: str | None = None
    n: int | None = Field(None, ge=1, le=10)
    size: str | None = None
    style: Literal["vivid", "natural"] | None = None
    response_format: Literal["url", "b64_json"] | None = None
    stream: bool | None = None
    partial_images: int | None = None


def instruction(request: ImageRequest) -> str:
    """What is typed into ChatGPT for this request."""
    words = [f"Generate an image: {request.prompt.strip()}"]
    size = request.size
    if size not in (None, "auto"):
        match = _SIZE.match(size)
        if match is None:
            raise invalid_request(
                f"Invalid 'size': '{size}'. Use 'auto' or WIDTHxHEIGHT, e.g. '1024x1024'.", "size"
            )
        width, height = int(match[1]), int(match[2])
        shape = "square" if width == height else "landscape" if width > height else "portrait"
        words.append(f"Make it {shape}, {width}x{height} pixels.")
    if request.style is not None:
        words.append(f"Style: {_STYLES[request.style]}.")
    return "\n\n".join(words)


def parse(body: bytes) -> ImageRequest:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise invalid_request("The request body must be JSON with at least 'prompt'.") from None
    if not isinstance(data, dict):
        raise invalid_request("The request body must be a JSON object with at least 'prompt'.")
    try:
        request = ImageRequest.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None
    if request.n not in (None, 1):
        raise unsupported("n", "ChatGPT draws one image per request: send n=1 and ask again.")
    if request.stream or request.partial_images:
        raise unsupported("stream", "Streamed and partial images are not supported here.")
    return request


@router.post("/images/generations")
async def generate_images(request: Request) -> dict[str, Any]:
    asked = parse(await request.body())
    prompt = instruction(asked)
    parts = services(request)
    options = AskOptions()
    if asked.model and not OPENAI_IMAGE_MODELS.match(asked.model):
        options = (await parts.models.resolve(asked.model)).options
    try:
        async with parts.bridge.ask(prompt, options=options) as turn:
            text = await turn.read()
            files = [file for file in turn.files if file.is_image]
    except BridgeError as error:
        raise api_error_from(error) from error
    if not files:
        said = f' It said: "{text.strip()[:300]}"' if text.strip() else ""
        raise APIError(
            502,
            "ChatGPT answered without drawing an image (it may have declined, or the account "
            f"cannot use the image tool now).{said}",
            type="server_error",
            code="no_image",
            headers={"x-should-retry": "false"},
        )
    place = shelf(request)
    kept = await place.keep(files)
    # OpenAI's default: a URL from the DALL-E models, the bytes from the GPT image models.
    inline = asked.response_format == "b64_json" or (
        asked.response_format is None and (asked.model or "").startswith("gpt-image-")
    )
    entries = []
    for item, file in zip(kept, files, strict=True):
        entry = {"revised_prompt": item.alt or asked.prompt}
        if inline:
            entry["b64_json"] = base64.b64encode(file.data).decode()
        else:
            entry["url"] = place.url(item.record)
        entries.append(entry)
    body: dict[str, Any] = {"created": int(time.time()), "data": entries}
    output = files[0].mime_type.removeprefix("image/")
    if output in ("png", "webp", "jpeg"):
        body["output_format"] = output
    return body
