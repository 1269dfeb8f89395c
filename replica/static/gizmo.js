// Custom GPTs and projects ("gizmos") on today's page: their routes, the header a GPT's or a
// project's page shows, the sidebar's lists, and the `conversation_mode` a send carries.
import { el } from "./dom.js";

// /g/<gizmo>[-<name>], /g/<gizmo>/project, /g/<gizmo>/c/<conversation>
const ROUTE = /^\/g\/(g-p-[0-9a-f]+|g-[A-Za-z0-9]+)[^/]*(?:\/project|\/c\/([^/]+))?\/?$/;

export function gizmoRoute(path) {
  const match = ROUTE.exec(path);
  return match ? { gizmoId: match[1], conversationId: match[2] ? decodeURIComponent(match[2]) : null } : null;
}

export const chatRoute = (gizmoId, conversationId) =>
  gizmoId ? `/g/${gizmoId}/c/${conversationId}` : `/c/${conversationId}`;

export const conversationMode = (gizmoId) =>
  gizmoId ? { kind: "gizmo_interaction", gizmo_id: gizmoId } : { kind: "primary_assistant" };

// What the GPT's or project's page reads first; an unknown one shows "not found" and no composer.
export async function showGizmo(page, api) {
  const response = await api(`/backend-api/gizmos/${page.gizmoId}`);
  if (!response.ok) {
    page.composer.node.hidden = true;
    page.header.replaceChildren(el("div", { role: "alert", class: "gizmo-missing", text: "This GPT is inaccessible or not found." }));
    return;
  }
  const { gizmo } = await response.json();
  page.header.replaceChildren(el("h2", { class: "gizmo-name", "data-gizmo-id": gizmo.id, text: gizmo.display.name }));
}

// The sidebar's GPTs and projects, above the chat history.
export async function loadGizmos(api) {
  const [gpts, projects] = await Promise.all([api("/backend-api/gizmos/bootstrap"), api("/backend-api/gizmos/snorlax/sidebar?conversations_per_gizmo=0")]);
  const links = [];
  if (gpts.ok) {
    for (const item of (await gpts.json()).gizmos) {
      const gizmo = item.resource.gizmo;
      links.push(el("a", { href: `/g/${gizmo.short_url}`, class: "nav-item gizmo-link", text: gizmo.display.name }));
    }
  }
  if (projects.ok) {
    for (const item of (await projects.json()).items) {
      const gizmo = item.gizmo.gizmo;
      links.push(el("a", { href: `/g/${gizmo.id}/project`, class: "nav-item project-link", text: gizmo.display.name }));
    }
  }
  document.getElementById("gizmos").replaceChildren(...links);
}
