"""`search-unit-v2`: one exchange root per question holding both the user and the answer unit.

Seen on Pro accounts from 2026-09 (KobaProduction/browser-extensions
`docs/CHATGPT_DOM_ADAPTERS.md`): units carry `<turn>:<i>:<role>` keys and the ids of their
messages (an answer spanning tool steps lists several: the reply is the last); no
`data-message-author-role` exists, so the role is read from the unit key.
"""

from __future__ import annotations

from browser.adapters.base import Adapter

READER = """
(kit, L, A) => kit.every(kit.scope, "search_unit").map((unit) => {
  const role = (unit.getAttribute(A.unit_key) || "").split(":").pop();
  const ids = (unit.getAttribute(A.unit_ids) || "").trim().split(/\\s+/).filter(Boolean);
  const body = kit.inside(unit, role === "user" ? "search_user_text" : "search_assistant_text");
  const slugged = unit.querySelector(`[${A.model_slug}]`);
  // The answer's action row sits in the exchange root beside the units, the question's
  // inside its unit: an answer is finished when a row outside any other unit shows.
  const turn = kit.within(unit, "search_turn") || unit;
  const rows = kit.every(turn, "search_finished");
  return {
    id: ids.length ? ids[ids.length - 1] : null,
    role,
    slug: slugged ? slugged.getAttribute(A.model_slug) : null,
    done: rows.some((row) => [unit, null].includes(kit.within(row, "search_unit"))),
    text: kit.text(body || unit),
  };
})
"""

ADAPTER = Adapter(name="search-unit-v2", signature="search_signature", reader=READER)
