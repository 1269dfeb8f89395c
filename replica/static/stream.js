// The conversation stream as today's page reads it: SSE blocks, delta-v1 frames with
// per-frame carry-over, and a turn that may continue on a WebSocket topic or the resume
// endpoint after `stream_handoff`. No DOM here: `Turn` reports what changed to its owner.

export function parseSse(buffer) {
  const events = [];
  let rest = buffer.replace(/\r\n/g, "\n");
  let cut;
  while ((cut = rest.indexOf("\n\n")) >= 0) {
    const block = rest.slice(0, cut);
    rest = rest.slice(cut + 2);
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) events.push({ name, data: data.join("\n") });
  }
  return [events, rest];
}

const unescape = (part) => part.replace(/~1/g, "/").replace(/~0/g, "~");

// Applies one operation to the root object of `channel`; returns the channel it touched.
function apply(roots, channel, path, op, value) {
  if (path === "" && (op === "add" || op === "replace")) {
    roots[channel] = value;
    return channel;
  }
  const root = roots[channel];
  if (!root) return null;
  const parts = path.split("/").slice(1).map(unescape);
  const key = parts.pop();
  let target = root;
  for (const part of parts) {
    if (target[part] === undefined || target[part] === null) target[part] = {};
    target = target[part];
  }
  const current = target[key];
  if (op === "append") {
    if (Array.isArray(current)) target[key] = current.concat(value);
    else if (current && typeof current === "object") target[key] = Object.assign({}, current, value);
    else target[key] = (current || "") + value;
  } else if (op === "replace" || op === "add") {
    target[key] = value;
  } else if (op === "remove") {
    delete target[key];
  } else if (op === "truncate") {
    target[key] = current.slice(0, value);
  }
  return channel;
}

// Delta v1: a frame's `c`, `p` and `o` default to the previous frame's. A patch frame
// (`o: "patch"`, or a bare list in `v`) leaves `p`/`o` of the patch itself behind, never
// those of its last sub-operation.
export class DeltaDecoder {
  constructor() {
    this.roots = {};
    this.carried = { c: 0, p: "", o: "add" };
  }

  frame(frame) {
    const bareList = Array.isArray(frame.v) && !("o" in frame) && !("p" in frame);
    const c = "c" in frame ? frame.c : this.carried.c;
    const p = "p" in frame ? frame.p : bareList ? "" : this.carried.p;
    const o = "o" in frame ? frame.o : bareList ? "patch" : this.carried.o;
    this.carried = { c, p, o };
    const touched = new Set();
    if (o === "patch") {
      for (const item of frame.v) touched.add(apply(this.roots, c, item.p ?? "", item.o ?? "append", item.v));
    } else {
      touched.add(apply(this.roots, c, p, o, frame.v));
    }
    touched.delete(null);
    return [...touched].map((channel) => this.roots[channel]);
  }
}

// What a message is to the page: the final-channel answer, or activity (hidden context,
// thoughts, reasoning recap, tool calls) that renders as an activity header only.
export function kindOf(message) {
  if (!message || !message.author) return null;
  const role = message.author.role;
  if (role === "user" || role === "system") return null;
  const type = message.content && message.content.content_type;
  const hidden = Boolean((message.metadata || {}).is_visually_hidden_from_conversation);
  // A message without a channel is an answer only if it is visible text to everyone.
  const channel = "channel" in message ? message.channel : "final";
  const toAll = (message.recipient || "all") === "all";
  if (role === "assistant" && type === "text" && channel === "final" && toAll && !hidden) return "answer";
  return type === "model_editable_context" ? null : "activity";
}

// One turn's stream: feed it SSE events from any transport; it calls
// `owner.onConversation(id)`, `owner.onTitle(title)`, `owner.onMessage(message, kind)`.
export class Turn {
  constructor(owner) {
    this.owner = owner;
    this.decoder = new DeltaDecoder();
    this.done = false;
    this.error = null;
    this.handoff = null;
    this.answer = null;
    this.opened = false; // the server installed a message: the POST was accepted
  }

  handle(event) {
    if (event.data === "[DONE]") {
      this.done = true;
      return;
    }
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (event.name === "delta_encoding" || data === null || typeof data !== "object") return;
    if (event.name === "delta") {
      for (const root of this.decoder.frame(data)) this.root(root);
    } else if (data.type) {
      this.typed(data);
    }
  }

  typed(data) {
    if (data.conversation_id) this.owner.onConversation(data.conversation_id);
    if (data.type === "title_generation") this.owner.onTitle(data.title);
    if (data.type === "stream_handoff") this.handoff = data;
  }

  root(root) {
    if (!root) return;
    if (root.conversation_id) this.owner.onConversation(root.conversation_id);
    if (root.error) {
      this.error = typeof root.error === "string" ? root.error : root.error.message || "Something went wrong.";
      return;
    }
    const message = root.message;
    if (!message) return;
    this.opened = true;
    const kind = kindOf(message);
    if (kind === "answer") this.answer = message;
    if (kind) this.owner.onMessage(message, kind);
  }

  // The HTTP stream ended with a handoff and no answer yet: continue where it says.
  get handedOff() {
    return Boolean(this.handoff) && !(this.answer && this.answer.status !== "in_progress");
  }
}

// Reads SSE into `turn` (anything with `handle(event)` and `done`) until done or the end.
export async function readSse(response, turn) {
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  let buffer = "";
  try {
    while (!turn.done) {
      const { value, done } = await reader.read();
      if (done) break;
      const [events, rest] = parseSse(buffer + decoder.decode(value, { stream: true }));
      buffer = rest;
      for (const event of events) turn.handle(event);
    }
  } catch {
    // aborted or dropped: the caller judges the turn by what arrived
  }
}

// The topic's items over the replica's WebSocket: a catch-up first, then live batches
// that now and then replay an item already seen, so items are de-duplicated by id.
export function followTopic(url, topicId, turn) {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    const seen = new Set();
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.close();
      resolve();
    };
    socket.onopen = () => socket.send(JSON.stringify({ type: "subscribe", id: 1, topic_id: topicId, offset: "0" }));
    socket.onmessage = (message) => {
      for (const item of JSON.parse(message.data)) {
        const inner = item.payload && item.payload.payload;
        if (!inner || !inner.encoded_item || seen.has(inner.stream_item_id)) continue;
        seen.add(inner.stream_item_id);
        for (const event of parseSse(inner.encoded_item)[0]) turn.handle(event);
        if (turn.done) return finish();
      }
    };
    socket.onerror = finish;
    socket.onclose = finish;
  });
}
