"""`/v1/files` through the official `openai` package: upload, list, retrieve, content, delete.

Every object the SDK reads is also fetched raw and validated against OpenAI's schemas; the
store's own rules (private bytes, size cap, orphan sweep, retention) are checked beside them.
"""

from __future__ import annotations

import stat
from typing import Any

import openai
import pytest

from app.db import open_database
from app.files import GENERATED, FileStore
from tests.api_support import Api, module_fake_api
from tests.schemas import MORE, validate

api = module_fake_api("files", file_max_mb=0.01)


async def _raw(api: Api, method: str, path: str) -> Any:
    async with api.http() as http:
        response = await http.request(method, path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_upload_list_retrieve_download_delete(api: Api) -> None:
    client = api.async_client()
    data = b'{"custom_id": "a"}\n'
    uploaded = await client.files.create(file=("lines.jsonl", data), purpose="batch")
    assert (uploaded.filename, uploaded.bytes, uploaded.purpose) == (
        "lines.jsonl",
        len(data),
        "batch",
    )
    validate(await _raw(api, "GET", f"/v1/files/{uploaded.id}"), "OpenAIFile", MORE)

    other = await client.files.create(file=("notes.txt", b"hello"), purpose="user_data")
    listed = [f.id async for f in client.files.list()]
    assert listed[:2] == [other.id, uploaded.id]  # newest first, as OpenAI lists them
    assert [f.id async for f in client.files.list(purpose="batch")] == [uploaded.id]
    validate(await _raw(api, "GET", "/v1/files"), "ListFilesResponse", MORE)

    page = await client.files.list(limit=1, order="asc")
    assert page.has_more and len(page.data) == 1
    second = await client.files.list(limit=1, order="asc", after=page.data[0].id)
    assert second.data[0].id != page.data[0].id

    assert (await client.files.retrieve(uploaded.id)).id == uploaded.id
    assert (await client.files.content(uploaded.id)).content == data

    deleted = await client.files.delete(uploaded.id)
    assert deleted.deleted and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError, match="No such File object"):
        await client.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        await client.files.delete(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        await client.files.content(uploaded.id)


async def test_bad_uploads_are_openai_errors_and_store_nothing(api: Api) -> None:
    client = api.async_client()
    before = [f.id async for f in client.files.list()]
    with pytest.raises(openai.BadRequestError, match="batch, user_data, vision") as refused:
        await client.files.create(file=("x.jsonl", b"{}"), purpose="fine-tune")
    assert refused.value.body["param"] == "purpose"  # type: ignore[index]
    with pytest.raises(openai.APIStatusError, match="BRIDGE_FILE_MAX_MB") as big:
        await client.files.create(file=("big.bin", b"x" * 20000), purpose="user_data")
    assert big.value.status_code == 413
    assert [f.id async for f in client.files.list()] == before


async def test_the_bytes_are_private_orphans_are_swept_and_retention_bounds_a_purpose(
    tmp_path: Any,
) -> None:
    async with open_database(tmp_path / "db.sqlite3") as db:
        store = FileStore(db, tmp_path / "files", max_bytes=1000)
        await store.setup()
        images = [await store.put(b"p" * 100, f"../../image{i}.png", GENERATED) for i in range(4)]
        kept = await store.put(b"keep", "mine.txt", "user_data")
        assert images[0].filename == "image0.png" and images[0].mime == "image/png"
        assert stat.S_IMODE(store.path(kept).stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "files").stat().st_mode) == 0o700

        assert await store.prune(GENERATED, keep_bytes=250) == [images[1].id, images[0].id]
        remaining = [f.id for f in await store.list(purpose=GENERATED)]
        assert remaining == [images[3].id, images[2].id]
        assert not store.path(images[0]).exists()

        orphan = tmp_path / "files" / "file-orphan"
        orphan.write_bytes(b"left by a crash")
        await FileStore(db, tmp_path / "files", max_bytes=1000).setup()
        assert not orphan.exists()
        assert await store.read(kept.id) == b"keep"
