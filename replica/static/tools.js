// The composer's "+" menu (docs/replica.md, "Modes"): "Add photos & files" opens the file
// input, "Web search" turns search on for the next send, shown as a removable "Search" pill;
// the send then carries `system_hints: ["search"]`. A plan without search (the
// `web_search_unavailable` knob) has no "Web search" item, as the page offers only what the
// account may use.
import { el } from "./dom.js";

export class Tools {
  constructor(labels, onFiles) {
    this.labels = labels;
    this.search = false;
    this.pill = el("span", { class: "composer-pills" });
    this.button = el("button", {
      type: "button",
      class: "composer-plus",
      "aria-label": labels.addFiles,
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "data-composer-navigation-target": "add-context",
      text: "+",
      onclick: (event) => {
        event.preventDefault();
        if (this.menu) this.close();
        else this.open(onFiles);
      },
    });
  }

  // The fields of the conversation POST this menu sets; a search is for one send.
  hints() {
    const hints = this.search ? ["search"] : [];
    this.set(false);
    return hints;
  }

  set(on) {
    this.search = on;
    const remove = el("button", { type: "button", class: "composer-pill", "data-composer-pill": "search", "aria-label": this.labels.searchPill, text: `${this.labels.search} ×`, onclick: () => this.set(false) });
    this.pill.replaceChildren(...(on ? [remove] : []));
  }

  open(onFiles) {
    const item = (text, checked, action) => el("div", {
      role: checked === null ? "menuitem" : "menuitemradio",
      "aria-checked": checked === null ? null : String(checked),
      tabindex: "-1",
      class: "menu-item",
      text,
      onclick: () => { this.close(); action(); },
    });
    const items = [item(this.labels.addPhotos, null, onFiles)];
    if (!window.__REPLICA_PAGE__.web_search_unavailable) {
      items.push(item(this.labels.webSearch, this.search, () => this.set(!this.search)));
    }
    this.menu = el("div", { role: "menu", class: "menu composer-tools", "data-radix-menu-content": "", "data-state": "open" }, ...items);
    this.button.setAttribute("aria-expanded", "true");
    document.querySelector("#portal").append(this.menu);
    const rect = this.button.getBoundingClientRect();
    this.menu.style.left = `${Math.max(rect.left, 8)}px`;
    this.menu.style.bottom = `${innerHeight - rect.top + 6}px`;
    this.escape = (event) => { if (event.key === "Escape") this.close(); };
    document.addEventListener("keydown", this.escape);
  }

  close() {
    if (this.menu) this.menu.remove();
    document.removeEventListener("keydown", this.escape);
    this.menu = null;
    this.button.setAttribute("aria-expanded", "false");
  }
}
