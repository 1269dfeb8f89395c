"""Typed failures of the browser layer.

Every error says what happened and what the person should do about it, because the same
message is shown to a Slack user, returned in an OpenAI-style error body and printed by the
CLI. `delivered` tells the callers whether the prompt may already sit in the user's ChatGPT
account: when it is True (or unknown), nobody may send the prompt again automatically.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base class: `str(error)` is a sentence a person can act on."""

    delivered: bool | None = False
    """False: the prompt never reached ChatGPT. True/None: it did, or it may have."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LoginRequiredError(BridgeError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "ChatGPT is logged out in the bridge's browser. Run `chatgpt-bridge login`, "
            "log in in the window that opens, then try again."
        )


class ChallengeError(BridgeError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "ChatGPT is showing a human-verification challenge: complete the check in the "
            "bridge's browser window (on a server without a screen, `chatgpt-bridge view` "
            "shows it), then try again."
        )


class RateLimitedError(BridgeError):
    def __init__(self, message: str | None = None, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        when = (
            f" Try again in {_human_duration(retry_after)}."
            if retry_after
            else (" Wait a while before asking again.")
        )
        super().__init__((message or "ChatGPT says you have sent too many messages.") + when)


class BusyError(BridgeError):
    def __init__(self, message: str | None = None, retry_after: float = 5.0) -> None:
        self.retry_after = retry_after
        super().__init__(
            message
            or "Every browser tab is busy and the queue is full. Try again in a few seconds."
        )


class AttachmentError(BridgeError):
    """A file could not be attached: refused before Send, so nothing was sent.

    `name` is the file's name as given, so a surface can say which file of several failed.
    """

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


class AttachmentRejectedError(AttachmentError):
    """ChatGPT refused the file: its type, or the page's own reason (`reason`)."""

    def __init__(self, name: str, mime_type: str, reason: str | None = None) -> None:
        self.mime_type = mime_type
        self.reason = reason
        if reason:
            message = (
                f"ChatGPT refused the file {name!r} ({mime_type}): {reason.rstrip('.')}. "
                "Nothing was sent; change the file (another type, smaller) and try again."
            )
        else:
            message = (
                f"ChatGPT does not accept the file {name!r} of type {mime_type}. Nothing was "
                "sent; convert it to a supported type (PDF, text, an image...) and try again."
            )
        super().__init__(name, message)


class AttachmentTooLargeError(AttachmentError):
    """The file is larger than ChatGPT takes for its type."""

    def __init__(self, name: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            name,
            f"The file {name!r} has {size:,} bytes, more than the {_human_size(limit)} "
            "ChatGPT takes for a file of its type. Nothing was sent; make it smaller or split "
            "it, then try again.",
        )


class AttachmentUploadError(AttachmentError):
    """The upload of the file failed in the page (its upload service said no, or timed out)."""

    def __init__(self, name: str, reason: str) -> None:
        self.reason = reason
        super().__init__(
            name,
            f"Uploading the file {name!r} to ChatGPT failed: {reason}. Nothing was sent; "
            "try again in a moment.",
        )


class ConversationNotFoundError(BridgeError):
    """No chat of that id in the account: nothing was sent."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(
            f"ChatGPT has no conversation {conversation_id!r} in this account (or it was "
            "deleted). Check the id: it is the <id> of chatgpt.com/c/<id>."
        )


class GizmoNotFoundError(BridgeError):
    """A custom GPT or a project the account cannot open: nothing was sent."""

    delivered = False


class GptNotFoundError(GizmoNotFoundError):
    def __init__(self, gpt: str) -> None:
        self.gpt = gpt
        super().__init__(
            f"ChatGPT has no custom GPT {gpt!r} this account can use (removed, private, or "
            "mistyped). Nothing was sent. Check the id: it is the g-<id> of "
            "chatgpt.com/g/g-<id>-<name>."
        )


class ProjectNotFoundError(GizmoNotFoundError):
    def __init__(self, project: str, names: list[str]) -> None:
        self.project = project
        self.names = names
        listed = ", ".join(repr(name) for name in names) or "(none)"
        super().__init__(
            f"This ChatGPT account has no project named {project!r}. Nothing was sent. Its "
            f"projects: {listed}."
        )


class MessageNotFoundError(BridgeError):
    """The chat has no answer of that id to rate (or the page shows no thumbs under it)."""

    def __init__(self, conversation_id: str, message_id: str, why: str | None = None) -> None:
        self.conversation_id = conversation_id
        self.message_id = message_id
        super().__init__(
            why
            or f"The chat {conversation_id!r} has no answer {message_id!r} to rate (it may "
            "have been regenerated or deleted). Rate it on chatgpt.com instead."
        )


class SendUncertainError(BridgeError):
    """The prompt may have been delivered; retrying could post it twice."""

    delivered = None

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "The prompt may have reached ChatGPT but no answer could be read. It was not "
            "sent again, to avoid a duplicate; check the conversation on chatgpt.com."
        )


class WebAppError(BridgeError):
    """ChatGPT reported an error. `delivered` says whether the prompt reached it."""

    def __init__(self, message: str, *, delivered: bool | None = False) -> None:
        self.delivered = delivered
        super().__init__(message)


class FeedbackRefusedError(WebAppError):
    """The page sent the rating and ChatGPT refused it (or never confirmed it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, delivered=False)


class AnswerTimeoutError(BridgeError):
    delivered = True

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "ChatGPT stopped answering (no progress before the timeout). The question was "
            "delivered; see the conversation on chatgpt.com."
        )


class BrowserDownError(BridgeError):
    def __init__(self, message: str | None = None, *, delivered: bool | None = False) -> None:
        self.delivered = delivered
        super().__init__(
            message
            or "The bridge's browser is not running. It is relaunched on the next request; "
            "if this persists, check BROWSER_EXECUTABLE and the logs."
        )


class WorkspaceError(BridgeError):
    """CHATGPT_WORKSPACE names no workspace of this login, or the page would not switch to it.

    Nothing is asked until it is fixed: an answer from the wrong workspace (its data rules,
    its history, its plan) is worse than none."""


def _human_size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def _human_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 90:
        return f"{seconds} seconds"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"
