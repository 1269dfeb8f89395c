// chatgpt-bridge stream tap: an init script that runs before the web app's own code.
//
// It tees, never alters, the page's own conversation traffic into Python through the tab's
// CDP binding (one-way, one JSON string per message):
// - every attempt of `POST .../backend-{api,anon}/[f/]conversation` (the front end may
//   retry: an aborted attempt, then another) and of `.../conversation/resume`: the request
//   body, then a clone() of the response, chunk by chunk. Each attempt has its own `id`;
// - the page's WebSockets to its own site (`ws.chatgpt.com` for chatgpt.com): every
//   incoming text message, where long turns continue after a `stream_handoff`;
// - what the page copies to the clipboard (the "Copy" action), the DOM fallback's Markdown;
// - every `POST .../backend-api/conversation/message_feedback` (the thumbs under an answer),
//   as an attempt like the others: `Bridge.rate` confirms its press by it.
// The page's own Response and WebSocket objects are the ones it would have had without the
// tap, so the web app behaves exactly as without it.
//
// Messages: {kind, id, seq, t, ...}; `seq` orders one id's messages, `t` is the page's wall
// clock in ms. Kinds:
//   request    {url, endpoint: "conversation" | "resume" | "feedback", body}  an attempt
//   response   {status, contentType, retryAfter}                 its response arrived
//   challenge  {status: 403, url}  Cloudflare's `cf-mitigated: challenge`, even logged in:
//              a human must look at the browser, not a logout (sent instead of `response`)
//   chunk      {text}              response text, as it arrives
//   end | abort {message} | fetch_error {message}                the attempt is over
//   ws_open    {url}  /  ws {text}  /  ws_close {code}          one WebSocket, id "ws-…"
//   clipboard  {text}              id "clipboard"
(() => {
  const BINDING = "__chatgptBridgeTap";
  const MARK = Symbol.for("chatgpt-bridge.tap");
  if (window[MARK]) return;
  window[MARK] = true;

  const ENDPOINT = /\/backend-(?:api|anon)\/(?:f\/)?conversation(\/resume)?\/?$/;
  const FEEDBACK = /\/backend-api\/conversation\/message_feedback\/?$/;
  const prefix = Math.random().toString(36).slice(2, 10);
  let counter = 0;
  const now = () => performance.timeOrigin + performance.now();

  const emit = (message) => {
    try {
      const send = window[BINDING];
      if (typeof send === "function") send(JSON.stringify(message));
    } catch (error) {
      // The tap must never break the page.
    }
  };

  // One source of messages (a fetch attempt, a socket): its own id and sequence.
  const stream = (label) => {
    const id = `${label}${prefix}-${++counter}`;
    let seq = 0;
    return (kind, fields) => emit({ kind, id, seq: seq++, t: now(), ...fields });
  };

  const target = (input, init) => {
    let url;
    let method;
    try {
      url = new URL(input instanceof Request ? input.url : String(input), location.href);
      method = ((init && init.method) || (input instanceof Request ? input.method : "GET"))
        .toUpperCase();
    } catch (error) {
      return null;
    }
    if (method !== "POST") return null;
    const match = ENDPOINT.exec(url.pathname);
    if (match) return { url, endpoint: match[1] ? "resume" : "conversation" };
    return FEEDBACK.test(url.pathname) ? { url, endpoint: "feedback" } : null;
  };

  const requestBody = async (input, init) => {
    if (init && typeof init.body === "string") return init.body;
    if (input instanceof Request && !(init && init.body)) {
      try {
        return await input.clone().text();
      } catch (error) {
        return null;
      }
    }
    return null;
  };

  const pump = async (send, response) => {
    const headers = response.headers;
    if (response.status === 403 && headers.get("cf-mitigated") === "challenge") {
      send("challenge", { status: 403, url: response.url });
    } else {
      send("response", {
        status: response.status,
        contentType: headers.get("content-type") || "",
        retryAfter: headers.get("retry-after"),
      });
    }
    if (!response.body) {
      send("end");
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        if (text) send("chunk", { text });
      }
      const rest = decoder.decode();
      if (rest) send("chunk", { text: rest });
      send("end");
    } catch (error) {
      send("abort", { message: String(error) });
    }
  };

  const original = window.fetch;
  if (typeof original === "function") {
    const tapped = function fetch(input, init) {
      const found = target(input, init);
      if (!found) return original.apply(this, arguments);
      const send = stream("");
      const started = now();
      const promise = original.apply(this, arguments);
      const announced = requestBody(input, init).then((body) => {
        send("request", { t: started, url: found.url.href, endpoint: found.endpoint, body });
      });
      // Registered before the page gets the promise, so the clone is taken before the page
      // can read the body; reported after the request, whatever resolves first.
      promise.then(
        (response) => {
          let copy;
          try {
            copy = response.clone();
          } catch (error) {
            announced.then(() => send("fetch_error", { message: String(error) }));
            return;
          }
          announced.then(() => pump(send, copy));
        },
        (error) => announced.then(() => send("fetch_error", { message: String(error) })),
      );
      return promise;
    };
    tapped.__wrapped__ = original;
    window.fetch = tapped;
  }

  // The page's own site only (chatgpt.com -> ws.chatgpt.com): other sockets are not ours.
  const ownSite = (url) => {
    try {
      const host = new URL(url, location.href).hostname;
      return host === location.hostname || host.endsWith(`.${location.hostname}`);
    } catch (error) {
      return false;
    }
  };

  const textOf = async (data) => {
    if (typeof data === "string") return data;
    if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
    if (data instanceof Blob) return await data.text();
    return null;
  };

  const NativeWebSocket = window.WebSocket;
  if (typeof NativeWebSocket === "function") {
    // A subclass, so `instanceof`, the constants and every method stay the page's own.
    class WebSocket extends NativeWebSocket {
      constructor(url, protocols) {
        super(url, protocols);
        if (!ownSite(this.url)) return;
        const send = stream("ws-");
        send("ws_open", { url: this.url });
        // Blobs are read asynchronously: each message takes its sequence number on arrival.
        let queue = Promise.resolve();
        this.addEventListener("message", (event) => {
          queue = queue.then(async () => {
            try {
              const text = await textOf(event.data);
              if (text !== null) send("ws", { text });
            } catch (error) {
              // Reporting is best effort.
            }
          });
        });
        this.addEventListener("close", (event) => {
          queue = queue.then(() => send("ws_close", { code: event.code }));
        });
      }
    }
    window.WebSocket = WebSocket;
  }

  const clipboard = navigator.clipboard;
  const copied = (text) => emit({ kind: "clipboard", id: "clipboard", seq: 0, t: now(), text });
  if (clipboard && typeof clipboard.writeText === "function") {
    const writeText = clipboard.writeText.bind(clipboard);
    clipboard.writeText = (text) => {
      copied(String(text));
      return writeText(text);
    };
  }
  if (clipboard && typeof clipboard.write === "function") {
    const write = clipboard.write.bind(clipboard);
    clipboard.write = async (items) => {
      for (const item of items || []) {
        if (item.types && item.types.includes("text/plain")) {
          try {
            copied(await (await item.getType("text/plain")).text());
          } catch (error) {
            // Reporting is best effort; the copy itself goes on.
          }
        }
      }
      return write(items);
    };
  }
})();
