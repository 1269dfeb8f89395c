// chatgpt-bridge stream tap: an init script that runs before the web app's own code.
//
// It wraps window.fetch. For the conversation endpoints (POST .../conversation, the /f/
// variant, the anonymous variant and .../conversation/resume) it reports the request body
// and then reads a clone() of the response, pushing every chunk of text to Python through
// the tab's CDP binding (one-way, a JSON string per message). The page's own response object is returned untouched, so the web
// app behaves exactly as without the tap. It also reports what the page copies to the
// clipboard (the "Copy" action of a finished turn), the DOM fallback's source of Markdown.
//
// Messages: {kind, id, seq, t, ...} with kind request | response | chunk | end | abort |
// fetch_error | clipboard. `t` is the page's wall clock in ms (for the benchmark).
(() => {
  const BINDING = "__chatgptBridgeTap";
  const MARK = Symbol.for("chatgpt-bridge.tap");
  if (window[MARK]) return;
  window[MARK] = true;

  const ENDPOINT = /\/backend-(?:api|anon)\/(?:f\/)?conversation(?:\/resume)?\/?$/;
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
    if (method !== "POST" || !ENDPOINT.test(url.pathname)) return null;
    return url;
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

  const pump = async (id, response, next) => {
    emit({
      kind: "response",
      id,
      seq: next(),
      t: now(),
      status: response.status,
      contentType: response.headers.get("content-type") || "",
      retryAfter: response.headers.get("retry-after"),
    });
    if (!response.body) {
      emit({ kind: "end", id, seq: next(), t: now() });
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        if (text) emit({ kind: "chunk", id, seq: next(), t: now(), text });
      }
      const rest = decoder.decode();
      if (rest) emit({ kind: "chunk", id, seq: next(), t: now(), text: rest });
      emit({ kind: "end", id, seq: next(), t: now() });
    } catch (error) {
      emit({ kind: "abort", id, seq: next(), t: now(), message: String(error) });
    }
  };

  const original = window.fetch;
  if (typeof original === "function") {
    const tapped = function fetch(input, init) {
      const url = target(input, init);
      if (!url) return original.apply(this, arguments);
      const id = `${prefix}-${++counter}`;
      let seq = 0;
      const next = () => seq++;
      const started = now();
      const promise = original.apply(this, arguments);
      requestBody(input, init).then((body) => {
        emit({ kind: "request", id, seq: next(), t: started, url: url.href, body });
        promise.then(
          (response) => {
            let copy;
            try {
              copy = response.clone();
            } catch (error) {
              emit({ kind: "fetch_error", id, seq: next(), t: now(), message: String(error) });
              return;
            }
            pump(id, copy, next);
          },
          (error) => emit({ kind: "fetch_error", id, seq: next(), t: now(), message: String(error) }),
        );
      });
      return promise;
    };
    tapped.__wrapped__ = original;
    window.fetch = tapped;
  }

  const clipboard = navigator.clipboard;
  if (clipboard && typeof clipboard.writeText === "function") {
    const writeText = clipboard.writeText.bind(clipboard);
    clipboard.writeText = (text) => {
      emit({ kind: "clipboard", id: "clipboard", seq: 0, t: now(), text: String(text) });
      return writeText(text);
    };
  }
  if (clipboard && typeof clipboard.write === "function") {
    const write = clipboard.write.bind(clipboard);
    clipboard.write = async (items) => {
      for (const item of items || []) {
        if (item.types && item.types.includes("text/plain")) {
          try {
            const text = await (await item.getType("text/plain")).text();
            emit({ kind: "clipboard", id: "clipboard", seq: 0, t: now(), text });
          } catch (error) {
            // Reporting is best effort; the copy itself goes on.
          }
        }
      }
      return write(items);
    };
  }
})();
