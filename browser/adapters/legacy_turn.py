"""`legacy-turn-v1`: one `section` (older: `article`) per message, roles as attributes.

Seen on Free accounts through 2026-10 and on the 2025 page the replica serves: turn roots
`[data-testid^="conversation-turn-"]`, messages `[data-message-id][data-message-author-role]`,
the answer's action row once it is finished.
"""

from __future__ import annotations

from browser.adapters.base import Adapter

READER = """
(kit, L, A) => kit.every(kit.scope, "message").map((el) => {
  const turn = kit.within(el, "turn");
  return {
    id: el.getAttribute(A.message_id),
    role: el.getAttribute(A.role),
    slug: el.getAttribute(A.model_slug),
    done: !!kit.inside(turn, "action_bar"),
    text: kit.text(kit.inside(el, "markdown") || el),
  };
})
"""

ADAPTER = Adapter(name="legacy-turn-v1", signature="legacy_signature", reader=READER)
