"""Pictures ChatGPT draws, through the official `openai` package: in chat completions as
Markdown images the bridge serves, and from `/v1/images/generations` in OpenAI's shape."""

from __future__ import annotations

import base64
import re

import httpx
import openai
import pytest

from browser.generated import GeneratedFile
from tests.api_support import Api, Asks, module_fake_api
from tests.fakes.bridge import Answer
from tests.schemas import MORE, validate

PNG = b"\x89PNG\r\n\x1a\nfake picture bytes"
api = module_fake_api("images", generated_keep_mb=0.0001)  # about 100 bytes kept


def drawn(alt: str = "a fox [in snow]", data: bytes = PNG) -> GeneratedFile:
    return GeneratedFile("file_abc.png", "image/png", data, alt)


async def test_a_completion_shows_the_picture_as_a_markdown_image_the_bridge_serves(
    api: Api,
) -> None:
    api.bridge.script(Answer("Here it is.", files=(drawn(),)))
    client = api.async_client()
    reply = await client.chat.completions.create(
        model="auto", messages=[{"role": "user", "content": "Draw a fox"}]
    )
    content = reply.choices[0].message.content or ""
    found = re.fullmatch(r"Here it is\.\n\n!\[a fox \\\[in snow\\\]\]\((\S+)\)", content)
    assert found, content
    url = found[1]
    assert url.startswith(f"{api.url}/v1/files/")
    async with httpx.AsyncClient() as http:
        picture = await http.get(url)
    assert picture.content == PNG and picture.headers["content-type"] == "image/png"
    file_id = url.split("/")[-2]
    assert (await client.files.retrieve(file_id)).purpose == "assistants_output"


async def test_a_streamed_completion_ends_with_the_picture(api: Api) -> None:
    api.bridge.script(Answer("Done.", files=(drawn("a cat"),)))
    stream = await api.async_client().chat.completions.create(
        model="auto", messages=[{"role": "user", "content": "Draw a cat"}], stream=True
    )
    pieces = [chunk.choices[0].delta.content async for chunk in stream if chunk.choices]
    text = "".join(piece or "" for piece in pieces)
    assert re.fullmatch(r"Done\.\n\n!\[a cat\]\(\S+/v1/files/file-\w+/content\)", text), text


async def test_drawn_files_past_the_retention_bound_are_dropped_oldest_first(api: Api) -> None:
    client = api.async_client()
    ids = []
    for index in range(3):
        api.bridge.script(Answer(files=(drawn(f"picture {index}", PNG + bytes(40)),)))
        result = await client.images.generate(prompt=f"picture {index}", response_format="url")
        assert result.data and result.data[0].url
        ids.append(result.data[0].url.split("/")[-2])
    assert (await client.files.retrieve(ids[-1])).bytes == len(PNG) + 40
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve(ids[0])


async def test_images_generate_returns_b64_json_and_types_the_size_as_words(api: Api) -> None:
    asks = Asks.of(api)
    api.bridge.script(Answer(files=(drawn("a lighthouse at dusk"),)))
    result = await api.async_client().images.generate(
        prompt="a lighthouse at dusk", size="1536x1024", response_format="b64_json", n=1
    )
    assert result.data is not None and base64.b64decode(result.data[0].b64_json or "") == PNG
    assert result.data[0].revised_prompt == "a lighthouse at dusk"
    assert result.output_format == "png"
    [ask] = asks()
    assert ask.prompt == (
        "Generate an image: a lighthouse at dusk\n\nMake it landscape, 1536x1024 pixels."
    )


async def test_images_generate_gives_a_url_and_matches_openais_schema(api: Api) -> None:
    api.bridge.script(Answer(files=(drawn(),)))
    async with api.http() as http:
        response = await http.post(
            "/v1/images/generations", json={"prompt": "a fox", "model": "dall-e-3"}
        )
    body = response.json()
    validate(body, "ImagesResponse", MORE)
    async with httpx.AsyncClient() as http:
        assert (await http.get(body["data"][0]["url"])).content == PNG


@pytest.mark.parametrize(
    ("options", "param"),
    [({"n": 2}, "n"), ({"size": "huge"}, "size"), ({"response_format": "gif"}, "response_format")],
)
async def test_images_generate_refuses_what_it_cannot_do_before_asking(
    api: Api, options: dict[str, object], param: str
) -> None:
    asks = Asks.of(api)
    with pytest.raises(openai.BadRequestError) as refused:
        await api.async_client().images.generate(prompt="a fox", **options)  # type: ignore[arg-type]
    assert refused.value.param == param
    assert asks() == []


async def test_an_answer_without_a_picture_is_a_clear_error(api: Api) -> None:
    api.bridge.script(Answer("I can't draw that."))
    with pytest.raises(openai.InternalServerError, match=r"without drawing an image.*can't draw"):
        await api.async_client().images.generate(prompt="something odd")
