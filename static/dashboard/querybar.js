// The query bar: text input with completion of ontology names and values,
// the server's parse errors shown at their position, and the sidebar filters
// as removable text chips (the sync rule is in querytext.js).

import { clear, el, replace } from "./dom.js";
import { completions, errorSpan, filterChips } from "./querytext.js";

const CURSOR_KEYS = new Set(["ArrowLeft", "ArrowRight", "Home", "End"]);

export class QueryBar {
  constructor({ form, input, suggest, error, chips, toText, clearAll }, context, handlers) {
    Object.assign(this, { form, input, suggest, error, chipsList: chips, toText, clearAll });
    this.context = context;
    this.handlers = handlers; // onSubmit(text), onRemoveChip(chip), onChipsToText(), onClear()
    this.items = [];
    this.active = -1;
    this.prefix = "";
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.dismissed = true;
      this.close();
      handlers.onSubmit(input.value);
    });
    // Escape and sending the query dismiss the list until the text changes (or Ctrl+Space).
    this.dismissed = false;
    input.addEventListener("input", () => {
      this.dismissed = false;
      this.complete();
    });
    input.addEventListener("keydown", (event) => this.key(event));
    // The list follows the cursor: moved into `vehicle(...)`, it offers that label's attributes.
    input.addEventListener("keyup", (event) => {
      if (CURSOR_KEYS.has(event.key) && !this.dismissed) this.complete();
    });
    input.addEventListener("click", () => { if (!this.dismissed) this.complete(); });
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    toText.addEventListener("click", () => handlers.onChipsToText());
    clearAll.addEventListener("click", () => handlers.onClear());
  }

  setText(text) {
    this.input.value = text;
  }

  // --- completion ---

  complete() {
    const before = this.input.value.slice(0, this.input.selectionStart ?? this.input.value.length);
    const { prefix, items } = completions(before, this.context.vocabulary);
    this.prefix = prefix;
    this.items = items;
    this.active = -1;
    if (!items.length || document.activeElement !== this.input) {
      this.close();
      return;
    }
    replace(this.suggest, ...items.map((item, index) => el("li", {
      role: "option",
      id: `suggest-${index}`,
      "aria-selected": "false",
      onmousedown: (event) => {
        event.preventDefault();
        this.accept(index);
      },
    }, el("span", { class: "text" }, item.text), el("span", { class: "kind" }, item.kind))));
    this.suggest.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    this.suggest.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
  }

  highlight(index) {
    this.active = index;
    [...this.suggest.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) {
      this.input.setAttribute("aria-activedescendant", `suggest-${index}`);
      this.suggest.children[index].scrollIntoView({ block: "nearest" });
    }
  }

  accept(index) {
    const item = this.items[index];
    if (!item) return;
    const cursor = this.input.selectionStart ?? this.input.value.length;
    const start = cursor - this.prefix.length;
    const text = this.input.value;
    this.input.value = text.slice(0, start) + item.insert + text.slice(cursor);
    const position = start + item.insert.length;
    this.input.setSelectionRange(position, position);
    this.input.focus();
    this.complete();
  }

  key(event) {
    const open = !this.suggest.hidden && this.items.length;
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      this.highlight((this.active + 1) % this.items.length);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      this.highlight((this.active - 1 + this.items.length) % this.items.length);
    } else if ((event.key === "Enter" || event.key === "Tab") && open && this.active >= 0) {
      event.preventDefault();
      this.accept(this.active);
    } else if (event.key === "Tab" && open && this.items.length === 1) {
      event.preventDefault();
      this.accept(0);
    } else if (event.key === " " && event.ctrlKey) {
      event.preventDefault();
      this.dismissed = false;
      this.complete();
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      this.dismissed = true;
      this.close();
    } else if (event.key === "Enter") {
      // The query is sent: the list must not stay over the totals and the sidebar.
      this.dismissed = true;
      this.close();
    }
  }

  // --- errors ---

  // body: the API's 400 answer {detail, position?, line?, column?, suggestions?, path?}
  showError(body, text) {
    this.input.setAttribute("aria-invalid", "true");
    const parts = [el("p", { class: "message" }, body.detail || "The query was refused.")];
    if (Number.isInteger(body.position)) {
      const [start, end] = errorSpan(text, body.position);
      parts.push(el("pre", { class: "mirror", "aria-label": `Error at line ${body.line}, column ${body.column}` },
        text.slice(0, start),
        el("mark", { class: end > start ? "bad" : "bad caret" }, end > start ? text.slice(start, end) : " "),
        text.slice(end)));
      if (body.suggestions?.length) {
        parts.push(el("p", { class: "did-you-mean" }, "Did you mean ",
          ...body.suggestions.map((suggestion) => el("button", {
            type: "button",
            class: "link",
            onclick: () => {
              this.input.value = text.slice(0, start) + suggestion + text.slice(end);
              this.handlers.onSubmit(this.input.value);
            },
          }, suggestion)), "?"));
      }
      this.input.focus();
      this.input.setSelectionRange(start, end);
    } else if (body.path) {
      parts.push(el("p", { class: "muted" }, `in ${body.path}`));
    }
    replace(this.error, ...parts);
    this.error.hidden = false;
    this.error.dataset.position = Number.isInteger(body.position) ? String(body.position) : "";
  }

  clearError() {
    this.input.removeAttribute("aria-invalid");
    this.error.hidden = true;
    this.error.dataset.position = "";
    clear(this.error);
  }

  // --- chips ---

  showChips(filters) {
    const chips = filterChips(filters, this.context.facets);
    if (!chips.length) {
      replace(this.chipsList, el("li", { class: "muted" }, "none (tick values in the sidebar)"));
    } else {
      replace(this.chipsList, ...chips.map((chip) => el("li", { class: chip.negated ? "chip negated" : "chip" },
        el("code", {}, chip.text),
        el("button", {
          type: "button",
          class: "remove",
          "aria-label": `Remove ${chip.text}`,
          title: "Remove this filter",
          onclick: () => this.handlers.onRemoveChip(chip),
        }, "\u00d7"))));
    }
    this.toText.hidden = !chips.length;
  }
}
