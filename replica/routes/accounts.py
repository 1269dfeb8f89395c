"""`/backend-api/accounts/check/v4-2023-04-27`: the workspaces the login offers.

The page reads it to fill the profile menu's workspace list; the bridge reads it to find
the one `CHATGPT_WORKSPACE` names (docs/replica.md, "Workspaces").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from replica import workspaces
from replica.state import Guarded

router = APIRouter(prefix="/backend-api")


@router.get("/accounts/check/v4-2023-04-27")
async def accounts_check(replica: Guarded) -> dict[str, Any]:
    return workspaces.check_payload(replica.options.workspaces)
