"""The MCP tools: ask ChatGPT, list its models, list and read the person's chats.

Each tool is a thin translation onto the one contract (`browser.contract.Bridge`) and the
parts the API already has: models resolve through the same `ModelCatalog` as `/v1/models`,
failures are phrased by the same `api_error_from` as the API's error bodies, so a rate
limit says the same "try again in 12 minutes" here as there. A typed failure is an MCP tool
error (`isError`, that message as its text, nothing prepended), never a protocol error or a
hang; a prompt that may have been delivered is never sent again.

Written without `from __future__ import annotations`: the SDK reads each tool's JSON Schema
from its signature, and the tools are closures over the app's parts.
"""

import itertools
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Literal

from mcp.server.mcpserver import Context, ListRoots, MCPServer, Resolve
from mcp_types import CallToolResult, ListRootsResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from app.api.errors import api_error_from, invalid_request
from app.api.headers import CONVERSATION_ID
from app.api.turns import TurnRunner
from app.mcp.asking import read_answer
from app.mcp.files import FileInput, attachments, client_roots
from app.services import Services
from browser.contract import StoredMessage
from browser.models import SEPARATOR, format_model_id

logger = logging.getLogger(__name__)

Parts = Callable[[], Services]
"""The running app's parts, read at each call (the server is built before they start)."""

INSTRUCTIONS = """\
ChatGPT, through the person's own logged-in chatgpt.com (their subscription, their models).
Use `ask` for a second opinion, a thinking or Pro model, or a long document read by ChatGPT;
answers may take minutes. Chats are temporary by default (not in the person's history);
pass the returned `conversation_id` to continue one. `conversations` and `read_conversation`
pick up a chat the person had in the browser."""

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=True)


class AskResult(BaseModel):
    conversation_id: str | None = Field(
        description="The ChatGPT chat: pass it as `conversation_id` to ask a follow-up in it."
    )
    model: str | None = Field(description="The model that answered (its ChatGPT slug).")
    finish_reason: Literal["stop", "length", "cancelled"] | None = Field(
        description="`stop`: complete; `length`: ChatGPT cut it; `cancelled`: Stop was pressed."
    )


class ModelList(BaseModel):
    models: list[str] = Field(description="Model ids `ask` accepts as `model` (slug[@effort]).")
    default: str = Field(description="The model used when `ask` names none.")


class ConversationEntry(BaseModel):
    id: str = Field(description="Pass it to `read_conversation`, or to `ask` to continue.")
    title: str | None
    updated: str | None = Field(description="When it last changed (ISO 8601, UTC).")


class ConversationList(BaseModel):
    conversations: list[ConversationEntry] = Field(description="Newest first.")


class MessageEntry(BaseModel):
    role: Literal["user", "assistant"]
    text: str = Field(description="Markdown.")
    model: str | None = Field(description="The model that wrote an answer, when known.")


class Transcript(BaseModel):
    conversation_id: str
    messages: list[MessageEntry] = Field(description="Oldest first: prompts and answers.")


def build_server(parts: Parts) -> MCPServer:
    """The MCP server of a bridge app whose parts `parts()` returns once it has started."""
    server = MCPServer("chatgpt-bridge", instructions=INSTRUCTIONS)

    @server.tool(
        title="Ask ChatGPT",
        annotations=ToolAnnotations(destructive_hint=False, open_world_hint=True),
    )
    async def ask(
        prompt: Annotated[str, Field(min_length=1, description="The message to send.")],
        ctx: Context,
        conversation_id: Annotated[
            str | None,
            Field(description="Continue this chat (from an earlier `ask` or `conversations`)."),
        ] = None,
        model: Annotated[
            str | None,
            Field(description="A model id from the `models` tool, e.g. gpt-5-6-thinking@max."),
        ] = None,
        effort: Annotated[
            str | None,
            Field(description="Thinking effort of `model`, if not in the id (e.g. extended)."),
        ] = None,
        web_search: Annotated[
            bool | None,
            Field(
                description="Turn ChatGPT's web search on or off (while the bridge cannot "
                "choose it, a call that sets it is refused before anything is sent)."
            ),
        ] = None,
        temporary: Annotated[
            bool | None,
            Field(
                description="A new chat is temporary (not in the person's history or memory) "
                "unless this is false. Default: BRIDGE_MCP_TEMPORARY (true)."
            ),
        ] = None,
        files: Annotated[
            list[FileInput] | None,
            Field(description="Files for ChatGPT to read, attached to the message."),
        ] = None,
        roots: Annotated[ListRootsResult | None, Resolve(_roots_if_needed)] = None,
    ) -> Annotated[CallToolResult, AskResult]:
        """Ask ChatGPT in the person's logged-in chatgpt.com and return its answer (Markdown).

        A thinking or Pro model may take many minutes: progress notifications say what
        ChatGPT is doing meanwhile, and cancelling the call presses Stop. Errors say what to
        do (log in, a human check in the browser, a rate limit and when it lifts).
        """
        app = parts()
        steps = itertools.count(1)

        async def report(message: str) -> None:
            await ctx.report_progress(next(steps), None, message)

        runner: TurnRunner | None = None
        try:
            _check_conversation_id(conversation_id)
            name = _model_id(model, effort, app.settings.default_model)
            chosen = (await app.models.resolve(name)).options
            allowed = [*client_roots(roots), *app.settings.mcp_file_roots]
            runner = TurnRunner(
                app.bridge,
                prompt,
                conversation_id=conversation_id,
                options=replace(chosen, web_search=web_search),
                temporary=app.settings.mcp_temporary if temporary is None else temporary,
                attachments=await attachments(files or [], allowed),
            )
            await runner.start(on_done=lambda: None)
            await report("Sent to ChatGPT")
            text = await read_answer(runner, report)
        except Exception as error:
            if runner is not None:
                runner.stop()  # e.g. the client went away: the page must not answer on alone
            return _failed(error)
        result = AskResult(
            conversation_id=runner.conversation_id,
            model=runner.model,
            finish_reason=runner.finish_reason,
        )
        return _result(text, result)

    @server.tool(title="ChatGPT models", annotations=READ_ONLY)
    async def models() -> Annotated[CallToolResult, ModelList]:
        """The models this ChatGPT account offers, as `ask` accepts them (slug[@effort])."""
        app = parts()
        ids = [entry.id for entry in await app.models.entries()]
        default = app.settings.default_model
        text = "\n".join(f"- {id}" + (" (the default)" if id == default else "") for id in ids)
        return _result(text, ModelList(models=ids, default=default))

    @server.tool(title="Recent ChatGPT chats", annotations=READ_ONLY)
    async def conversations(
        limit: Annotated[int, Field(ge=1, le=100, description="How many, newest first.")] = 20,
    ) -> Annotated[CallToolResult, ConversationList]:
        """The person's recent ChatGPT chats, as chatgpt.com's sidebar lists them (temporary
        chats are never listed)."""
        try:
            found = await parts().bridge.conversations(limit)
        except Exception as error:
            return _failed(error)
        entries = [
            ConversationEntry(
                id=entry.id,
                title=entry.title,
                updated=entry.updated.isoformat() if entry.updated else None,
            )
            for entry in found
        ]
        text = "\n".join(
            f"- {e.title or '(untitled)'}: `{e.id}`" + (f", {e.updated}" if e.updated else "")
            for e in entries
        )
        return _result(text or "(No chats.)", ConversationList(conversations=entries))

    @server.tool(title="Read a ChatGPT chat", annotations=READ_ONLY)
    async def read_conversation(
        conversation_id: Annotated[
            str, Field(description="The chat's id (from `conversations`, or chatgpt.com/c/<id>).")
        ],
    ) -> Annotated[CallToolResult, Transcript]:
        """One ChatGPT chat's prompts and answers, oldest first (its newest turns if long)."""
        try:
            _check_conversation_id(conversation_id)
            messages = await parts().bridge.read_conversation(conversation_id)
        except Exception as error:
            return _failed(error)
        transcript = Transcript(
            conversation_id=conversation_id,
            messages=[MessageEntry(role=m.role, text=m.text, model=m.model) for m in messages],
        )
        return _result(_as_markdown(messages), transcript)

    return server


def _roots_if_needed(files: list[FileInput] | None, ctx: Context) -> ListRoots | None:
    """Ask the client for its roots only when a file is given by path, and only a client
    that declared them (the SDK asks in the protocol's way: mid-call, or input-required)."""
    capabilities = ctx.client_capabilities
    if not any(file.path for file in files or []) or not (capabilities and capabilities.roots):
        return None
    return ListRoots()


def _result(text: str, data: BaseModel) -> CallToolResult:
    """The text an agent reads, and the same as structured content."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=data.model_dump(mode="json"),
    )


def _failed(error: Exception) -> CallToolResult:
    """A tool error saying what the API's error body says (`api_error_from`), word for word."""
    message = api_error_from(error).message
    logger.info("MCP tool call failed: %s", message)
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _check_conversation_id(conversation_id: str | None) -> None:
    if conversation_id is not None and not CONVERSATION_ID.fullmatch(conversation_id):
        raise invalid_request(
            f"{conversation_id!r} is not a ChatGPT conversation id: use the `conversation_id` "
            "an earlier `ask` returned, an id from `conversations`, or the <id> of "
            "chatgpt.com/c/<id>."
        )


def _model_id(model: str | None, effort: str | None, default: str) -> str:
    name = model or default
    if effort is None:
        return name
    if SEPARATOR in name:
        raise invalid_request(f"The model {name!r} already names an effort: drop `effort`.")
    return format_model_id(name, effort)


def _as_markdown(messages: list[StoredMessage]) -> str:
    if not messages:
        return "(This chat has no messages yet.)"
    blocks = []
    for message in messages:
        who = "You" if message.role == "user" else f"ChatGPT ({message.model or 'unknown model'})"
        blocks.append(f"**{who}:**\n\n{message.text}")
    return "\n\n---\n\n".join(blocks)
