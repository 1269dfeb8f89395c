// The replica's own client script: what chatgpt.com's page does, in one small file.
// It fetches the session, posts the conversation request itself, decodes the delta-v1
// (or legacy) stream and renders Markdown incrementally, so a driver meets the same
// network traffic and DOM it meets on the real site.
import { el, refreshHistory } from "./dom.js";
import { sendRating } from "./feedback.js";
import { readSse } from "./stream.js";

(() => {
  const PAGE = Object.assign(
    { flicker_stop: false, markdown_empty_until_settled: false, use_article: false, anonymous_chat: false },
    window.__REPLICA_PAGE__ || {},
  );
  const $ = (selector, root = document) => root.querySelector(selector);

  // Line icons as SVG paths (24x24 viewBox): no icon font, nothing fetched.
  const ICONS = {
    mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3",
    send: "M12 19V5M5 12l7-7 7 7",
    stop: "M7 7h10v10H7z",
    copy: "M9 9h10v10H9zM5 15V5h10",
    good: "M7 10v10H4V10zM7 10l4-7a2 2 0 0 1 2 2v4h5a2 2 0 0 1 2 2l-2 7a2 2 0 0 1-2 1H7",
    bad: "M17 14V4h3v10zM17 14l-4 7a2 2 0 0 1-2-2v-4H6a2 2 0 0 1-2-2l2-7a2 2 0 0 1 2-1h9",
    share: "M12 3v12M7 8l5-5 5 5M5 14v6h14v-6",
    again: "M4 12a8 8 0 0 1 14-5l2 2M20 4v5h-5M20 12a8 8 0 0 1-14 5l-2-2M4 20v-5h5",
  };

  function icon(name) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "icon");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", name === "stop" ? "currentColor" : "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "2");
    path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
    svg.append(path);
    return svg;
  }

  // ---------------------------------------------------------------- Markdown -> HTML
  // A small renderer for what the replica's model writes: fences with a language,
  // tables, nested lists, quotes, headings, links, bold/italic, inline code.
  const escapeHtml = (text) =>
    text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

  function inline(text) {
    const codes = [];
    let out = text.replace(/`([^`]+)`/g, (_, code) => {
      codes.push(code);
      return `\u0000${codes.length - 1}\u0000`;
    });
    out = escapeHtml(out);
    out = out.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, label, href) => {
      const safe = /^(https?:|mailto:|\/)/.test(href) ? href : "#";
      return `<a href="${safe}" target="_blank" rel="noopener noreferrer">${label}</a>`;
    });
    out = out.replace(/\*\*\*([^*]+)\*\*\*/g, "<strong><em>$1</em></strong>");
    out = out.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
    out = out.replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>");
    return out.replace(/\u0000(\d+)\u0000/g, (_, i) => `<code>${escapeHtml(codes[Number(i)])}</code>`);
  }

  const LIST_ITEM = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;
  const indentOf = (line) => line.match(/^\s*/)[0].length;

  function parseList(lines, start, indent) {
    const ordered = /^\d/.test(lines[start].trim());
    const items = [];
    let i = start;
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) {
        let j = i + 1;
        while (j < lines.length && !lines[j].trim()) j++;
        const next = j < lines.length ? LIST_ITEM.exec(lines[j]) : null;
        if (!next || next[1].length < indent) break;
        i = j;
        continue;
      }
      const match = LIST_ITEM.exec(line);
      if (match && match[1].length === indent) {
        if (/^\d/.test(match[2]) !== ordered) break;
        items.push({ text: match[3], children: [] });
        i++;
      } else if (match && match[1].length > indent && items.length) {
        const [nested, next] = parseList(lines, i, match[1].length);
        items[items.length - 1].children.push(nested);
        i = next;
      } else if (!match && indentOf(line) > indent && items.length) {
        items[items.length - 1].text += " " + line.trim();
        i++;
      } else break;
    }
    const tag = ordered ? "ol" : "ul";
    const body = items.map((item) => `<li>${inline(item.text)}${item.children.join("")}</li>`).join("");
    return [`<${tag}>${body}</${tag}>`, i];
  }

  const splitRow = (line) => line.trim().replace(/^\||\|$/g, "").split("|").map((cell) => cell.trim());
  const isTableRule = (line) => /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line);
  const startsBlock = (line, next) =>
    /^\s*```/.test(line) || /^#{1,6}\s/.test(line) || /^\s*>/.test(line) ||
    LIST_ITEM.test(line) || (line.includes("|") && next !== undefined && isTableRule(next));

  function renderMarkdown(markdown) {
    const lines = markdown.split("\n");
    const out = [];
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      const fence = /^\s*```\s*([\w+#.-]*)\s*$/.exec(line);
      if (fence) {
        const code = [];
        i++;
        while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) code.push(lines[i++]);
        i++;
        const lang = fence[1];
        out.push(
          `<pre><div class="code-header"><span>${escapeHtml(lang || "code")}</span></div>` +
            `<code class="${lang ? `language-${escapeHtml(lang)} ` : ""}hljs">${escapeHtml(code.join("\n"))}</code></pre>`,
        );
        continue;
      }
      const heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading) {
        out.push(`<h${heading[1].length}>${inline(heading[2])}</h${heading[1].length}>`);
        i++;
        continue;
      }
      if (/^\s*(-{3,}|\*{3,})\s*$/.test(line)) {
        out.push("<hr>");
        i++;
        continue;
      }
      if (line.includes("|") && i + 1 < lines.length && isTableRule(lines[i + 1])) {
        const head = splitRow(line);
        const aligns = splitRow(lines[i + 1]).map((cell) =>
          cell.endsWith(":") ? (cell.startsWith(":") ? "center" : "right") : null,
        );
        const cell = (tag, text, col) =>
          `<${tag}${aligns[col] ? ` style="text-align:${aligns[col]}"` : ""}>${inline(text)}</${tag}>`;
        i += 2;
        const rows = [];
        while (i < lines.length && lines[i].includes("|") && lines[i].trim()) {
          rows.push(`<tr>${splitRow(lines[i]).map((text, col) => cell("td", text, col)).join("")}</tr>`);
          i++;
        }
        out.push(
          `<div class="table-wrap"><table><thead><tr>${head.map((text, col) => cell("th", text, col)).join("")}</tr></thead>` +
            `<tbody>${rows.join("")}</tbody></table></div>`,
        );
        continue;
      }
      if (/^\s*>/.test(line)) {
        const quoted = [];
        while (i < lines.length && /^\s*>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s*>\s?/, ""));
        out.push(`<blockquote>${renderMarkdown(quoted.join("\n"))}</blockquote>`);
        continue;
      }
      if (LIST_ITEM.test(line)) {
        const [html, next] = parseList(lines, i, indentOf(line));
        out.push(html);
        i = next;
        continue;
      }
      if (!line.trim()) {
        i++;
        continue;
      }
      const paragraph = [];
      while (i < lines.length && lines[i].trim() && (!paragraph.length || !startsBlock(lines[i], lines[i + 1]))) {
        paragraph.push(lines[i++]);
      }
      out.push(`<p>${paragraph.map(inline).join("<br>")}</p>`);
    }
    return out.join("");
  }

  // ---------------------------------------------------------------- the composer
  // A ProseMirror-like editor: the text is the source of truth and the DOM is redrawn from
  // it as one <p> with <br> line breaks, so `innerText` of #prompt-textarea gives back
  // exactly what was inserted (newlines included).
  const INSERT_TYPES = new Set([
    "insertText", "insertReplacementText", "insertFromPaste", "insertFromDrop", "insertFromYank",
  ]);

  class Composer {
    constructor(root, onChange, onEnter) {
      this.root = root;
      this.text = "";
      this.onChange = onChange;
      this.render();
      root.addEventListener("beforeinput", (event) => this.beforeInput(event));
      root.addEventListener("input", () => this.resync());
      root.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          onEnter();
        }
      });
    }

    static serialize(node) {
      // Text of a DOM subtree: <br> is a newline (except ProseMirror's trailing break), and
      // every block after the first starts a new line (native editing may create <div>s).
      let text = "";
      let blocks = 0;
      const walk = (current) => {
        for (const child of current.childNodes) {
          if (child.nodeType === Node.TEXT_NODE) text += child.data;
          else if (child.nodeName === "BR") {
            if (!child.classList.contains("ProseMirror-trailingBreak")) text += "\n";
          } else if (child.nodeName === "P" || child.nodeName === "DIV") {
            if (blocks++ > 0) text += "\n";
            walk(child);
          } else walk(child);
        }
      };
      walk(node);
      return text;
    }

    offsetOf(container, offset) {
      const range = document.createRange();
      range.setStart(this.root, 0);
      try {
        range.setEnd(container, offset);
      } catch {
        return this.text.length;
      }
      return Composer.serialize(range.cloneContents()).length;
    }

    selection() {
      const selection = window.getSelection();
      if (!selection.rangeCount || !this.root.contains(selection.anchorNode)) {
        return [this.text.length, this.text.length];
      }
      const range = selection.getRangeAt(0);
      const start = this.offsetOf(range.startContainer, range.startOffset);
      const end = this.offsetOf(range.endContainer, range.endOffset);
      return [Math.min(start, end), Math.max(start, end)];
    }

    render() {
      const paragraph = el("p");
      const lines = this.text.split("\n");
      lines.forEach((line, index) => {
        if (index) paragraph.append(el("br"));
        if (line) paragraph.append(document.createTextNode(line));
      });
      if (!this.text || this.text.endsWith("\n")) {
        paragraph.append(el("br", { class: "ProseMirror-trailingBreak" }));
        paragraph.classList.add("open-line");
      }
      if (!this.text) {
        paragraph.classList.add("placeholder");
        paragraph.dataset.placeholder = "Ask anything";
      }
      this.root.replaceChildren(paragraph);
    }

    placeCaret(offset) {
      const paragraph = this.root.firstChild;
      let remaining = offset;
      for (let index = 0; index < paragraph.childNodes.length; index++) {
        const node = paragraph.childNodes[index];
        if (node.nodeType === Node.TEXT_NODE) {
          if (remaining <= node.data.length) return this.collapse(node, remaining);
          remaining -= node.data.length;
        } else if (!node.classList.contains("ProseMirror-trailingBreak")) {
          if (remaining === 0) return this.collapse(paragraph, index);
          remaining -= 1;
        } else return this.collapse(paragraph, index);
      }
      return this.collapse(paragraph, paragraph.childNodes.length);
    }

    collapse(node, offset) {
      if (document.activeElement !== this.root) return;
      const selection = window.getSelection();
      selection.collapse(node, offset);
    }

    replace(start, end, insert) {
      this.text = this.text.slice(0, start) + insert + this.text.slice(end);
      this.render();
      this.placeCaret(start + insert.length);
      this.onChange(this.text);
    }

    setText(text) {
      this.text = text;
      this.render();
      this.placeCaret(text.length);
      this.onChange(this.text);
    }

    beforeInput(event) {
      const type = event.inputType;
      let [start, end] = this.selection();
      let insert;
      if (INSERT_TYPES.has(type)) {
        insert = event.data ?? (event.dataTransfer ? event.dataTransfer.getData("text/plain") : "");
        insert = (insert || "").replace(/\r\n?/g, "\n");
      } else if (type === "insertParagraph" || type === "insertLineBreak") {
        insert = "\n";
      } else if (type.startsWith("delete")) {
        insert = "";
        const ranges = event.getTargetRanges ? event.getTargetRanges() : [];
        if (ranges.length) {
          start = this.offsetOf(ranges[0].startContainer, ranges[0].startOffset);
          end = this.offsetOf(ranges[0].endContainer, ranges[0].endOffset);
        } else if (start === end && type.endsWith("Backward")) {
          start = Math.max(0, start - (/[\uDC00-\uDFFF]/.test(this.text[start - 1] || "") ? 2 : 1));
        } else if (start === end) {
          end = Math.min(this.text.length, end + 1);
        }
      } else if (type.startsWith("history") || type.startsWith("format")) {
        event.preventDefault();
        return;
      } else {
        return; // composition and the like: the input listener re-reads the DOM
      }
      if (!event.cancelable) return;
      event.preventDefault();
      this.replace(start, end, insert);
    }

    resync() {
      const text = Composer.serialize(this.root);
      if (text === this.text) return;
      const [caret] = this.selection();
      this.text = text;
      this.render();
      this.placeCaret(Math.min(caret, text.length));
      this.onChange(this.text);
    }
  }

  // ---------------------------------------------------------------- state
  const params = new URLSearchParams(location.search);
  const state = {
    session: null,
    models: [],
    model: params.get("model") || "auto",
    temporary: params.get("temporary-chat") === "true",
    conversationId: null,
    currentNode: null,
    generating: false,
    anonymous: false, // logged out, chatting through /backend-anon/
    stream: null, // {controller, turn, conversationId}
    composer: null,
    turnCount: 0,
    markdown: new Map(), // message id -> exact Markdown, what the copy button copies
  };
  const routeMatch = /^\/c\/([^/?#]+)/.exec(location.pathname);

  const backend = () => (state.anonymous ? "/backend-anon" : "/backend-api");

  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    if (state.session && state.session.accessToken) {
      headers.Authorization = `Bearer ${state.session.accessToken}`;
    }
    if (state.session && state.session.account) headers["ChatGPT-Account-Id"] = state.session.account.id;
    return fetch(path, Object.assign({}, options, { headers, credentials: "include" }));
  }

  // ---------------------------------------------------------------- submit button
  function setButton(mode) {
    const button = $("#composer-submit-button");
    if (!button) return;
    const modes = {
      speech: ["composer-speech-button", "Start voice mode", "mic"],
      send: ["send-button", "Send prompt", "send"],
      stop: ["stop-button", "Stop streaming", "stop"],
    };
    const [testid, label, glyph] = modes[mode];
    button.dataset.testid = testid;
    button.setAttribute("aria-label", label);
    button.replaceChildren(icon(glyph));
    button.className = `composer-submit mode-${mode}`;
  }

  function idleButtonMode() {
    return state.composer && state.composer.text.trim() ? "send" : "speech";
  }

  function refreshButton() {
    setButton(state.generating ? "stop" : idleButtonMode());
  }

  function flickerButton() {
    // The real stop button drops out between token batches: never a done signal.
    setButton("stop");
    if (PAGE.flicker_stop) setTimeout(() => state.generating && setButton(idleButtonMode()), 1);
  }

  // ---------------------------------------------------------------- turns
  function showWelcome() {
    $("#welcome").hidden = $("#turns").children.length > 0;
  }

  function addTurn(role, messageId, extra = {}) {
    state.turnCount += 1;
    const tag = PAGE.use_article ? "article" : "section";
    const turn = el(tag, {
      class: `turn turn-${role}`,
      "data-testid": `conversation-turn-${state.turnCount}`,
      "data-turn": role,
      "data-turn-id": crypto.randomUUID(),
      "data-scroll-anchor": "false",
      tabindex: "-1",
    });
    turn.append(el(role === "user" ? "h5" : "h6", { class: "sr-only", text: role === "user" ? "You said:" : "ChatGPT said:" }));
    const content = el("div", { class: "turn-content" });
    turn.append(content);
    $("#turns").append(turn);
    showWelcome();
    const view = { turn, content, role, message: null, body: null };
    if (messageId) attachMessage(view, messageId, extra.model);
    return view;
  }

  function retag(turn) {
    const tag = PAGE.use_article ? "ARTICLE" : "SECTION";
    if (turn.tagName === tag) return turn;
    const replacement = document.createElement(tag);
    for (const attribute of turn.attributes) replacement.setAttribute(attribute.name, attribute.value);
    replacement.append(...turn.childNodes);
    turn.replaceWith(replacement);
    return replacement;
  }

  function attachMessage(view, messageId, model) {
    const message = el("div", {
      class: view.role === "user" ? "user-message" : "assistant-message",
      "data-message-author-role": view.role,
      "data-message-id": messageId,
      "data-message-model-slug": view.role === "assistant" ? model || state.model : null,
    });
    const body =
      view.role === "user"
        ? el("div", { class: "whitespace-pre-wrap" })
        : el("div", { class: "markdown prose w-full break-words" });
    message.append(view.role === "user" ? el("div", { class: "bubble" }, body) : body);
    view.content.append(message);
    view.message = message;
    view.body = body;
  }

  function addUserTurn(messageId, text) {
    const view = addTurn("user", messageId);
    view.body.textContent = text;
    scrollDown();
    return view;
  }

  function renderAnswer(view, markdown, settled) {
    state.markdown.set(view.message.dataset.messageId, markdown);
    if (PAGE.markdown_empty_until_settled && !settled) {
      view.body.replaceChildren();
    } else {
      // A citation marker shows as a source pill on chatgpt.com (markup: no evidence): dropped.
      view.body.innerHTML = renderMarkdown(markdown.replace(/\uE200[^\uE201]*\uE201?/g, ""));
    }
    view.body.classList.toggle("result-streaming", !settled);
    scrollDown();
  }

  function addActions(view) {
    const messageId = view.message.dataset.messageId;
    const post = (path, payload) =>
      api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
    const rate = async (pressed, rating) => {
      if (!(await sendRating(post, state.conversationId, messageId, rating))) {
        toast("Could not send your feedback");
        return;
      }
      for (const thumb of pressed.parentNode.querySelectorAll('[data-testid$="-response-turn-action-button"]')) {
        thumb.setAttribute("aria-pressed", String(thumb === pressed));
      }
    };
    const button = (testid, label, glyph, onclick) =>
      el("button", { class: "action", "data-testid": testid, "aria-label": label, title: label, onclick }, icon(glyph));
    const group = el(
      "div",
      { role: "group", "aria-label": "Response actions", class: "actions" },
      button("copy-turn-action-button", "Copy", "copy", async (event) => {
        const markdown = state.markdown.get(messageId) || "";
        try {
          await navigator.clipboard.writeText(markdown);
          event.currentTarget.dataset.copied = "true";
        } catch (error) {
          toast("Failed to copy to clipboard");
        }
      }),
      button("good-response-turn-action-button", "Good response", "good", (event) =>
        rate(event.currentTarget, "thumbsUp")),
      button("bad-response-turn-action-button", "Bad response", "bad", (event) =>
        rate(event.currentTarget, "thumbsDown")),
      button("share-turn-action-button", "Share", "share", () => toast("Sharing is not available offline")),
      button("regenerate-turn-action-button", "Try again", "again", () => regenerate(view)),
    );
    view.content.append(group);
  }

  function scrollDown() {
    const thread = $("#thread");
    thread.scrollTop = thread.scrollHeight;
  }

  // ---------------------------------------------------------------- errors
  function toast(message) {
    const item = el("div", { class: "toast", "data-testid": "toast-error", role: "alert" }, message);
    $("#toasts").append(item);
    setTimeout(() => item.remove(), 8000);
  }

  function threadError(view, message, retry) {
    const box = el(
      "div",
      { class: "thread-error" },
      el("div", { class: "text-token-text-error" }, message),
      el("button", { class: "retry", "data-testid": "regenerate-thread-error-button", onclick: retry }, "Retry"),
    );
    (view ? view.content : $("#turns")).append(box);
    scrollDown();
  }

  function rateLimitDialog(message) {
    const dialog = el(
      "div",
      { role: "dialog", "aria-modal": "true", "aria-labelledby": "rate-limit-title", class: "dialog" },
      el("h2", { id: "rate-limit-title", text: "Too many requests" }),
      el("p", { text: message }),
      el("button", { class: "primary", onclick: () => overlay.remove() }, "Got it"),
    );
    const overlay = el("div", { class: "overlay" }, dialog);
    $("#portal").append(overlay);
  }

  function detailMessage(body, fallback) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (detail && typeof detail.message === "string") return detail.message;
    return fallback;
  }

  // ---------------------------------------------------------------- the stream
  // Delta v1: frames {p, o, v, c}; p, o and c carry over from the previous frame when
  // omitted; `patch` (or a bare list in v) is a batch; p "" + add installs a root object
  // {message, conversation_id, error} for channel c.
  function pointerParts(pointer) {
    return pointer.split("/").slice(1).map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
  }

  function applyOp(roots, channel, pointer, op, value, touched) {
    if (op === "patch") {
      for (const item of value) applyOp(roots, channel, item.p ?? pointer, item.o ?? "append", item.v, touched);
      return;
    }
    if (pointer === "" && (op === "add" || op === "replace")) {
      roots[channel] = value;
      touched.add(channel);
      return;
    }
    const root = roots[channel];
    if (!root) return;
    const parts = pointerParts(pointer);
    const key = parts.pop();
    let target = root;
    for (const part of parts) {
      if (target[part] === undefined || target[part] === null) target[part] = {};
      target = target[part];
    }
    const current = target[key];
    if (op === "append") {
      if (typeof current === "string" || current === undefined || current === null) target[key] = (current || "") + value;
      else if (Array.isArray(current)) target[key] = current.concat(value);
      else target[key] = Object.assign({}, current, value);
    } else if (op === "replace" || op === "add") {
      target[key] = value;
    } else if (op === "remove") {
      if (Array.isArray(target)) target.splice(Number(key), 1);
      else delete target[key];
    } else if (op === "truncate") {
      target[key] = current.slice(0, value);
    }
    touched.add(channel);
  }

  class StreamReader {
    constructor(turnContext) {
      this.ctx = turnContext;
      this.roots = {};
      this.carried = { p: null, o: null, c: 0 };
      this.done = false;
      this.error = null;
      this.answer = null; // latest root of the final text message
      this.handoff = false;
      this.events = 0;
    }

    handle(event) {
      this.events += 1;
      if (event.data === "[DONE]") {
        this.done = !this.handoff; // a handed-off stream's [DONE] ends only this leg
        return;
      }
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (event.name === "delta_encoding") return;
      if (event.name === "delta") return this.delta(frame);
      if (frame && typeof frame === "object" && "type" in frame && !("message" in frame)) return this.typed(frame);
      if (frame && typeof frame === "object" && ("message" in frame || "error" in frame)) {
        // legacy encoding: each event is the whole root
        const key = frame.message ? frame.message.id : "error";
        this.roots[key] = frame;
        this.rootChanged(frame);
      }
    }

    delta(frame) {
      if (!frame || typeof frame !== "object") return;
      const isBatch = Array.isArray(frame.v) && !("o" in frame);
      const channel = "c" in frame ? frame.c : this.carried.c;
      const pointer = "p" in frame ? frame.p : this.carried.p;
      const op = isBatch ? "patch" : "o" in frame ? frame.o : this.carried.o;
      this.carried.c = channel;
      if (!isBatch) {
        this.carried.p = pointer;
        this.carried.o = op;
      }
      const touched = new Set();
      applyOp(this.roots, channel, pointer ?? "", op, frame.v, touched);
      for (const key of touched) this.rootChanged(this.roots[key]);
    }

    typed(frame) {
      if (frame.conversation_id) this.ctx.onConversationId(frame.conversation_id);
      if (frame.type === "title_generation") this.ctx.onTitle(frame.conversation_id, frame.title);
      if (frame.type === "stream_handoff") this.handoff = true;
    }

    rootChanged(root) {
      if (!root) return;
      if (root.conversation_id) this.ctx.onConversationId(root.conversation_id);
      if (root.error) {
        this.error = typeof root.error === "string" ? root.error : root.error.message || "Something went wrong.";
        return;
      }
      const message = root.message;
      if (!message || !message.author || message.author.role !== "assistant") return;
      const type = message.content && message.content.content_type;
      if (type === "thoughts") {
        const thoughts = message.content.thoughts || [];
        this.ctx.onThoughts(thoughts.map((item) => item.content || "").join("\n"));
      } else if (type === "reasoning_recap") {
        this.ctx.onRecap(message.content.content || "");
      } else if (type === "text" && (message.recipient || "all") === "all") {
        this.answer = message;
        this.ctx.onAnswer(message);
      }
    }
  }

  // ---------------------------------------------------------------- sending
  function buildBody(messageId, text, parentId) {
    const body = {
      action: "next",
      messages: [
        {
          id: messageId,
          author: { role: "user" },
          create_time: Date.now() / 1000,
          content: { content_type: "text", parts: [text] },
          metadata: { selected_github_repos: [], serialization_metadata: { custom_symbol_offsets: [] } },
        },
      ],
      parent_message_id: parentId || "client-created-root",
      model: state.model,
      timezone_offset_min: new Date().getTimezoneOffset(),
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      history_and_training_disabled: state.temporary,
      conversation_mode: { kind: "primary_assistant" },
      enable_message_followups: true,
      system_hints: [],
      supports_buffering: true,
      supported_encodings: ["v1"],
      client_contextual_info: { is_dark_mode: false, page_height: innerHeight, page_width: innerWidth },
      paragen_cot_summary_display_override: "allow",
      force_parallel_switch: "auto",
    };
    if (state.conversationId) body.conversation_id = state.conversationId;
    return body;
  }

  function setConversation(id) {
    if (state.conversationId === id) return;
    state.conversationId = id;
    if (state.anonymous) return; // anonymous chats get no URL of their own
    if (location.pathname !== `/c/${id}`) history.pushState({}, "", `/c/${id}`);
  }

  async function send(text) {
    if (state.generating || !text.trim()) return;
    const messageId = crypto.randomUUID();
    const userView = addUserTurn(messageId, text);
    state.composer.setText("");
    await converse(buildBody(messageId, text, state.currentNode), userView, () => {
      removeTurnsFrom(userView.turn);
      send(text);
    });
  }

  function regenerate(view) {
    // "Try again": a new answer to the same user message (action "variant").
    let userTurn = view.turn.previousElementSibling;
    while (userTurn && userTurn.dataset.turn !== "user") userTurn = userTurn.previousElementSibling;
    if (!userTurn || state.generating) return;
    const node = $('[data-message-author-role="user"]', userTurn);
    const userView = { turn: userTurn, content: $(".turn-content", userTurn), body: $(".whitespace-pre-wrap", node), role: "user" };
    const again = () => {
      removeTurnsAfter(userView.turn);
      userView.turn.querySelectorAll(".thread-error").forEach((box) => box.remove());
      const body = buildBody(node.dataset.messageId, userView.body.textContent, node.dataset.messageId);
      body.action = "variant";
      converse(body, userView, again);
    };
    again();
  }

  async function converse(body, userView, retry) {
    state.generating = true;
    refreshButton();
    const controller = new AbortController();
    let assistant = null;
    let thoughtsBox = null;
    const ensureAssistant = () => {
      if (!assistant) assistant = addTurn("assistant", null);
      return assistant;
    };
    const ctx = {
      onConversationId: (id) => {
        setConversation(id);
        state.stream.conversationId = id;
      },
      onTitle: (id, title) => {
        document.title = title;
        if (!state.temporary) upsertHistory(id, title);
      },
      onThoughts: (text) => {
        const view = ensureAssistant();
        if (!thoughtsBox) {
          thoughtsBox = el("details", { class: "thoughts" }, el("summary", { text: "Thinking" }), el("div", { class: "thoughts-body" }));
          view.content.prepend(thoughtsBox);
        }
        thoughtsBox.lastChild.textContent = text;
      },
      onRecap: (text) => {
        if (thoughtsBox) thoughtsBox.firstChild.textContent = text;
      },
      onAnswer: (message) => {
        const view = ensureAssistant();
        if (!view.message) attachMessage(view, message.id, (message.metadata || {}).model_slug || body.model);
        const settled = message.status !== "in_progress";
        renderAnswer(view, (message.content.parts || [""]).join(""), settled);
        state.currentNode = message.id;
        flickerButton();
      },
    };
    state.stream = { controller, conversationId: body.conversation_id || null };
    const reader = new StreamReader(ctx);
    let response;
    try {
      const tokens = state.anonymous ? {} : await prepareSend(body);
      response = await api(`${backend()}/f/conversation`, {
        method: "POST",
        headers: Object.assign(
          { "Content-Type": "application/json", Accept: "text/event-stream" },
          tokens,
        ),
        body: JSON.stringify(body),
        signal: controller.signal,
      });
    } catch (error) {
      finishTurn();
      threadError(userView, "Network connection lost. Attempting to reconnect", retry);
      return;
    }
    const pageKnobs = response.headers.get("x-replica-page");
    if (pageKnobs) {
      // Knobs changed since the page loaded apply from this send on, to the whole turn.
      Object.assign(PAGE, JSON.parse(pageKnobs));
      userView.turn = retag(userView.turn);
    }
    if (!response.ok) {
      const payload = await response.json().catch(() => ({}));
      finishTurn();
      handleHttpError(response.status, payload, userView, retry);
      return;
    }
    state.currentNode = body.messages[0].id;
    await readSse(response, reader);
    while (reader.handoff && !reader.done && state.stream) {
      // The rest of the answer moved: fetch it from the resume endpoint.
      reader.handoff = false;
      try {
        const resumed = await api("/backend-api/f/conversation/resume", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
          body: JSON.stringify({ conversation_id: state.stream.conversationId, offset: reader.events }),
          signal: controller.signal,
        });
        if (resumed.ok) await readSse(resumed, reader);
      } catch (error) {
        break; // judged below like any broken stream
      }
    }
    if (reader.done) controller.abort(); // like the real page, drop the fetch once done
    settleTurn(reader, assistant, userView, retry);
  }

  async function postJson(path, payload) {
    const response = await api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    return response.ok ? response.json() : {};
  }

  async function prepareSend(body) {
    // The real page asks the sentinel and the conversation "prepare" endpoint first.
    const requirements = await postJson("/backend-api/sentinel/chat-requirements/prepare", { p: "gAAAAAC" });
    const sentinel = await postJson("/backend-api/sentinel/chat-requirements/finalize", {
      prepare_token: requirements.prepare_token,
    });
    const prepared = await postJson("/backend-api/f/conversation/prepare", {
      action: body.action,
      conversation_id: body.conversation_id,
      model: body.model,
      fork_from_shared_post: false,
    });
    return {
      "OpenAI-Sentinel-Chat-Requirements-Token": sentinel.token || "",
      "X-Conduit-Token": prepared.conduit_token || "",
    };
  }

  function finishTurn() {
    state.generating = false;
    state.stream = null;
    refreshButton();
  }

  function settleTurn(reader, assistant, userView, retry) {
    finishTurn();
    const answer = reader.answer;
    const partial = answer && assistant && assistant.message;
    if (reader.error) {
      if (partial) renderAnswer(assistant, (answer.content.parts || [""]).join(""), true);
      threadError(assistant || userView, reader.error, retry);
    } else if (answer && answer.status && answer.status.startsWith("finished")) {
      renderAnswer(assistant, (answer.content.parts || [""]).join(""), true);
      addActions(assistant);
    } else {
      if (partial) renderAnswer(assistant, (answer.content.parts || [""]).join(""), true);
      threadError(assistant || userView, "Network connection lost. Please check your connection and retry.", retry);
    }
    if (!state.temporary && !state.anonymous) loadHistory();
  }

  const TOAST_STATUSES = new Set([502, 503, 504]);

  function handleHttpError(status, payload, userView, retry) {
    // Refused sends never reached the model: the turn goes and the prompt returns to the
    // composer (rate limit, toast); other failures stay in the thread with a Retry button.
    const message = detailMessage(payload, "Something went wrong.");
    if (status === 429 || TOAST_STATUSES.has(status)) {
      const text = userView.body.textContent;
      removeTurnsFrom(userView.turn);
      state.composer.setText(text);
      if (status === 429) rateLimitDialog(message);
      else toast(message);
    } else {
      threadError(userView, message, retry);
    }
  }

  function removeTurnsAfter(turn) {
    while (turn.nextSibling) turn.nextSibling.remove();
    recountTurns();
  }

  function removeTurnsFrom(turn) {
    removeTurnsAfter(turn);
    turn.remove();
    recountTurns();
  }

  function recountTurns() {
    state.turnCount = $("#turns").children.length;
    showWelcome();
  }

  async function stop() {
    const stream = state.stream;
    if (!stream) return;
    if (stream.conversationId) {
      await api(`${backend()}/stop_conversation`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ conversation_id: stream.conversationId }),
      });
    } else {
      stream.controller.abort();
    }
  }

  // ---------------------------------------------------------------- sidebar, models
  function upsertHistory(id, title) {
    const list = $("#history-list");
    let link = $(`a[href="/c/${id}"]`, list);
    if (!link) {
      link = el("a", { href: `/c/${id}`, class: "history-item", "data-history-item-link": "true" });
      list.prepend(el("li", {}, link));
    }
    link.textContent = title || "New chat";
    link.title = title || "New chat";
    link.classList.toggle("active", id === state.conversationId);
  }

  const loadHistory = () => refreshHistory(api, upsertHistory);

  function modelTitle(slug) {
    const found = state.models.find((item) => item.slug === slug);
    return found ? found.title : slug;
  }

  function renderModelSwitcher() {
    const holder = $("#model-switcher");
    const button = el(
      "button",
      {
        type: "button",
        class: "__composer-pill model-button",
        "data-testid": "model-switcher-dropdown-button",
        "aria-haspopup": "menu",
        "aria-expanded": "false",
        "aria-label": `Model selector, current model is ${state.model}`,
      },
      el("span", { class: "model-name", text: modelTitle(state.model) }),
      el("span", { class: "chevron", "aria-hidden": "true", text: "\u25BE" }),
    );
    button.addEventListener("click", () => toggleModelMenu(button));
    holder.replaceChildren(button);
  }

  function toggleModelMenu(button) {
    const open = $("#model-menu");
    if (open) {
      open.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const menu = el("div", { id: "model-menu", role: "menu", class: "menu", "aria-label": "Models" });
    for (const item of state.models) {
      menu.append(
        el(
          "div",
          {
            role: "menuitemradio",
            tabindex: "-1",
            class: "menu-item",
            "data-testid": `model-switcher-${item.slug}`,
            "aria-checked": item.slug === state.model ? "true" : "false",
            onclick: () => {
              state.model = item.slug;
              menu.remove();
              renderModelSwitcher();
            },
          },
          el("div", { class: "menu-title", text: item.title }),
          el("div", { class: "menu-description", text: item.description || "" }),
        ),
      );
    }
    button.setAttribute("aria-expanded", "true");
    $("#model-switcher").append(menu);
  }

  // ---------------------------------------------------------------- boot
  function renderLoggedOut() {
    $("#topbar-actions").replaceChildren(
      el("button", { class: "primary", "data-testid": "login-button", onclick: () => (location.href = "/log-in") }, "Log in"),
      el("button", { class: "secondary", "data-testid": "signup-button", onclick: () => (location.href = "/log-in") }, "Sign up for free"),
    );
    $("#welcome").replaceChildren(
      el("h1", { text: "ChatGPT" }),
      el("p", { text: "Log in to get answers based on saved chats, plus create images and upload files." }),
    );
    $("#history").hidden = true;
    stayLoggedOutDialog();
  }

  function stayLoggedOutDialog() {
    // chatgpt.com greets logged-out visitors with this modal over the page.
    const close = () => overlay.remove();
    const dialog = el(
      "div",
      { role: "dialog", "aria-modal": "true", "aria-labelledby": "welcome-title", class: "dialog" },
      el("h2", { id: "welcome-title", text: "Thanks for trying ChatGPT" }),
      el("p", { text: "Log in or sign up to get smarter responses, upload files and images, and more." }),
      el(
        "div",
        { class: "dialog-buttons" },
        el("button", { class: "primary", onclick: () => (location.href = "/log-in") }, "Log in"),
        el("button", { class: "secondary", onclick: () => (location.href = "/log-in") }, "Sign up for free"),
      ),
      el("a", { href: "#", class: "stay-logged-out", onclick: (event) => (event.preventDefault(), close()) }, "Stay logged out"),
    );
    const overlay = el("div", { class: "overlay" }, dialog);
    $("#portal").append(overlay);
  }

  function renderComposer() {
    $("#composer-slot").replaceChildren($("#composer-template").content.cloneNode(true));
    state.composer = new Composer($("#prompt-textarea"), refreshButton, () => send(state.composer.text));
    $("#composer-submit-button").addEventListener("click", () => {
      if (state.generating) stop();
      else if (state.composer.text.trim()) send(state.composer.text);
    });
    refreshButton();
  }

  function renderProfile(user) {
    const button = el(
      "button",
      { type: "button", class: "profile", "data-testid": "accounts-profile-button", "aria-label": "Open profile menu", "aria-haspopup": "menu" },
      el("span", { class: "avatar", text: (user.name || "U").slice(0, 1).toUpperCase() }),
      el("span", { class: "profile-name", text: user.name || user.email }),
    );
    button.addEventListener("click", () => {
      const open = $("#profile-menu");
      if (open) return open.remove();
      $("#profile-area").prepend(
        el(
          "div",
          { id: "profile-menu", role: "menu", class: "menu profile-menu" },
          el("div", { class: "menu-description", text: user.email || "" }),
          el("div", { role: "menuitem", class: "menu-item", "data-testid": "log-out-menu-item", onclick: logOut }, "Log out"),
        ),
      );
    });
    $("#profile-area").replaceChildren(button);
  }

  async function logOut() {
    await fetch("/api/auth/signout", { method: "POST", credentials: "include" });
    location.href = "/";
  }

  async function hydrate(id) {
    const response = await api(`/backend-api/conversation/${id}`);
    if (!response.ok) {
      threadError(null, "Unable to load conversation " + id, () => location.reload());
      return;
    }
    const data = await response.json();
    const chain = [];
    for (let node = data.current_node; node && data.mapping[node]; node = data.mapping[node].parent) {
      if (data.mapping[node].message) chain.unshift(data.mapping[node].message);
    }
    state.conversationId = data.conversation_id || id;
    document.title = data.title || "ChatGPT";
    state.currentNode = data.current_node;
    state.temporary = state.temporary || Boolean(data.is_temporary);
    if (!params.get("model") && data.default_model_slug) state.model = data.default_model_slug;
    let assistant = null;
    for (const message of chain) {
      const type = message.content.content_type;
      if (message.author.role === "user") {
        addUserTurn(message.id, message.content.parts.join(""));
        assistant = null;
      } else if (message.author.role === "assistant" && type === "text") {
        assistant = assistant || addTurn("assistant", null);
        attachMessage(assistant, message.id, message.metadata.model_slug);
        renderAnswer(assistant, message.content.parts.join(""), true);
        if (message.status !== "in_progress") addActions(assistant);
      }
    }
  }

  async function boot() {
    const response = await fetch("/api/auth/session", { credentials: "include" });
    const session = response.ok ? await response.json() : {};
    if (!session || !session.accessToken) {
      renderLoggedOut();
      if (PAGE.anonymous_chat) {
        // Logged-out visitors may chat too (on /backend-anon/), like on chatgpt.com.
        state.anonymous = true;
        renderComposer();
        document.body.dataset.ready = "true";
      }
      return;
    }
    state.session = session;
    renderProfile(session.user || {});
    const models = await api("/backend-api/models");
    if (models.ok) state.models = (await models.json()).models;
    renderModelSwitcher();
    $("#temporary-banner").hidden = !state.temporary;
    // The route names the chat at once: a send before the thread has loaded still goes there.
    if (routeMatch) state.conversationId = decodeURIComponent(routeMatch[1]);
    renderComposer();
    const pending = [loadHistory()];
    if (routeMatch) pending.push(hydrate(state.conversationId));
    await Promise.all(pending);
    $("#temporary-banner").hidden = !state.temporary;
    renderModelSwitcher();
    document.body.dataset.ready = "true";
  }

  window.addEventListener("popstate", () => location.reload());
  document.addEventListener("click", (event) => {
    const menu = $("#model-menu");
    if (menu && !event.target.closest("#model-switcher")) menu.remove();
  });
  boot();
})();
