// Image turns on today's page (docs/replica.md, "Image turns"): the image tool's card says
// the picture is being made while the server still works on it; once the read-back holds
// the tool message's `image_asset_pointer`, the page asks for a signed download link and
// shows the picture through it (no Bearer token on the <img> request).
import { el } from "./dom.js";

const DRAWING = "Creating image"; // the card's wording: (no evidence)

// The image tool's message (role tool, `multimodal_text`), streamed or read back.
export function isPicture(message) {
  return message.author.role === "tool" && message.content.content_type === "multimodal_text";
}

export function drawing(view) {
  if (view.drawing) return;
  view.drawing = el("div", { class: "image-card", "data-image-state": "drawing", role: "status", text: DRAWING });
  view.assistantUnit.append(view.drawing);
}

// Shows every picture of the exchange that `messages` (a read-back page) holds.
export async function showPictures(view, messages, conversationId, api) {
  for (const message of messages.filter(isPicture)) {
    for (const part of message.content.parts || []) {
      if (part.content_type !== "image_asset_pointer") continue;
      const fileId = part.asset_pointer.replace(/^(sediment|file-service):\/\//, "");
      const response = await api(`/backend-api/files/download/${fileId}?conversation_id=${conversationId}`);
      if (!response.ok) continue;
      const alt = (message.metadata || {}).image_gen_title || "Generated image";
      const picture = el("img", { class: "generated-image", alt, src: (await response.json()).download_url });
      view.assistantUnit.append(el("div", { class: "image-card", "data-image-state": "done", id: `image-${message.id}` }, picture));
    }
  }
  if (view.drawing) view.drawing.remove();
  view.drawing = null;
}
