// The ingest jobs board: GET /api/v1/ingest/ polled like a job console, fast
// while something is queued or running, slowly otherwise.

import { apiGet } from "../dashboard/api.js";
import { el, formatCount, formatDuration, plural, replace } from "../dashboard/dom.js";

const ACTIVE_MS = 2000;
const IDLE_MS = 15000;
const body = document.querySelector("#jobs tbody");
const updated = document.getElementById("jobs-updated");
const pause = document.getElementById("jobs-pause");
const older = document.getElementById("jobs-next");
const newer = document.getElementById("jobs-prev");
let url = "/api/v1/ingest/";
let timer = null;
let paused = false;

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
  const entries = Object.entries(job.counts || {});
  return entries.length ? entries.map(([key, n]) => plural(n, key)).join(", ") : "-";
}

function violations(job) {
  if (!job.violation_count) return el("span", { class: "muted" }, "none");
  return el("details", {},
    el("summary", {}, `${formatCount(job.violation_count)} (${job.mode})`),
    el("ul", {}, ...job.violations.map((v) => el("li", {}, el("code", {}, v.path || "$"), " ", v.message))));
}

// A bar only while a job can still move; a failed or cancelled job indexed nothing
// (the index stays as it was), so a part-filled bar would claim work that was dropped.
function progress(job) {
  if (job.status === "failed") return el("span", { class: "small error" }, "stopped: nothing indexed");
  if (job.status === "cancelled") return el("span", { class: "small muted" }, "cancelled: nothing indexed");
  const percent = job.status === "succeeded" ? 100 : Math.round((job.progress || 0) * 100);
  return [el("div", { class: "bar", role: "progressbar", "aria-label": `Progress of ${job.video_name}`,
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent) },
  el("span", { style: { width: `${percent}%` } })),
  el("span", { class: "small muted" }, `${percent}%`)];
}

function row(job) {
  const rows = [el("tr", { dataset: { status: job.status } },
    el("td", {}, job.video_name),
    el("td", {}, el("span", { class: `status ${job.status}` }, job.status)),
    el("td", {}, progress(job)),
    el("td", { class: "num" }, counts(job)),
    el("td", {}, violations(job)),
    el("td", {}, `${job.schema.name} v${job.schema.version} / ${job.format || "auto"}`),
    el("td", {}, when(job.created_at)),
    el("td", { class: "num" }, took(job)))];
  if (job.error) rows.push(el("tr", { class: "error-row" }, el("td", { colspan: "8", class: "error" }, job.error)));
  return rows;
}

async function poll() {
  clearTimeout(timer);
  let active = false;
  try {
    const page = await apiGet(url);
    active = page.results.some((job) => job.status === "queued" || job.status === "running");
    const empty = el("tr", {}, el("td", { colspan: "8" }, el("div", { class: "notice empty" },
      el("strong", {}, "No ingest jobs yet."),
      el("span", {}, "Workers POST analytics to /api/v1/ingest/; each upload shows here as a job."))));
    replace(body, ...(page.results.length ? page.results.flatMap(row) : [empty]));
    older.hidden = !page.next;
    newer.hidden = !page.previous;
    older.onclick = () => { url = page.next; poll(); };
    newer.onclick = () => { url = page.previous; poll(); };
    updated.textContent = `${plural(page.count, "jobs")}, updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    updated.textContent = `Could not update: ${error.message}`;
  }
  if (!paused) timer = setTimeout(poll, active ? ACTIVE_MS : IDLE_MS);
}

pause.addEventListener("click", () => {
  paused = !paused;
  pause.setAttribute("aria-pressed", String(paused));
  pause.textContent = paused ? "Resume updates" : "Pause updates";
  if (!paused) poll();
  else clearTimeout(timer);
});

poll();
