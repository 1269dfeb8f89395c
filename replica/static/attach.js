// The composer's attachments: a file input, one chip per file with its upload's progress,
// and the upload protocol of today's web app (docs/replica.md, "Uploads"): name the file
// (POST /backend-api/files), put its bytes to the signed blob URL, confirm it (/uploaded),
// and for a document read /backend-api/files/process_upload_stream's NDJSON events.
import { el } from "./dom.js";

const CHUNK_PROGRESS = 90; // the blob upload fills the bar up to here; processing the rest

export class Attachments {
  constructor(api, onChange) {
    this.api = api;
    this.onChange = onChange;
    this.entries = [];
    this.input = el("input", { type: "file", multiple: true, tabindex: "-1", class: "composer-file-input", style: "display: none;" });
    this.input.addEventListener("change", () => {
      for (const file of this.input.files) this.add(file);
      this.input.value = "";
    });
    this.tray = el("div", { class: "attachment-tray", "data-testid": "composer-attachments" });
  }

  open() {
    this.input.click();
  }

  get count() {
    return this.entries.length;
  }

  // Send waits while a file is still uploading.
  get busy() {
    return this.entries.some((entry) => entry.state === "uploading");
  }

  // The files a send carries (only those uploaded); the tray empties.
  take() {
    const ready = this.entries.filter((entry) => entry.state === "uploaded");
    this.entries = [];
    this.tray.replaceChildren();
    this.onChange();
    return ready;
  }

  add(file) {
    const entry = { file, state: "uploading", id: null, width: null, height: null };
    const progress = el("progress", { max: "100", value: "0" });
    const remove = el("button", { type: "button", class: "attachment-remove", "aria-label": `Remove ${file.name}`, text: "×" });
    entry.chip = el("div", {
      class: "attachment-chip",
      "data-testid": "attachment-chip",
      "data-state": "uploading",
      "data-file-name": file.name,
      role: "group",
      "aria-label": file.name,
    }, el("span", { class: "attachment-name", text: file.name }), progress, remove);
    entry.progress = progress;
    remove.addEventListener("click", () => {
      this.entries = this.entries.filter((each) => each !== entry);
      entry.chip.remove();
      this.onChange();
    });
    this.entries.push(entry);
    this.tray.append(entry.chip);
    this.onChange();
    this.upload(entry).catch((error) => this.settle(entry, "failed", String(error.message || error)));
  }

  settle(entry, state, message) {
    entry.state = state;
    entry.chip.dataset.state = state;
    if (state === "uploaded") entry.progress.value = 100;
    if (message) entry.chip.append(el("span", { class: "attachment-error", role: "alert", text: message }));
    this.onChange();
  }

  async upload(entry) {
    const { file } = entry;
    const image = file.type.startsWith("image/");
    if (image) Object.assign(entry, await dimensions(file));
    const named = await this.post("/backend-api/files", {
      file_name: file.name,
      file_size: file.size,
      mime_type: file.type,
      use_case: "multimodal",
      ...(image ? { width: entry.width, height: entry.height } : {}),
    });
    if (!named.ok) return this.settle(entry, "rejected", await detail(named, "This file cannot be uploaded."));
    const created = await named.json();
    entry.id = created.file_id;
    const put = await putBlob(created.upload_url, file, (loaded) => {
      entry.progress.value = Math.round((loaded / Math.max(file.size, 1)) * CHUNK_PROGRESS);
    });
    if (put < 200 || put >= 300) return this.settle(entry, "failed", "Upload failed. Please try again.");
    const confirmed = await this.post(`/backend-api/files/${entry.id}/uploaded`, {});
    if (!confirmed.ok) return this.settle(entry, "failed", await detail(confirmed, "Upload failed."));
    if (!image && !(await this.process(entry))) return this.settle(entry, "failed", "The file could not be processed.");
    this.settle(entry, "uploaded");
  }

  // A document is read by the upload service: its NDJSON events move the bar to the end.
  async process(entry) {
    const response = await this.post("/backend-api/files/process_upload_stream", {
      file_id: entry.id,
      file_name: entry.file.name,
      use_case: "multimodal",
      index_for_retrieval: true,
      entry_surface: "composer",
    });
    if (!response.ok) return false;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    let completed = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop();
      for (const line of lines.filter((each) => each.trim())) {
        const event = JSON.parse(line);
        if (event.progress) entry.progress.value = Math.max(entry.progress.value, event.progress);
        if (event.event === "file.processing.completed") completed = true;
        if (event.event === "file.processing.failed") return false;
      }
    }
    return completed;
  }

  post(path, payload) {
    return this.api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
  }
}

// The user message of a send with files: images as parts, every file in its metadata.
export function attachmentContent(text, entries) {
  const images = entries.filter((entry) => entry.file.type.startsWith("image/"));
  const content = images.length
    ? { content_type: "multimodal_text", parts: [...images.map(imagePart), text] }
    : { content_type: "text", parts: [text] };
  return { content, attachments: entries.map(metadataEntry) };
}

function imagePart(entry) {
  return { content_type: "image_asset_pointer", asset_pointer: `file-service://${entry.id}`, size_bytes: entry.file.size, width: entry.width, height: entry.height };
}

function metadataEntry(entry) {
  const { file } = entry;
  const common = { id: entry.id, name: file.name, size: file.size };
  if (file.type.startsWith("image/")) return { ...common, mimeType: file.type, width: entry.width, height: entry.height };
  return { ...common, mime_type: file.type };
}

async function dimensions(file) {
  try {
    const bitmap = await createImageBitmap(file);
    return { width: bitmap.width, height: bitmap.height };
  } catch {
    return { width: null, height: null };
  }
}

async function detail(response, fallback) {
  const payload = await response.json().catch(() => ({}));
  const found = payload.detail;
  return (found && (found.message || (typeof found === "string" && found))) || fallback;
}

// XMLHttpRequest, not fetch: only it reports an upload's progress.
function putBlob(url, file, onProgress) {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("PUT", url);
    request.setRequestHeader("x-ms-blob-type", "BlockBlob");
    request.setRequestHeader("x-ms-version", "2020-04-08");
    request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    request.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    request.addEventListener("load", () => resolve(request.status));
    request.addEventListener("error", () => resolve(0));
    request.send(file);
  });
}
