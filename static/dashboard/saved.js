// The "Saved searches" menu: save the screen (query, filters, schema and the rest of the
// address) under a name, open a saved one (its dashboard_url restores the whole screen),
// and rename, share, watch (alerts on new data, see the Alerts page) or delete one's own.
// Others' shared searches are listed read-only.

import { ApiError, apiDelete, apiGet, apiPost, apiPut } from "./api.js";
import { el, replace } from "./dom.js";
import { stateSearch } from "./state.js";

// Address parameters that are a saved search's own fields, not its view.
const SEARCH_PARAMS = ["schema", "q", "f", "tz"];

export class SavedSearches {
  constructor({ menu, form, name, shared, error, list }, context) {
    Object.assign(this, { menu, form, name, shared, error, list, context });
    this.url = context.urls.saved_searches;
    this.current = () => null;
    menu.addEventListener("toggle", () => { if (menu.open) this.load(); });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  // The search to save: a function of the dashboard's state, set by main.js.
  follow(current) {
    this.current = current;
  }

  async load() {
    try {
      this.show(await apiGet(this.url));
    } catch (error) {
      this.fail(error);
    }
  }

  async save() {
    const { state, request } = this.current();
    const view = new URLSearchParams(stateSearch(state));
    for (const key of SEARCH_PARAMS) view.delete(key);
    const body = { ...request, name: this.name.value.trim(), shared: this.shared.checked, view: view.toString() };
    try {
      await apiPost(this.url, body);
      this.name.value = "";
      this.shared.checked = false;
      this.error.hidden = true;
      await this.load();
    } catch (error) {
      this.fail(error);
    }
  }

  async change(saved, patch) {
    try {
      await apiPut(`${this.url}${saved.id}/`, patch);
      await this.load();
    } catch (error) {
      this.fail(error);
    }
  }

  // Watching alerts on new data that matches (in the app; webhooks and email through the API).
  async watch(saved) {
    const url = `${this.url}${saved.id}/watch/`;
    try {
      await (saved.watched ? apiDelete(url) : apiPost(url, { active: true }));
      await this.load();
    } catch (error) {
      this.fail(error);
    }
  }

  async remove(saved) {
    try {
      await apiDelete(`${this.url}${saved.id}/`);
      await this.load();
    } catch (error) {
      this.fail(error);
    }
  }

  fail(error) {
    const where = error instanceof ApiError && error.body.path ? ` (${error.body.path})` : "";
    this.error.textContent = `${error.message}${where}`;
    this.error.hidden = false;
  }

  show(searches) {
    if (!searches.length) {
      replace(this.list, el("li", { class: "muted" }, "Nothing saved yet."));
      return;
    }
    replace(this.list, ...searches.map((saved) => this.item(saved)));
  }

  item(saved) {
    const who = (saved.mine ? (saved.shared ? "shared" : "private") : `shared by ${saved.owner}`)
      + (saved.watched ? ", watched" : "");
    const row = el("li", { dataset: { saved: String(saved.id) } },
      el("a", { href: saved.dashboard_url, class: "saved-open" }, saved.name),
      el("span", { class: "muted" }, ` ${saved.schema.name} v${saved.schema.version}, ${who}`));
    if (saved.mine) {
      row.append(
        el("button", { type: "button", class: "link", onclick: () => this.rename(row, saved) }, "Rename"),
        el("button", { type: "button", class: "link", onclick: () => this.change(saved, { shared: !saved.shared }) },
          saved.shared ? "Stop sharing" : "Share"),
        el("button", { type: "button", class: "link", onclick: () => this.watch(saved) },
          saved.watched ? "Stop watching" : "Watch"),
        el("button", { type: "button", class: "link", onclick: () => this.remove(saved) }, "Delete"));
    }
    return row;
  }

  rename(row, saved) {
    const input = el("input", { type: "text", maxlength: "200", value: saved.name, "aria-label": "New name" });
    const form = el("form", { class: "saved-rename" }, input, el("button", { type: "submit" }, "Rename"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.change(saved, { name: input.value.trim() });
    });
    replace(row, form);
    input.focus();
  }
}
