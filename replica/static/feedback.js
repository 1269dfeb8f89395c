// The thumbs under a finished answer (docs/replica.md, "Feedback"). Pressing one posts the
// web app's own `POST /backend-api/conversation/message_feedback` with
// {conversation_id, message_id, rating: "thumbsUp" | "thumbsDown"}; once ChatGPT took it the
// pressed thumb shows `aria-pressed="true"` and the other one "false" (a second press of
// the other thumb replaces the verdict). A refusal leaves both as they were and says so.
import { el } from "./dom.js";

export const FEEDBACK_PATH = "/backend-api/conversation/message_feedback";

const RATINGS = [
  { rating: "thumbsUp", testid: "good-response-turn-action-button", label: "goodResponse" },
  { rating: "thumbsDown", testid: "bad-response-turn-action-button", label: "badResponse" },
];

// The request itself; true once ChatGPT took the rating.
export async function sendRating(post, conversationId, messageId, rating) {
  const payload = { conversation_id: conversationId, message_id: messageId, rating };
  try {
    return (await post(FEEDBACK_PATH, payload)).ok;
  } catch (error) {
    return false;
  }
}

// `ids()` names the answer when pressed (its chat may get its id after the answer shows);
// `post(path, payload)` is the page's own authorised fetch; `tell(text)` shows a toast.
export function thumbs(labels, ids, { post, tell }) {
  const buttons = RATINGS.map(({ rating, testid, label }) => {
    const button = el("button", {
      type: "button",
      class: "turn-action thumb",
      "data-testid": testid,
      "aria-label": labels[label],
      "aria-pressed": "false",
    }, labels[label]);
    button.addEventListener("click", async () => {
      const { conversationId, messageId } = ids();
      if (await sendRating(post, conversationId, messageId, rating)) {
        for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
      } else {
        tell(labels.feedbackFailed);
      }
    });
    return button;
  });
  return buttons;
}

// Today's search-unit row has one "Rate response" button where the thumbs were
// (dom-snapshots/snap-1.html, ko "응답 평가"); what it shows when pressed is not in public
// evidence: here it shows the two thumbs beside it (docs/replica.md, "Feedback").
export function rateButton(labels, ids, actions) {
  const holder = el("span", { class: "rate-choices" });
  const button = el("button", {
    type: "button",
    class: "turn-action",
    "aria-label": labels.rateResponse,
    onclick: () => {
      if (!holder.childElementCount) holder.append(...thumbs(labels, ids, actions));
    },
  }, labels.rateResponse);
  return [button, holder];
}
