// The jobs board: GET /api/v1/jobs/ polled like a job console, fast while something is
// queued or running, slowly otherwise; Current and Archived tabs, a column:keyword search,
// and each job's actions (retry, cancel, delete, archive, expiry) through the same API.

import { apiDelete, apiGet, apiPost, apiPut, isAbort, Latest } from "../dashboard/api.js";
import { el, formatCount, formatDuration, plural, replace } from "../dashboard/dom.js";

const ACTIVE_MS = 2000;
const IDLE_MS = 15000;
const COLUMNS = 10;
const body = document.querySelector("#jobs tbody");
const updated = document.getElementById("jobs-updated");
const pause = document.getElementById("jobs-pause");
const older = document.getElementById("jobs-next");
const newer = document.getElementById("jobs-prev");
const report = document.getElementById("jobs-report");
const search = document.getElementById("jobs-search");
const tabs = [...document.querySelectorAll('[role="tab"][data-tab]')];
const shown = { tab: "current", q: "", page: 1 };
let timer = null;
let paused = false;
// One poll at a time: a tab, a search or a page asked while another poll waits replaces it, so
// an older answer never lands after a newer one.
const polls = new Latest();

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "-";
}

function took(job) {
  if (!job.started_at) return "-";
  const end = job.finished_at ? new Date(job.finished_at) : new Date();
  const text = formatDuration((end - new Date(job.started_at)) / 1000);
  return job.finished_at ? text : `${text} so far`;
}

function counts(job) {
  const entries = Object.entries(job.output.counts || {});
  return entries.length ? entries.map(([key, n]) => plural(n, key)).join(", ") : "-";
}

function violations(job) {
  const count = job.output.violation_count;
  if (!count) return el("span", { class: "muted" }, count === undefined ? "-" : "none");
  return el("span", {}, formatCount(count));
}

function what(job) {
  if (job.kind === "analysis") {
    const device = job.device ? ` on ${job.device}` : "";
    const speed = job.output.frames_per_second ? `, ${job.output.frames_per_second} frames/s` : "";
    return `analysis: ${job.pipeline}${device}${speed}`;
  }
  return job.kind;
}

const LABELS = { retry: "Retry", cancel: "Cancel", delete: "Delete", archive: "Archive", unarchive: "Unarchive",
  ttl: "Set TTL" };

async function act(job, action) {
  const where = job.url;
  let answer = null;
  if (action === "retry") answer = await apiPost(`${where}retry/`, {});
  else if (action === "cancel") answer = await apiPost(`${where}cancel/`, {});
  else if (action === "archive") answer = await apiPost(`${where}archive/`, {});
  else if (action === "unarchive") answer = await apiDelete(`${where}archive/`);
  else if (action === "delete") {
    if (!window.confirm(`Delete this ${job.kind} job of ${job.video_name || "the index"} and its outputs?`)) return null;
    await apiDelete(where);
  } else if (action === "ttl") {
    const days = window.prompt("Delete this job and its outputs in how many days?", "30");
    if (days === null) return null;
    answer = await apiPut(`${where}expiry/`, { ttl_days: Number(days) });
  }
  return answer;
}

function said(job, action, answer) {
  const name = job.video_name || job.kind;
  if (action === "retry") return `Retried ${name}: new ${answer.kind} job ${answer.id} is ${answer.status}.`;
  if (action === "cancel") {
    return answer.status === "cancelled" ? `Cancelled the ${job.kind} job of ${name}.`
      : `Asked the ${job.kind} job of ${name} to stop: it stops at its next checkpoint.`;
  }
  if (action === "delete") return `Deleted the ${job.kind} job of ${name} and its outputs.`;
  if (action === "ttl") return `The ${job.kind} job of ${name} expires ${when(answer.expires_at)}.`;
  return `${action === "archive" ? "Archived" : "Unarchived"} the ${job.kind} job of ${name}.`;
}

function actions(job) {
  return job.actions.map((action) => el("button", {
    type: "button", class: "small", dataset: { action }, "aria-label": `${LABELS[action]} ${job.kind} ${job.video_name}`,
    onclick: async () => {
      try {
        const answer = await act(job, action);
        if (answer === null && action !== "delete") return;
        report.className = "small ok";
        report.textContent = said(job, action, answer);
      } catch (error) {
        report.className = "small error";
        report.textContent = `Could not ${LABELS[action].toLowerCase()}: ${error.message}`;
      }
      poll();
    },
  }, LABELS[action]));
}

// A bar only while a job can still move; a failed or cancelled job indexed nothing
// (the index stays as it was), so a part-filled bar would claim work that was dropped.
function progress(job) {
  if (job.status === "failed") return el("span", { class: "small error" }, "stopped: nothing indexed");
  if (job.status === "cancelled") return el("span", { class: "small muted" }, "cancelled: nothing indexed");
  const percent = job.status === "succeeded" ? 100 : Math.round((job.progress || 0) * 100);
  return [el("div", { class: "bar", role: "progressbar", "aria-label": `Progress of ${job.video_name || job.kind}`,
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent) },
  el("span", { style: { width: `${percent}%` } })),
  el("span", { class: "small muted" }, `${percent}%`)];
}

function row(job) {
  const rows = [el("tr", { dataset: { status: job.status, kind: job.kind, id: job.id } },
    el("td", {}, job.video_name || "-"),
    el("td", {}, el("span", { class: `status ${job.status}` }, job.status),
      job.cancel_requested && job.status === "running" ? el("span", { class: "small muted" }, " stopping") : null),
    el("td", {}, progress(job)),
    el("td", { class: "num" }, counts(job)),
    el("td", {}, violations(job)),
    el("td", {}, what(job)),
    el("td", {}, when(job.created_at)),
    el("td", { class: "num" }, took(job)),
    el("td", {}, job.expires_at ? when(job.expires_at) : "-"),
    el("td", { class: "actions" }, actions(job)))];
  if (job.error) rows.push(el("tr", { class: "error-row" }, el("td", { colspan: String(COLUMNS), class: "error" }, job.error)));
  return rows;
}

async function poll() {
  clearTimeout(timer);
  const signal = polls.next();
  let active = false;
  try {
    const page = await apiGet("/api/v1/jobs/", shown, { signal });
    active = page.results.some((job) => job.status === "queued" || job.status === "running");
    const empty = el("tr", {}, el("td", { colspan: String(COLUMNS) }, el("div", { class: "notice empty" },
      el("strong", {}, shown.q ? "No job matches the search." : `No ${shown.tab} jobs.`),
      el("span", {}, "Workers POST analytics to /api/v1/ingest/ and analyses start at /api/v1/analyses/; "
        + "each shows here as a job."))));
    replace(body, ...(page.results.length ? page.results.flatMap(row) : [empty]));
    older.hidden = page.page >= page.pages;
    newer.hidden = page.page <= 1;
    updated.textContent = `${plural(page.count, "jobs")}, updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (isAbort(error)) return; // a newer poll took over
    updated.textContent = `Could not update: ${error.message}`;
  }
  if (!paused) timer = setTimeout(poll, active ? ACTIVE_MS : IDLE_MS);
}

older.addEventListener("click", () => { shown.page += 1; poll(); });
newer.addEventListener("click", () => { shown.page = Math.max(1, shown.page - 1); poll(); });

for (const tab of tabs) {
  tab.addEventListener("click", () => {
    shown.tab = tab.dataset.tab;
    shown.page = 1;
    for (const other of tabs) other.setAttribute("aria-selected", String(other === tab));
    poll();
  });
}

search.addEventListener("submit", (event) => {
  event.preventDefault();
  shown.q = search.elements.q.value.trim();
  shown.page = 1;
  poll();
});

pause.addEventListener("click", () => {
  paused = !paused;
  pause.setAttribute("aria-pressed", String(paused));
  pause.textContent = paused ? "Resume updates" : "Pause updates";
  if (!paused) poll();
  else clearTimeout(timer);
});

poll();
