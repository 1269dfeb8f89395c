"""File inputs of chat completions, through the official `openai` package, on a FakeBridge.

Each test proves what reached the bridge: the attachment's name, type and exact bytes (the
FakeBridge records them), or that nothing did when the request was refused.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from app.api.fetching import FetchRefusedError, UrlFetcher, is_public, resolve_host
from browser.attachments import Attachment
from tests.api_support import Api, Asks, StartApp, assistant, fake_app, module_fake_api
from tests.fakes.bridge import FakeBridge

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n%fake but whole\n" + bytes(range(256))

api = module_fake_api("api-attachments")


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def with_parts(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(parts)}]


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


async def complete(api: Api, messages: list[dict[str, Any]]) -> Any:
    return await api.async_client().chat.completions.create(model="auto", messages=messages)


async def test_an_image_data_url_is_attached(api: Api) -> None:
    asks = Asks.of(api)
    await complete(
        api, with_parts(text("What is in the picture?"), image(data_url("image/png", PNG)))
    )
    [ask] = asks()
    assert ask.prompt == "What is in the picture?"
    assert ask.attachments == (Attachment("image-1.png", "image/png", PNG),)


async def test_file_data_and_audio_are_attached(api: Api) -> None:
    asks = Asks.of(api)
    clip = b"RIFF\x24\x00\x00\x00WAVEfmt "
    parts = (
        text("Read both"),
        {
            "type": "file",
            "file": {"filename": "report.pdf", "file_data": data_url("application/pdf", PDF)},
        },
        {
            "type": "file",
            "file": {"filename": "notes.txt", "file_data": base64.b64encode(b"hi").decode()},
        },
        {
            "type": "input_audio",
            "input_audio": {"data": base64.b64encode(clip).decode(), "format": "wav"},
        },
    )
    await complete(api, with_parts(*parts))
    [ask] = asks()
    assert ask.attachments == (
        Attachment("report.pdf", "application/pdf", PDF),
        Attachment("notes.txt", "text/plain", b"hi"),
        Attachment("audio.wav", "audio/wav", clip),
    )


async def test_a_file_id_from_v1_files_is_attached(api: Api) -> None:
    asks = Asks.of(api)
    client = api.async_client()
    uploaded = await client.files.create(
        file=("table.csv", b"a,b\n1,2\n", "text/csv"), purpose="user_data"
    )
    await complete(
        api, with_parts(text("Sum it"), {"type": "file", "file": {"file_id": uploaded.id}})
    )
    assert asks()[0].attachments == (Attachment("table.csv", "text/csv", b"a,b\n1,2\n"),)
    with pytest.raises(openai.NotFoundError):
        await complete(
            api, with_parts(text("Sum it"), {"type": "file", "file": {"file_id": "file-nope"}})
        )
    assert len(asks()) == 1


@pytest.mark.parametrize(
    ("part", "code"),
    [
        (image("https://example.com/cat.png"), "url_not_allowed"),  # fetching is off by default
        (image("data:image/png;base64,@@not base64@@"), "invalid_file"),
        (image(data_url("text/plain", b"not a picture")), "invalid_file"),
        ({"type": "image_url", "image_url": {"url": "ftp://example.com/x.png"}}, None),
        ({"type": "file", "file": {"file_data": "aGk="}}, None),  # file_data needs a filename
    ],
    ids=["url-off", "bad-base64", "not-an-image", "bad-scheme", "no-filename"],
)
async def test_a_bad_file_input_is_a_400_and_nothing_is_asked(
    api: Api, part: dict[str, Any], code: str | None
) -> None:
    asks = Asks.of(api)
    with pytest.raises(openai.BadRequestError) as refused:
        await complete(api, with_parts(text("Look"), part))
    assert refused.value.code == code
    assert asks() == []


async def test_a_follow_up_with_a_file_continues_the_same_chat(api: Api) -> None:
    asks, turns = Asks.of(api), len(api.bridge.turns)
    first = with_parts(text("Here is a chart"), image(data_url("image/png", PNG)))
    answer = (await complete(api, first)).choices[0].message.content or ""
    chat = api.bridge.turns[turns].conversation_id
    second = image(data_url("image/png", PNG[:-1] + b"\x83"))
    await complete(api, [*first, assistant(answer), *with_parts(text("And this?"), second)])
    _, follow_up = asks()
    assert follow_up.conversation_id == chat and follow_up.prompt == "And this?"
    assert [a.data[-1:] for a in follow_up.attachments] == [b"\x83"]  # only the new file goes


async def test_a_file_refused_by_chatgpt_is_a_400(api: Api) -> None:
    api.bridge.rejected_types.add("application/x-msdownload")
    try:
        with pytest.raises(openai.BadRequestError) as refused:
            part = {
                "type": "file",
                "file": {
                    "filename": "setup.exe",
                    "file_data": data_url("application/x-msdownload", b"MZ"),
                },
            }
            await complete(api, with_parts(text("Run it"), part))
    finally:
        api.bridge.rejected_types.clear()
    assert refused.value.code == "unsupported_file" and "setup.exe" in refused.value.message


async def test_a_file_only_message_is_asked(api: Api) -> None:
    asks = Asks.of(api)
    await complete(api, with_parts(image(data_url("image/png", PNG))))
    assert asks()[0].attachments[0].data == PNG


async def test_private_addresses_are_never_fetched(start_app: StartApp, tmp_path: Path) -> None:
    bridge = FakeBridge()
    async with fake_app(start_app, tmp_path, bridge, fetch_urls=True) as app:
        for url in (
            "http://127.0.0.1:9/x.png",
            "http://localhost/x.png",
            "http://[::1]/x.png",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/x.png",
        ):
            with pytest.raises(openai.BadRequestError) as refused:
                await complete(app, with_parts(text("Look"), image(url)))
            assert refused.value.code == "url_not_allowed", url
    assert bridge.asks == []


# --- the fetcher: which addresses, which hops, how much --------------------------------------


def fetcher(
    routes: dict[str, httpx.Response], addresses: dict[str, str], max_bytes: int = 1000
) -> tuple[UrlFetcher, list[httpx.Request]]:
    """A fetcher whose DNS is `addresses` and whose network serves `routes` (by Host + path)."""
    seen: list[httpx.Request] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return routes[request.headers["host"] + request.url.path]

    async def resolve(host: str, port: int) -> list[str]:
        return [addresses[host]]

    return UrlFetcher(max_bytes, resolve=resolve, transport=httpx.MockTransport(serve)), seen


async def test_the_fetcher_connects_to_the_address_it_checked() -> None:
    routes = {
        "img.example/cat.png": httpx.Response(
            200, content=PNG, headers={"content-type": "image/png"}
        )
    }
    fetch, seen = fetcher(routes, {"img.example": "93.184.216.34"})
    got = await fetch.fetch("https://img.example/cat.png")
    assert (got.data, got.mime_type, got.filename) == (PNG, "image/png", "cat.png")
    assert seen[0].url.host == "93.184.216.34" and seen[0].headers["host"] == "img.example"
    assert seen[0].extensions["sni_hostname"] == "img.example"


async def test_the_fetcher_checks_every_redirect_and_caps_the_size() -> None:
    routes = {
        "img.example/hop": httpx.Response(
            302, headers={"location": "http://intranet.example/secret"}
        ),
        "img.example/big": httpx.Response(200, content=b"x" * 1001),
    }
    fetch, seen = fetcher(
        routes, {"img.example": "93.184.216.34", "intranet.example": "192.168.1.2"}
    )
    with pytest.raises(FetchRefusedError) as redirected:
        await fetch.fetch("http://img.example/hop")
    assert redirected.value.code == "url_not_allowed"
    assert [request.url.path for request in seen] == ["/hop"], "the private hop was never asked"
    with pytest.raises(FetchRefusedError) as big:
        await fetch.fetch("http://img.example/big")
    assert big.value.code == "file_too_large"


def test_only_global_addresses_are_public() -> None:
    assert is_public("93.184.216.34") and is_public("2606:4700::1111")
    for address in (
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ):
        assert not is_public(address), address


async def test_localhost_resolves_to_no_public_address() -> None:
    addresses = await asyncio.wait_for(resolve_host("localhost", 80), 10)
    assert addresses and not any(is_public(address) for address in addresses)


async def test_responses_input_image_and_input_file_are_attached(api: Api) -> None:
    asks = Asks.of(api)
    client = api.async_client()
    stored = await client.files.create(file=("chart.png", PNG, "image/png"), purpose="vision")
    content = [
        {"type": "input_text", "text": "Explain these"},
        {"type": "input_image", "image_url": data_url("image/png", PNG)},
        {"type": "input_image", "file_id": stored.id},
        {
            "type": "input_file",
            "filename": "spec.pdf",
            "file_data": data_url("application/pdf", PDF),
        },
    ]
    response = await client.responses.create(
        model="auto", input=[{"role": "user", "content": content}]
    )
    assert response.output_text
    [ask] = asks()
    assert ask.prompt == "Explain these"
    assert ask.attachments == (
        Attachment("image-1.png", "image/png", PNG),
        Attachment("chart.png", "image/png", PNG),
        Attachment("spec.pdf", "application/pdf", PDF),
    )
    with pytest.raises(openai.BadRequestError) as refused:
        url = {"type": "input_file", "file_url": "https://example.com/a.pdf"}
        await client.responses.create(model="auto", input=[{"role": "user", "content": [url]}])
    assert refused.value.code == "url_not_allowed" and len(asks()) == 1
