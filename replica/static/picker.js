// Today's model picker: a trigger in the composer opening a Radix-like menu with the
// "Power" effort slider, a status line and "Select model", which opens the account's model
// list (read from GET /backend-api/models). `choice` is what the next POST sends.
import { DEFAULT_EFFORT, EFFORTS } from "./labels.js";
import { el } from "./dom.js";

export class Choice {
  constructor(models, preselected) {
    this.models = models; // [{slug, title, default_thinking_effort?}]
    this.index = DEFAULT_EFFORT;
    this.slug = preselected || null; // a model picked from the list (or ?model=) wins
  }

  // The fields of the conversation POST this choice sets.
  request() {
    if (this.slug) {
      const model = this.models.find((item) => item.slug === this.slug) || {};
      return { model: this.slug, thinking_effort: model.default_thinking_effort || null };
    }
    const step = EFFORTS[this.index];
    return { model: step.model, thinking_effort: step.effort };
  }

  label() {
    if (!this.slug) return EFFORTS[this.index].name;
    const model = this.models.find((item) => item.slug === this.slug);
    return model ? model.title : this.slug;
  }
}

export function trigger(choice, labels, onChange) {
  const button = el("button", {
    type: "button",
    id: `radix-${Math.random().toString(36).slice(2, 8)}`,
    class: "model-trigger",
    "aria-label": labels.picker,
    "aria-haspopup": "menu",
    "aria-expanded": "false",
    "data-state": "closed",
    "data-codex-intelligence-trigger": "true",
    "data-composer-navigation-target": "reasoning",
  });
  const refresh = () => {
    button.dataset.selectedReasoningEffort = choice.slug ? "custom" : EFFORTS[choice.index].key;
    button.replaceChildren(el("span", { class: "model-trigger-label", text: choice.label() }));
  };
  const changed = () => {
    refresh();
    onChange();
  };
  button.addEventListener("click", (event) => {
    event.preventDefault();
    const open = document.querySelector("[data-model-picker-menu]");
    if (open) return close(button);
    openMenu(button, choice, labels, changed);
  });
  refresh();
  return { button, refresh };
}

function close(button) {
  const open = document.querySelector("[data-model-picker-menu]");
  if (open) open.remove();
  button.setAttribute("aria-expanded", "false");
  button.dataset.state = "closed";
}

function openMenu(button, choice, labels, changed) {
  const menu = el("div", {
    role: "menu",
    class: "menu picker-menu",
    "data-model-picker-menu": "true",
    "data-radix-menu-content": "",
    "data-state": "open",
    "aria-labelledby": button.id,
  });
  simpleView(menu, button, choice, labels, changed);
  button.setAttribute("aria-expanded", "true");
  button.dataset.state = "open";
  document.getElementById("portal").append(menu);
  const rect = button.getBoundingClientRect();
  menu.style.right = `${Math.max(innerWidth - rect.right, 8)}px`;
  menu.style.bottom = `${innerHeight - rect.top + 6}px`;
}

function simpleView(menu, button, choice, labels, changed) {
  menu.dataset.modelPickerView = "simple";
  const status = el("div", { id: "effort-status", class: "effort-status" });
  const slider = el("span", {
    role: "slider",
    tabindex: "0",
    class: "effort-thumb",
    "aria-valuemin": "0",
    "aria-valuemax": String(EFFORTS.length - 1),
    "aria-orientation": "horizontal",
    "aria-describedby": "effort-status",
  });
  const show = () => {
    const step = EFFORTS[choice.index];
    slider.setAttribute("aria-valuenow", String(choice.index));
    slider.setAttribute("aria-valuetext", step.name);
    slider.style.left = `${(choice.index / (EFFORTS.length - 1)) * 100}%`;
    status.textContent = `${step.name}, ${choice.index + 1} of ${EFFORTS.length}.`;
  };
  const move = (index) => {
    choice.index = Math.max(0, Math.min(EFFORTS.length - 1, index));
    choice.slug = null; // the slider speaks for the model again
    show();
    changed();
  };
  const steps = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 };
  slider.addEventListener("keydown", (event) => {
    if (event.key in steps) move(choice.index + steps[event.key]);
    else if (event.key === "Home") move(0);
    else if (event.key === "End") move(EFFORTS.length - 1);
    else if (event.key === "Escape" || event.key === "Enter") close(button);
    else return;
    event.preventDefault();
  });
  const track = el("div", { class: "effort-track" }, slider);
  track.addEventListener("click", (event) => {
    const rect = track.getBoundingClientRect();
    move(Math.round(((event.clientX - rect.left) / rect.width) * (EFFORTS.length - 1)));
  });
  const power = el(
    "div",
    { role: "menuitem", tabindex: "-1", class: "menu-item power", "aria-label": labels.power, "data-reasoning-slider": "true" },
    track,
  );
  const toggle = el("div", {
    role: "menuitem",
    tabindex: "-1",
    class: "menu-item",
    "data-model-picker-view-toggle": "true",
    text: labels.selectModel,
    onclick: () => listView(menu, button, choice, changed),
  });
  menu.replaceChildren(power, status, toggle);
  show();
}

function listView(menu, button, choice, changed) {
  menu.dataset.modelPickerView = "list";
  const items = choice.models.map((model) =>
    el("div", {
      role: "menuitemradio",
      tabindex: "-1",
      class: "menu-item",
      "aria-checked": model.slug === choice.request().model ? "true" : "false",
      "data-model-selected": model.slug === choice.slug ? "true" : null,
      text: model.title,
      onclick: () => {
        choice.slug = model.slug;
        changed();
        close(button);
      },
    }),
  );
  menu.replaceChildren(...items);
}

// A click outside the picker closes it, as a Radix menu does.
document.addEventListener("click", (event) => {
  const menu = document.querySelector("[data-model-picker-menu]");
  // The path as dispatched: a menu item that re-rendered the menu is detached by now.
  const path = event.composedPath();
  if (!menu || path.includes(menu) || path.some((node) => node.dataset && "codexIntelligenceTrigger" in node.dataset)) return;
  for (const button of document.querySelectorAll("[data-codex-intelligence-trigger]")) close(button);
});
