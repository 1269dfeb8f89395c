// Today's chatgpt.com page (2026): an app shell whose routes stay mounted when left
// (hidden), today's composer and model picker, and a turn that may be retried by the front
// end or handed off to a WebSocket topic / the resume endpoint. The 2025 page is app.js.
import { attachmentContent, Attachments } from "./attach.js";
import { el, refreshHistory } from "./dom.js";
import { chatRoute, conversationMode, gizmoRoute, loadGizmos, showGizmo } from "./gizmo.js";
import { drawing, isPicture, showPictures } from "./images.js";
import { LABELS } from "./labels.js";
import { Choice, trigger } from "./picker.js";
import { Tools } from "./tools.js";
import { followTopic, readSse, Turn } from "./stream.js";
import { renderer } from "./turns.js";

const PAGE = Object.assign(
  { renderer: "search-unit", lang: "en", composer_without_id: false, send_without_label: false, anonymous_chat: false },
  window.__REPLICA_PAGE__ || {},
);
const labels = LABELS[PAGE.lang] || LABELS.en;
const layout = renderer(PAGE.renderer, labels, {
  post: (path, payload) => postJson(path, payload),
  tell: (text) => toast(text),
});
const MOUNTED_EXCHANGES = 6; // a long chat keeps only its tail mounted
const MAX_ATTEMPTS = 2; // the front end sends a turn again when its first POST is aborted

const state = { session: null, anonymous: false, temporary: false, choice: null, pages: new Map(), active: null, generating: null };
// Logged-out visitors may chat too (knob anonymous_chat), through /backend-anon/.
const backend = () => (state.anonymous ? "/backend-anon" : "/backend-api");
const $ = (selector, root = document) => root.querySelector(selector);

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.session) headers.Authorization = `Bearer ${state.session.accessToken}`;
  // The workspace the session runs in travels with every backend fetch (docs/replica.md).
  if (state.session && state.session.account) headers["ChatGPT-Account-Id"] = state.session.account.id;
  return fetch(path, Object.assign({}, options, { headers, credentials: "include" }));
}

const postJson = (path, payload, signal) =>
  api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload), signal });

// ------------------------------------------------------------------ app shell pages
class ChatPage {
  constructor(route) {
    this.route = route;
    const inGizmo = gizmoRoute(route); // a custom GPT's or a project's page
    this.gizmoId = inGizmo ? inGizmo.gizmoId : null;
    this.conversationId = route.startsWith("/c/") ? decodeURIComponent(route.slice(3)) : inGizmo && inGizmo.conversationId;
    this.currentNode = null;
    this.turns = el("div", { class: "turns" });
    this.welcome = el("h1", { class: "welcome", text: labels.welcome });
    this.header = el("div", { class: "gizmo-header" });
    const thread = el("div", { class: "thread" }, this.header, this.welcome, this.turns);
    this.scroller = el("div", { class: "thread-scroll-container", "data-app-action-timeline-scroll": "" }, thread);
    this.composer = new Composer(this);
    const surface = el("main", { class: "page-surface", "data-app-shell-main-surface": "browser", tabindex: "-1" }, this.scroller, this.composer.node);
    this.node = el("div", { class: "app-page", "data-app-shell-page": "true", "data-route": route }, surface);
    $("#pages").append(this.node);
    if (this.gizmoId) showGizmo(this, api);
  }

  show(active) {
    this.node.style.display = active ? "" : "none";
    this.node.dataset.appShellActivePage = String(active);
  }

  exchange(userId, text) {
    const view = layout.exchange(this.turns, userId, text);
    while (this.turns.children.length > MOUNTED_EXCHANGES * layout.nodesPerExchange) this.turns.firstChild.remove();
    layout.renumber(this.turns);
    this.welcome.hidden = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
    return view;
  }

  moveTo(conversationId) {
    if (this.conversationId === conversationId) return;
    this.conversationId = conversationId;
    if (state.anonymous) return; // an anonymous chat gets no URL of its own
    state.pages.delete(this.route);
    this.route = chatRoute(this.gizmoId, conversationId);
    this.node.dataset.route = this.route;
    state.pages.set(this.route, this);
    if (state.active === this && location.pathname !== this.route) history.pushState({}, "", this.route);
  }

  async hydrate() {
    const response = await api(`/backend-api/conversations/${this.conversationId}?include_has_versions=true&num_turns=10`);
    if (!response.ok) return;
    const data = await response.json();
    document.title = data.title || "ChatGPT";
    state.temporary = state.temporary || Boolean(data.is_temporary);
    // A GPT's or project's chat opened at /c/<id> goes on in its GPT or project.
    this.gizmoId = this.gizmoId || data.gizmo_id || null;
    // A reopened chat goes on with its own model (docs/replica.md, "Model picker").
    this.model = data.default_model_slug || null;
    if (state.active === this) adoptModel(this);
    let view = null;
    for (const message of data.messages) {
      const text = (message.content.parts || []).filter((part) => typeof part === "string").join("");
      if (message.author.role === "user") view = this.exchange(message.id, text);
      else if (view && message.author.role === "assistant" && message.content.content_type === "text") {
        layout.answer(view, message, text, this.conversationId);
        if (message.status !== "in_progress") layout.finish(view, () => text);
      }
      this.currentNode = message.id;
    }
  }
}

function pageFor(route) {
  let page = state.pages.get(route);
  if (!page) {
    page = new ChatPage(route);
    state.pages.set(route, page);
    if (page.conversationId) page.hydrate();
  }
  return page;
}

// Routes change inside the page: the page left behind stays mounted, hidden.
function activate(route) {
  const page = route === "/" ? newChatPage() : pageFor(route);
  state.active = page;
  adoptModel(page);
  for (const each of state.pages.values()) each.show(each === page);
  page.composer.focus();
}

// The picker shows the model of the chat on screen; a new chat keeps the current choice.
function adoptModel(page) {
  if (!page.model || state.choice.slug === page.model) return;
  state.choice.slug = page.model;
  for (const each of state.pages.values()) each.composer.picker.refresh();
}

function newChatPage() {
  const blank = state.pages.get("/");
  return blank || pageFor("/");
}

function navigate(route) {
  if (location.pathname !== route) history.pushState({}, "", route);
  activate(route);
}

// ------------------------------------------------------------------ composer
class Composer {
  constructor(page) {
    this.page = page;
    const withId = !PAGE.composer_without_id;
    // The hidden fallback textarea: typing into it (or setting it) sends nothing.
    this.fallback = el("textarea", {
      name: "prompt-textarea",
      id: withId ? null : "prompt-textarea",
      class: "fallback-textarea",
      tabindex: "-1",
      "aria-hidden": "true",
      style: "display: none;",
    });
    this.editor = el("div", {
      id: withId ? "prompt-textarea" : null,
      class: "ProseMirror",
      contenteditable: "true",
      role: "textbox",
      translate: "no",
      "aria-label": labels.ask,
      "aria-multiline": "true",
      "data-composer-markdown": "",
      "data-placeholder": labels.ask,
    });
    this.action = el("span", { class: "composer-action" });
    this.attachments = new Attachments(api, () => this.refresh());
    this.tools = new Tools(labels, () => this.attachments.open());
    this.picker = trigger(state.choice, labels, () => {
      for (const each of state.pages.values()) each.composer.picker.refresh();
    });
    this.node = el(
      "form",
      { class: "composer", "data-chatgpt-composer": "", "data-composer-placement": "thread", "data-type": "unified-composer" },
      this.tools.button,
      this.tools.pill,
      this.attachments.input,
      this.attachments.tray,
      this.fallback,
      this.editor,
      this.picker.button,
      this.action,
    );
    // ProseMirror keeps its own document: one <p> per line, an empty line holding only a
    // trailing <br>. Inserted text (typed, pasted, insert_text) goes through that model, so
    // the DOM never gets the browser's native <div>/<br> mix.
    this.editor.addEventListener("beforeinput", (event) => this.beforeInput(event));
    this.editor.addEventListener("input", () => this.refresh());
    this.editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (this.sendable) this.node.requestSubmit();
      }
    });
    this.node.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.sendable) send(this.page, this.text, this.attachments.take());
    });
    this.refresh();
  }

  // Text or files, none of them still uploading, and no answer running.
  get sendable() {
    return Boolean(this.text || this.attachments.count) && !this.attachments.busy && !state.generating;
  }

  get text() {
    const text = this.value();
    return text.trim() ? text : "";
  }

  set text(value) {
    this.render(value, value.length);
  }

  value() {
    return Array.from(this.editor.children, (p) => p.textContent).join("\n");
  }

  render(value, caret) {
    const lines = value ? value.split("\n") : [];
    this.editor.replaceChildren(...lines.map((line) =>
      line ? el("p", {}, line) : el("p", {}, el("br", { class: "ProseMirror-trailingBreak" }))));
    this.refresh();
    if (document.activeElement !== this.editor || !lines.length) return;
    let rest = caret;
    for (const p of this.editor.children) {
      const length = p.textContent.length;
      if (rest <= length) {
        const text = p.firstChild.nodeType === Node.TEXT_NODE;
        window.getSelection().collapse(text ? p.firstChild : p, text ? rest : 0);
        return;
      }
      rest -= length + 1;
    }
  }

  // The text offset of a DOM position inside the editor (one <p> per line).
  offset(node, at) {
    const lines = Array.from(this.editor.children);
    const upTo = (count) => lines.slice(0, count).reduce((n, p) => n + p.textContent.length + 1, 0);
    if (node === this.editor) return Math.min(upTo(at), this.value().length);
    const line = lines.findIndex((p) => p.contains(node));
    if (line < 0) return this.value().length;
    return upTo(line) + (node.nodeType === Node.TEXT_NODE ? at : at ? lines[line].textContent.length : 0);
  }

  beforeInput(event) {
    const type = event.inputType;
    const range = event.getTargetRanges()[0];
    const value = this.value();
    let start = range ? this.offset(range.startContainer, range.startOffset) : value.length;
    let end = range ? this.offset(range.endContainer, range.endOffset) : value.length;
    let insert;
    if (type === "insertText" || type === "insertFromPaste" || type === "insertReplacementText") {
      insert = (event.data ?? (event.dataTransfer ? event.dataTransfer.getData("text/plain") : "")) || "";
    } else if (type === "insertParagraph" || type === "insertLineBreak") {
      insert = "\n";
    } else if (type.startsWith("delete")) {
      insert = "";
      if (start === end && type.endsWith("Backward")) start = Math.max(0, start - 1);
      else if (start === end) end = Math.min(value.length, end + 1);
    } else {
      return;
    }
    event.preventDefault();
    insert = insert.replace(/\r\n?/g, "\n");
    this.render(value.slice(0, start) + insert + value.slice(end), start + insert.length);
  }

  focus() {
    this.editor.focus();
  }

  // Empty: the Dictate button; text: Send; a turn running here: Stop.
  refresh() {
    let button;
    if (state.generating && state.generating.page === this.page) {
      button = el("button", { type: "button", class: "composer-stop", "aria-label": labels.stop, onclick: stop }, "■");
    } else if (this.text || this.attachments.count) {
      button = el("button", {
        type: "submit",
        id: "composer-submit-button",
        class: "composer-send",
        "aria-label": PAGE.send_without_label ? null : labels.send,
        disabled: this.attachments.busy,
      }, "↑");
    } else {
      button = el("button", { type: "button", class: "composer-dictate", "aria-label": labels.dictate }, "◉");
    }
    this.action.replaceChildren(button);
  }
}

// ------------------------------------------------------------------ a turn
function body(page, messageId, text, files) {
  const chosen = state.choice.request();
  const message = {
    id: messageId,
    author: { role: "user" },
    create_time: Date.now() / 1000,
    content: { content_type: "text", parts: [text] },
    metadata: {},
  };
  if (files.length) {
    const { content, attachments } = attachmentContent(text, files);
    Object.assign(message, { content, metadata: { attachments } });
  }
  const request = {
    action: "next",
    messages: [message],
    parent_message_id: page.currentNode || "client-created-root",
    model: chosen.model,
    timezone_offset_min: new Date().getTimezoneOffset(),
    history_and_training_disabled: state.temporary,
    conversation_mode: conversationMode(page.gizmoId),
    supports_buffering: true,
    supported_encodings: ["v1"],
    turn_attribution: { kind: "composer" },
    client_prepare_state: "success",
  };
  request.system_hints = page.composer.tools.hints();
  if (chosen.thinking_effort) request.thinking_effort = chosen.thinking_effort;
  if (page.conversationId) request.conversation_id = page.conversationId;
  page.model = chosen.model; // the chat's model from now on
  return request;
}

function owner(page, view) {
  return {
    onConversation: (id) => page.moveTo(id),
    onTitle: (title) => {
      document.title = title;
      upsertHistory(page.conversationId, title);
    },
    onMessage: (message, kind) => {
      if (kind === "activity") {
        if (isPicture(message)) drawing(view);
        const recap = message.content.content_type === "reasoning_recap" && message.content.content;
        layout.activity(view, recap || labels.thinking);
        if (layout.noteMessage) layout.noteMessage(view, message.id);
        return;
      }
      const markdown = (message.content.parts || []).join("");
      layout.answer(view, message, markdown, page.conversationId);
      page.currentNode = message.id;
      if (message.status && message.status !== "in_progress") layout.finish(view, () => markdown);
    },
  };
}

async function post(page, request, signal) {
  const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
  if (!state.anonymous) headers["X-Conduit-Token"] = await prepare(request, signal);
  return api(`${backend()}/f/conversation`, { method: "POST", headers, body: JSON.stringify(request), signal });
}

async function prepare(request, signal) {
  const prepared = await postJson("/backend-api/f/conversation/prepare", { action: request.action, conversation_id: request.conversation_id, model: request.model, conversation_mode: request.conversation_mode }, signal);
  return (prepared.ok && (await prepared.json()).conduit_token) || "";
}

async function send(page, text, files) {
  const messageId = crypto.randomUUID();
  const view = page.exchange(messageId, text);
  page.composer.text = "";
  const controller = new AbortController();
  state.generating = { page, controller };
  page.composer.refresh();
  const request = body(page, messageId, text, files);
  let turn = null;
  try {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      turn = new Turn(owner(page, view));
      const response = await post(page, request, controller.signal);
      if (!response.ok) return refused(page, view, text, response);
      await readSse(response, turn);
      if (turn.opened || turn.error) break; // accepted: never send this turn again
    }
    if (turn.handedOff) await followHandoff(page, turn, controller.signal);
    if (!turn.answer || turn.answer.status === "in_progress") await readBack(page, view);
    if (turn.error) showError(view, turn.error);
  } catch (error) {
    if (!controller.signal.aborted) showError(view, "Network connection lost. Please check your connection and retry.");
  } finally {
    state.generating = null;
    page.composer.refresh();
    loadHistory();
  }
}

// The HTTP stream ended with `stream_handoff`: the answer continues on the turn's
// WebSocket topic (catch-up included) or, failing that, on the resume endpoint.
async function followHandoff(page, turn, signal) {
  const options = turn.handoff.options || [];
  const topic = options.find((option) => option.type === "subscribe_ws_topic");
  turn.done = false;
  if (topic) {
    const address = await api("/backend-api/celsius/ws/user");
    if (address.ok) {
      await followTopic((await address.json()).websocket_url, topic.topic_id, turn);
      return;
    }
  }
  const resumed = await postJson("/backend-api/f/conversation/resume", { conversation_id: page.conversationId }, signal);
  if (resumed.ok) await readSse(resumed, turn);
}

const STATUS_POLL_MS = 500;

// No finished answer arrived (resume refused, stream cut): wait until the server says the
// turn is over (`stream_status`), then show what it holds.
async function readBack(page, view) {
  if (!page.conversationId) return;
  const status = `/backend-api/conversation/${page.conversationId}/stream_status`;
  for (;;) {
    const response = await api(status);
    if (!response.ok || (await response.json()).status !== "IS_STREAMING") break;
    await new Promise((resolve) => setTimeout(resolve, STATUS_POLL_MS));
  }
  const response = await api(`/backend-api/conversations/${page.conversationId}?num_turns=1`);
  if (!response.ok) return;
  const data = await response.json();
  await showPictures(view, data.messages, page.conversationId, api);
  const answer = data.messages.filter((m) => m.author.role === "assistant" && m.content.content_type === "text").pop();
  if (!answer) return;
  const markdown = (answer.content.parts || []).join("");
  layout.answer(view, answer, markdown, page.conversationId);
  page.currentNode = answer.id;
  if (answer.status !== "in_progress") layout.finish(view, () => markdown);
}

async function refused(page, view, text, response) {
  const payload = await response.json().catch(() => ({}));
  const detail = payload.detail;
  const message = (detail && (detail.message || detail)) || "Something went wrong.";
  view.root.remove();
  if (view.roots) view.roots.forEach((root) => root.remove());
  page.composer.text = text;
  toast(typeof message === "string" ? message : JSON.stringify(message));
}

function showError(view, message) {
  view.assistantUnit.append(el("div", { class: "thread-error", role: "alert", text: message }));
}

function toast(message) {
  $("#toasts").append(el("div", { class: "toast", role: "status", text: message }));
}

async function stop() {
  const running = state.generating;
  if (!running) return;
  if (running.page.conversationId) await postJson(`${backend()}/stop_conversation`, { conversation_id: running.page.conversationId });
  else running.controller.abort();
}

// ------------------------------------------------------------------ sidebar, boot
function upsertHistory(id, title) {
  if (!id) return;
  const list = $("#history-list");
  let link = $(`a[href="/c/${id}"]`, list);
  if (!link) {
    link = el("a", { href: `/c/${id}`, class: "history-item", "data-history-item-link": "true" });
    list.prepend(el("li", {}, link));
  }
  link.textContent = title || labels.newChat;
}

const loadHistory = () => (state.anonymous ? null : refreshHistory(api, upsertHistory));

// The logged-out top bar; true when the visitor may still chat (anonymous_chat).
function loggedOut() {
  const go = () => (location.href = "/log-in");
  $("#main").prepend(el("div", { class: "topbar" },
    el("button", { type: "button", "data-testid": "login-button", onclick: go }, "Log in"),
    el("button", { type: "button", "data-testid": "signup-button", onclick: go }, "Sign up for free")));
  state.anonymous = Boolean(PAGE.anonymous_chat);
  return state.anonymous;
}

function shell() {
  document.documentElement.lang = PAGE.lang;
  $("#sidebar").prepend(el("a", { href: "/", class: "nav-item new-chat", "data-testid": "create-new-chat-button", "aria-label": labels.newChat, text: labels.newChat }));
  document.addEventListener("click", (event) => {
    const link = event.target.closest("#sidebar a[href^='/']");
    if (!link || event.metaKey || event.ctrlKey) return;
    event.preventDefault();
    navigate(link.getAttribute("href"));
  });
  window.addEventListener("popstate", () => activate(location.pathname));
}

async function boot() {
  shell();
  const response = await fetch("/api/auth/session", { credentials: "include" });
  const session = response.ok ? await response.json() : {};
  if (session && session.accessToken) state.session = session;
  else if (!loggedOut()) return;
  const models = state.anonymous ? null : await api("/backend-api/models");
  const listed = models && models.ok ? (await models.json()).models : [];
  const params = new URLSearchParams(location.search);
  state.choice = new Choice(listed, params.get("model"));
  state.temporary = params.get("temporary-chat") === "true"; // as on the classic page
  if (state.anonymous) state.choice.index = 0; // the replica's choice: a logged-out chat does not think
  activate(location.pathname);
  await Promise.all([loadHistory(), state.anonymous ? null : loadGizmos(api)]);
  document.body.dataset.ready = "true";
}

boot();
