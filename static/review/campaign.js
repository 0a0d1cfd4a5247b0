// A review campaign's page (admins): its statistics (GET .../stats/) as tables, and its
// disputed items (embedded in the page) with buttons to decide each one
// (PUT /api/v1/review/items/{id}/decision/) and a link that plays its clip on the
// dashboard (with every label drawn); a decision reloads the statistics.

import { apiGet, apiPut } from "../dashboard/api.js";
import { el, formatClock, formatCount, notice, replace } from "../dashboard/dom.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const STATES = ["unreviewed", "confirmed", "rejected", "corrected", "disputed"];
const statsBox = document.getElementById("stats");
const disputedBox = document.getElementById("disputed");

function labelName(label) {
  return data.names[label] || label;
}

function percent(value) {
  return value === null || value === undefined ? "-" : `${(100 * value).toFixed(1)}%`;
}

function tile(what, value, key) {
  return el("div", { class: "tile", dataset: { count: key, value: String(value ?? "") } },
    el("span", { class: "num" }, value === null || value === undefined ? "-" : String(value)),
    el("span", { class: "what" }, what));
}

function table(id, head, rows, empty) {
  if (!rows.length) return el("p", { class: "muted", id }, empty);
  return el("table", { class: "data", id },
    el("thead", {}, el("tr", {}, ...head.map((text) => el("th", {}, text)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((cell) => el("td", {}, cell))))));
}

function perState(entries) {
  return entries.map(([name, counts]) => [name, ...STATES.map((state) => formatCount(counts[state]))]);
}

function agreementText(agreement) {
  if (agreement.percent === null) return "Nothing to compare yet: no item has two counted votes.";
  const kappa = agreement.fleiss_kappa === null
    ? "Fleiss' kappa: - (every vote gave the same answer)"
    : `Fleiss' kappa: ${agreement.fleiss_kappa.toFixed(3)}`;
  return `${agreement.percent.toFixed(1)}% pairwise agreement over ${agreement.items} items. ${kappa}.`;
}

function render(stats) {
  const attributes = Object.entries(stats.attributes).flatMap(([name, values]) =>
    Object.entries(values).map(([value, counts]) => [`${name} = ${value}`, counts]));
  replace(statsBox,
    el("div", { class: "totals", id: "stats-states" }, tile("items", stats.items, "items"),
      ...STATES.map((state) => tile(state, stats.states[state], state))),
    el("h3", {}, "Votes"),
    el("div", { class: "totals", id: "stats-votes" }, tile("votes", stats.votes.total, "total"),
      tile("on gold items", stats.votes.gold, "gold"), tile("counted", stats.votes.counted, "counted"),
      tile("flagged batches", stats.votes.flagged_batches, "flagged_batches"),
      ...Object.entries(stats.votes.answers).map(([answer, n]) => tile(answer, n, `answer-${answer}`))),
    el("p", { id: "stats-agreement", dataset: { percent: String(stats.agreement.percent ?? ""),
      kappa: String(stats.agreement.fleiss_kappa ?? "") } }, agreementText(stats.agreement)),
    el("h3", {}, "Reviewers"),
    table("stats-reviewers", ["Reviewer", "Votes", "Gold votes", "Gold accuracy", "Standing", "Flagged batches"],
      stats.reviewers.map((r) => [r.reviewer, formatCount(r.votes), formatCount(r.gold_votes),
        percent(r.gold_accuracy), r.good_standing ? "good" : "out of standing", formatCount(r.flagged_batches)]),
      "Nobody has voted yet."),
    el("h3", {}, "Items per label"),
    table("stats-labels", ["Label", ...STATES], perState(Object.entries(stats.labels)
      .map(([label, counts]) => [labelName(label), counts])), "No items."),
    el("h3", {}, "Items per attribute value"),
    table("stats-attributes", ["Attribute", ...STATES], perState(attributes), "No attribute values."),
    el("h3", {}, "Items whose track is gone"),
    table("stats-missing", ["Item", "Video", "Unit", "Key", "State", "Why"],
      stats.missing.map((m) => [String(m.item), m.video_name, m.unit, m.key, m.state, m.reason]),
      "None: the index still holds every item."));
  document.body.dataset.stats = "ready";
}

async function loadStats() {
  try {
    render(await apiGet(data.urls.stats));
  } catch (error) {
    replace(statsBox, notice("error", "The statistics could not be loaded.", error.message));
    document.body.dataset.stats = "error";
  }
}

function correctionText(correction) {
  const label = correction.label ? [labelName(correction.label)] : [];
  return [...label, ...Object.entries(correction.attrs || {}).map(([n, v]) => `${n}=${v}`)].join(", ");
}

async function decide(item, row, body) {
  const status = row.querySelector(".decision");
  try {
    await apiPut(`${data.urls.items}${item.id}/decision/`, body);
  } catch (error) {
    status.textContent = `Not decided: ${error.message}`;
    status.className = "decision error";
    return;
  }
  status.textContent = `Decided: ${body.state}`;
  status.className = "decision";
  row.dataset.decided = body.state;
  for (const button of row.querySelectorAll("button")) button.disabled = true;
  loadStats();
}

function disputedRow(item) {
  const row = el("tr", { dataset: { item: String(item.id) } });
  const buttons = [
    el("button", { type: "button", onclick: () => decide(item, row, { state: "confirmed" }) }, "Confirm"),
    el("button", { type: "button", onclick: () => decide(item, row, { state: "rejected" }) }, "Reject"),
    ...item.corrections.map((correction) => el("button", {
      type: "button", onclick: () => decide(item, row, { state: "corrected", correction }),
    }, `Correct: ${correctionText(correction)}`)),
  ];
  const answers = Object.entries(item.answers).map(([answer, n]) => `${answer} ${n}`).join(", ");
  replace(row,
    el("td", {}, item.video_name),
    el("td", {}, item.track === null ? labelName(item.label) : `${labelName(item.label)} ${item.track}`),
    el("td", {}, `${formatClock(item.start_s)} to ${formatClock(item.end_s)} `,
      el("a", { href: `/?schema=${encodeURIComponent(data.campaign.schema)}&clip=${item.video}:${item.start_s}:${item.end_s}`,
        target: "_blank", rel: "noopener" }, "Play on the dashboard")),
    el("td", {}, answers),
    el("td", {}, ...buttons, el("span", { class: "decision", role: "status" })));
  return row;
}

function renderDisputed() {
  if (!data.disputed.length) {
    replace(disputedBox, el("p", { class: "muted", id: "no-disputes" }, "No disputed items."));
    return;
  }
  replace(disputedBox, el("table", { class: "data", id: "disputed-items" },
    el("thead", {}, el("tr", {}, ...["Video", "Item", "Span", "Votes", "Decide"].map((t) => el("th", {}, t)))),
    el("tbody", {}, ...data.disputed.map(disputedRow))));
}

renderDisputed();
loadStats();
