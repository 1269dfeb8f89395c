// How today's two live renderers lay out one exchange (docs/replica.md, "Renderers").
// `search-unit`: one `[data-turn-key]` root (the user message id) holding a user unit and
// an assistant unit, no author-role attribute. `legacy-turn`: one `section` per message
// with `[data-message-id][data-message-author-role]`.
import { el, markdownHtml } from "./dom.js";
import { rateButton, thumbs } from "./feedback.js";

const srOnly = (tag, text, attrs = {}) => el(tag, Object.assign({ class: "sr-only", text }, attrs));

function copyButton(labels, markdown, attrs = {}) {
  return el("button", Object.assign({
    type: "button",
    class: "turn-action",
    "aria-label": labels.copy,
    onclick: () => navigator.clipboard.writeText(markdown()),
  }, attrs), labels.copy);
}

function activityHeader(text) {
  return el("div", { class: "group/activity-header activity-header", text });
}

// The answer a view's thumbs rate: its chat and its (last) message, read when pressed.
const rated = (view) => () => ({ conversationId: view.conversationId, messageId: view.messageId });

class SearchUnit {
  constructor(labels, actions) {
    this.labels = labels;
    this.actions = actions;
    this.nodesPerExchange = 1;
  }

  exchange(container, userId, text) {
    const root = el("div", { class: "exchange", "data-turn-key": userId });
    const turn = el("div", { class: "exchange-body" });
    const userUnit = el("div", { class: "unit user-unit", "data-chatgpt-search-message-ids": userId });
    const userBody = el("div", { class: "unit-content" },
      el("div", { class: "user-bubble", "data-user-message-bubble": "true" },
        el("div", { class: "whitespace-pre-wrap", text })));
    userUnit.append(srOnly("h4", this.labels.youSaid), userBody);
    const assistantUnit = el("div", { class: "unit assistant-unit" });
    assistantUnit.append(srOnly("h4", this.labels.chatgptSaid, { "data-conversation-role": "assistant" }));
    turn.append(userUnit, assistantUnit);
    root.append(turn);
    container.append(root);
    return { root, turn, userUnit, userBody, assistantUnit, ids: [], activity: null, body: null };
  }

  // The unit keys depend on which turns are mounted, as on chatgpt.com: not stable.
  renumber(container) {
    [...container.children].forEach((root, n) => {
      const key = `fallback-turn-${n}`;
      root.firstChild.dataset.contentSearchTurnKey = key;
      const [user, assistant] = root.firstChild.children;
      user.dataset.chatgptSearchUnitKey = `${key}:0:user`;
      user.lastChild.dataset.contentSearchUnitKey = `${key}:0:user`;
      assistant.dataset.chatgptSearchUnitKey = `${key}:2:assistant`;
      assistant.dataset.contentSearchUnitKey = `${key}:2:assistant`;
    });
  }

  activity(view, text) {
    if (!view.activity) {
      view.activity = activityHeader(text);
      view.assistantUnit.insertBefore(view.activity, view.body ? view.body.parentNode : null);
    }
    view.activity.textContent = text;
  }

  noteMessage(view, id) {
    if (!view.ids.includes(id)) view.ids.push(id);
    view.assistantUnit.dataset.chatgptSearchMessageIds = view.ids.join(" ");
  }

  answer(view, message, markdown, conversationId) {
    this.noteMessage(view, message.id);
    Object.assign(view, { conversationId, messageId: message.id });
    if (!view.body) {
      view.body = el("div", { class: "markdown", "data-markdown-text-style": "assistant-message", dir: "auto" });
      view.assistantUnit.append(el("div", {
        class: "answer",
        "data-chatgpt-selection-conversation-id": conversationId,
        "data-chatgpt-selection-message-id": message.id,
      }, view.body));
    }
    view.body.innerHTML = markdownHtml(markdown);
  }

  finish(view, markdown) {
    if (view.assistantUnit.querySelector(".turn-action-controls")) return;
    view.assistantUnit.append(el("div", { class: "turn-action-controls" },
      copyButton(this.labels, markdown), ...rateButton(this.labels, rated(view), this.actions)));
  }
}

class LegacyTurn {
  constructor(labels, actions) {
    this.labels = labels;
    this.actions = actions;
    this.nodesPerExchange = 2;
  }

  section(container, role) {
    const number = container.children.length + 1;
    const section = el("section", {
      class: `turn turn-${role}`,
      "data-testid": `conversation-turn-${number}`,
      "data-turn": role,
      "data-turn-id": crypto.randomUUID(),
      "data-scroll-anchor": "false",
      tabindex: "-1",
    });
    section.append(srOnly(role === "user" ? "h5" : "h6", role === "user" ? this.labels.youSaid : this.labels.chatgptSaid));
    container.append(section);
    return section;
  }

  exchange(container, userId, text) {
    const user = this.section(container, "user");
    user.append(el("div", { class: "user-message", "data-message-author-role": "user", "data-message-id": userId },
      el("div", { class: "user-bubble" }, el("div", { class: "whitespace-pre-wrap", text }))));
    const assistant = this.section(container, "assistant");
    return { root: user, roots: [user, assistant], assistantUnit: assistant, activity: null, body: null };
  }

  renumber(container) {
    [...container.children].forEach((section, n) => (section.dataset.testid = `conversation-turn-${n + 1}`));
  }

  activity(view, text) {
    SearchUnit.prototype.activity.call(this, view, text);
  }

  answer(view, message, markdown, conversationId) {
    Object.assign(view, { conversationId, messageId: message.id });
    if (!view.body) {
      view.body = el("div", { class: "markdown prose" });
      view.assistantUnit.append(el("div", {
        class: "assistant-message",
        "data-message-author-role": "assistant",
        "data-message-id": message.id,
        "data-message-model-slug": (message.metadata || {}).model_slug || null,
      }, view.body));
    }
    view.body.innerHTML = markdownHtml(markdown);
  }

  finish(view, markdown) {
    if (view.assistantUnit.querySelector('[data-testid="copy-turn-action-button"]')) return;
    const actions = el("div", { role: "group", class: "turn-actions", "aria-label": this.labels.responseActions },
      copyButton(this.labels, markdown, { "data-testid": "copy-turn-action-button" }),
      ...thumbs(this.labels, rated(view), this.actions));
    view.assistantUnit.append(actions);
  }
}

// `actions`: what the page lends its turns: `post(path, payload)` and `tell(text)`.
export function renderer(name, labels, actions) {
  return name === "legacy-turn" ? new LegacyTurn(labels, actions) : new SearchUnit(labels, actions);
}
