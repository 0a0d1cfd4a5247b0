// The sidebar: the ontology's display groups, each value with its disjunctive
// count (what selecting it would give with every other filter kept), a box to
// include it and a NOT button to exclude it. Zero counts stay visible, muted.

import { el, formatCount, replace } from "./dom.js";

const SEARCHABLE = 6; // facets with more values than this get a search box
// The review facet's switch: count only what people confirmed (or corrected).
const REVIEW_FACET = "review";
const REVIEWED = ["confirmed", "corrected"];

function rowKey(key, value) {
  return `${key}\u0000${value}`;
}

export class Sidebar {
  constructor(root, groups, { onToggle, onSet }) {
    this.root = root;
    this.onToggle = onToggle; // (key, value, "include" | "exclude")
    this.onSet = onSet; // (key, values): a facet's whole selection ([] clears it)
    this.rows = new Map();
    this.switch = null;
    this.render(groups);
  }

  render(groups) {
    if (!groups.length) {
      replace(this.root, el("p", { class: "muted" }, "The ontology defines no facets."));
      return;
    }
    replace(this.root, ...groups.map((group) => this.group(group)));
  }

  group(group) {
    return el("details", { class: "group", open: true },
      el("summary", {}, group.name),
      ...group.items.map((item) => (item.title ? this.facet(item) : this.valueRow(item, item.values[0], true))));
  }

  facet(item) {
    const list = el("ul", { class: "values" }, ...item.values.map((value) => this.valueRow(item, value, false)));
    const search = item.values.length > SEARCHABLE
      ? el("input", {
        type: "search",
        class: "value-search",
        placeholder: `Search ${item.values.length} values`,
        "aria-label": `Search the values of ${item.title}`,
        oninput: (event) => {
          const needle = event.target.value.trim().toLowerCase();
          for (const li of list.children) {
            li.hidden = Boolean(needle) && !li.dataset.search.includes(needle);
          }
        },
      })
      : null;
    return el("section", { class: "facet", dataset: { facet: item.key } },
      el("h3", {}, item.title), item.key === REVIEW_FACET ? this.reviewSwitch() : null, search, list);
  }

  reviewSwitch() {
    this.switch = el("input", {
      type: "checkbox",
      id: "review-switch",
      onchange: (event) => this.onSet(REVIEW_FACET, event.target.checked ? [...REVIEWED] : []),
    });
    return el("p", { class: "switch" }, this.switch,
      el("label", { for: "review-switch" }, "Confirmed and corrected only"));
  }

  valueRow(item, value, isLabel) {
    const id = `f-${this.rows.size}`;
    const box = el("input", {
      type: "checkbox",
      id,
      onchange: () => this.onToggle(item.key, value.value, "include"),
    });
    const count = el("span", { class: "count" }, "-");
    const not = el("button", {
      type: "button",
      class: "not",
      "aria-pressed": "false",
      title: `Exclude ${value.text} (NOT)`,
      "aria-label": `NOT ${value.text}`,
      onclick: () => this.onToggle(item.key, value.value, "exclude"),
    }, "NOT");
    const swatch = isLabel && item.color ? el("span", { class: "swatch", style: { background: item.color } }) : null;
    const row = el("li", {
      class: isLabel ? "value label-row" : "value",
      dataset: { key: item.key, value: value.value, search: `${value.text} ${value.value}`.toLowerCase() },
    }, box, el("label", { for: id, title: value.value }, swatch, value.text), count, not);
    this.rows.set(rowKey(item.key, value.value), { row, box, count, not });
    return isLabel ? el("ul", { class: "values" }, row) : row;
  }

  // Ticks and NOTs from the filters; counts from the search answer's facets (null while
  // loading or when the search failed: every count then reads `none`, never an old number).
  update(filters, facets, none = "-") {
    if (this.switch) {
      const selected = filters[REVIEW_FACET] || [];
      this.switch.checked = selected.length === REVIEWED.length && REVIEWED.every((v) => selected.includes(v));
    }
    for (const [key, { row, box, count, not }] of this.rows) {
      const [facetKey, value] = key.split("\u0000");
      const selected = filters[facetKey] || [];
      const included = selected.includes(value);
      const excluded = selected.includes(`!${value}`);
      box.checked = included;
      row.classList.toggle("included", included);
      row.classList.toggle("excluded", excluded);
      not.setAttribute("aria-pressed", String(excluded));
      if (facets) {
        const n = facets[facetKey]?.[value];
        count.textContent = n === undefined ? "-" : formatCount(n);
        row.classList.toggle("zero", n === 0);
      } else {
        count.textContent = none;
        row.classList.remove("zero");
      }
      row.classList.toggle("stale", !facets);
    }
  }
}
