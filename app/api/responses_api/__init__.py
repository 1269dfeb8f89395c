"""OpenAI's Responses API (`/v1/responses`) as a translation onto the chat pipeline.

`request.py` checks a request and turns it into a chat completion, `items.py` its input,
`tools.py` its tools; `run.py` writes a response in a task of its own, `events.py` its
stream, `bodies.py` its JSON; `store.py` keeps responses for `previous_response_id` and
retrieval; `routes.py` serves the HTTP. `ResponsesService.create()` answers a request body
without HTTP (for batches).
"""

from app.api.responses_api.routes import router
from app.api.responses_api.run import ResponsesService
from app.api.responses_api.store import ResponseStore

__all__ = ["ResponseStore", "ResponsesService", "router"]
