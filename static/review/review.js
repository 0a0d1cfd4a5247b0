// The review page: one item of a leased batch at a time. Its clip plays from the item's
// start with the item's own box drawn (GET /api/v1/review/items/{id}/boxes/); Y, N and U
// answer, C opens the correction form (the campaign schema's labels and values, embedded
// in the page), the arrows move between items. The bar shows how many are answered;
// Submit (or the last answer, when "submit when every item is answered" is on) posts the
// votes, then the next batch is offered. Errors (an ended lease, 410) are shown here.

import { ApiError, apiGet, apiPost } from "../dashboard/api.js";
import { drawBoxes } from "../dashboard/boxes.js";
import { el, formatClock, formatDuration, notice, replace } from "../dashboard/dom.js";

const data = JSON.parse(document.getElementById("page-data").textContent);
const byId = (id) => document.getElementById(id);
const parts = {
  item: byId("review-item"), media: byId("review-video"), canvas: byId("review-canvas"),
  loading: byId("review-loading"), info: byId("review-info"), answer: byId("review-answer"),
  message: byId("review-message"), count: byId("review-count"), progress: byId("review-progress"),
  submit: byId("review-submit"), auto: byId("review-auto"), form: byId("review-correction"),
  label: byId("correction-label"), attrs: byId("correction-attrs"),
};
const ANSWER_TEXT = { yes: "Yes", no: "No", unsure: "Unsure" };
const KEYS = { y: "yes", n: "no", u: "unsure" };
// The batch size: the address's ?size= (e.g. a short batch to try the page), else the page's.
const SIZE = Number(new URLSearchParams(window.location.search).get("size")) || data.batch_size;

let batch = null; // {batch, items}
let position = 0;
let answers = new Map(); // item id -> {answer, correction?}
const boxes = new Map(); // item id -> Promise of {fps, width, height, frames}

function setState(state) {
  document.body.dataset.review = state;
}

function say(kind, title, text = "", ...actions) {
  replace(parts.message, kind ? notice(kind, title, text) : null);
  if (actions.length) parts.message.firstChild.append(el("div", { class: "actions" }, ...actions));
}

function nextBatchButton(text = "Next batch") {
  return el("button", { type: "button", class: "primary", id: "review-next-batch", onclick: loadBatch }, text);
}

async function loadBatch() {
  setState("loading");
  say("loading", "Fetching items to review...");
  parts.item.hidden = true;
  try {
    batch = await apiGet(data.urls.batch, { size: SIZE });
  } catch (error) {
    setState("error");
    say("error", "No batch could be fetched.", error.message, nextBatchButton("Try again"));
    return;
  }
  answers = new Map();
  position = 0;
  if (!batch.items.length) {
    setState("empty");
    say("unavailable", "Nothing left for you to review here.",
      "Every item has its votes, or is leased to another reviewer for now.",
      el("a", { class: "button", href: "/review/" }, "Other campaigns"));
    progress();
    return;
  }
  say(null);
  parts.item.hidden = false;
  show(0);
  setState("ready");
}

function current() {
  return batch?.items[position];
}

// Shows item i: its clip from its start, its answer so far, and the progress.
function show(i) {
  position = Math.max(0, Math.min(batch.items.length - 1, i));
  const item = current();
  closeCorrection();
  parts.item.dataset.item = String(item.id);
  parts.item.dataset.position = String(position);
  const name = data.names[item.label] || item.label;
  parts.info.textContent = [`Item ${position + 1} of ${batch.items.length}`, item.video_name,
    item.track === null ? name : `${name} ${item.track}`,
    `${formatClock(item.start_s)} to ${formatClock(item.end_s)}`].join(" \u00b7 ");
  showAnswer();
  progress();
  play(item);
}

function play(item) {
  const { media } = parts;
  parts.canvas.dataset.boxes = "0";
  if (!item.stream_url) {
    parts.loading.hidden = false;
    parts.loading.textContent = "This video has no media to play: answer from its label, or Unsure.";
    media.removeAttribute("src");
    return;
  }
  parts.loading.hidden = false;
  parts.loading.textContent = "Loading video...";
  const start = () => {
    if (current() !== item) return;
    media.currentTime = item.start_s;
    media.play().catch(() => {}); // a browser that refuses autoplay leaves the controls to the reviewer
  };
  if (media.getAttribute("src") === item.stream_url && media.readyState >= 1) {
    start();
  } else {
    media.addEventListener("loadedmetadata", start, { once: true });
    media.src = item.stream_url;
  }
}

function itemBoxes(item) {
  if (!boxes.has(item.id)) {
    const load = apiGet(`${data.urls.items}${item.id}/boxes/`);
    load.catch(() => boxes.delete(item.id));
    boxes.set(item.id, load);
  }
  return boxes.get(item.id);
}

// Draws the item's box in the frame at media time t: the latest of its frames at or
// before t (a track's boxes may skip frames), none outside the item's span.
async function draw(t) {
  const item = current();
  if (!item) return;
  let answer;
  try {
    answer = await itemBoxes(item);
  } catch (error) {
    parts.info.textContent = `${parts.info.textContent.split(" (")[0]} (boxes unavailable: ${error.message})`;
    return;
  }
  if (current() !== item) return;
  const index = Math.round(t * (answer.fps || 1));
  const inSpan = t >= item.start_s - 1e-3 && t <= item.end_s + 1e-3;
  const frame = inSpan ? answer.frames.filter((f) => f.index <= index).at(-1) : null;
  parts.canvas.dataset.boxes = String(drawBoxes(parts.canvas, parts.media, frame?.objects || [], answer, data));
}

function follow() {
  const { media } = parts;
  const tick = () => {
    const item = current();
    if (!item || media.paused) return;
    if (media.currentTime >= item.end_s) media.pause(); // the clip is the item's span
    draw(media.currentTime);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function showAnswer() {
  const given = answers.get(current().id);
  for (const button of parts.item.querySelectorAll("[data-answer]")) {
    button.setAttribute("aria-pressed", String(given?.answer === button.dataset.answer));
  }
  if (!given) {
    parts.answer.textContent = "Not answered yet";
  } else {
    const correction = given.correction ? ` (correction: ${correctionText(given.correction)})` : "";
    parts.answer.textContent = `Your answer: ${ANSWER_TEXT[given.answer]}${correction}`;
  }
  parts.item.dataset.answer = given?.answer || "";
}

function correctionText(correction) {
  const label = correction.label ? [data.names[correction.label] || correction.label] : [];
  const values = Object.entries(correction.attrs || {}).map(([name, value]) => `${name}=${value}`);
  return [...label, ...values].join(", ");
}

function progress() {
  const total = batch?.items.length || 0;
  const done = batch ? batch.items.filter((item) => answers.has(item.id)).length : 0;
  parts.count.textContent = total ? `${done} of ${total} answered` : "";
  parts.progress.setAttribute("aria-valuenow", String(done));
  parts.progress.setAttribute("aria-valuemax", String(total));
  parts.progress.firstElementChild.style.width = total ? `${(100 * done) / total}%` : "0";
  parts.submit.disabled = !total || done < total;
  return { done, total };
}

// Records an answer, then moves on to the next unanswered item, or submits when all are.
function answer(value, correction = null) {
  const item = current();
  answers.set(item.id, correction ? { answer: value, correction } : { answer: value });
  closeCorrection();
  showAnswer();
  const { done, total } = progress();
  if (done === total) {
    if (parts.auto.checked) submit();
    return;
  }
  const after = [...batch.items.keys()].map((k) => (position + 1 + k) % total)
    .find((k) => !answers.has(batch.items[k].id));
  show(after);
}

async function submit() {
  const votes = batch.items.map((item) => ({ item: item.id, ...answers.get(item.id) }));
  parts.submit.disabled = true;
  setState("submitting");
  try {
    await apiPost(data.urls.votes, { batch: batch.batch, votes });
  } catch (error) {
    failed(error);
    return;
  }
  parts.item.hidden = true;
  parts.media.pause();
  setState("submitted");
  say("ok", `Thank you: ${votes.length} answers recorded.`, "", nextBatchButton());
  byId("review-next-batch").focus();
}

// Why the votes were refused, and what to do about it.
function failed(error) {
  setState("error");
  parts.submit.disabled = false;
  const status = error instanceof ApiError ? error.status : 0;
  const where = error.body?.path ? ` (at ${error.body.path})` : "";
  if (status === 410 || status === 409) answers = new Map(); // nothing left to submit
  if (status === 410) {
    parts.item.hidden = true;
    parts.media.pause();
    say("error", "This batch's lease has ended: your answers were not recorded.",
      `A batch is yours for ${formatDuration(data.lease_s)}; its items went back to the pool. ` +
      "Fetch a new batch to go on.", nextBatchButton("Fetch a new batch"));
  } else if (status === 409) {
    parts.item.hidden = true;
    say("error", "This batch was already submitted.", error.message, nextBatchButton());
  } else {
    say("error", "Your answers were not recorded.", `${error.message}${where}`);
  }
}

// The correction form: another label, or other values of the label's attributes.
function openCorrection() {
  const item = current();
  const given = answers.get(item.id)?.correction || {};
  replace(parts.label, ...Object.keys(data.labels).map((label) => el("option", {
    value: label, selected: label === (given.label || item.label),
  }, data.names[label] || label)));
  attrFields(given.attrs || {});
  parts.form.hidden = false;
  parts.label.focus();
}

function attrFields(chosen) {
  const attrs = data.labels[parts.label.value] || {};
  replace(parts.attrs, ...Object.entries(attrs).map(([name, values]) => el("label", {}, name, " ",
    values === null
      ? el("input", { type: "number", step: "any", name, value: chosen[name] ?? "", placeholder: "unchanged" })
      : el("select", { name }, el("option", { value: "" }, "(unchanged)"),
        ...values.map((value) => el("option", { value, selected: String(chosen[name]) === value }, value))))));
}

function closeCorrection() {
  parts.form.hidden = true;
}

// The correction as the API takes it: {label?, attrs?}, values typed as the schema has them.
function correctionValue() {
  const item = current();
  const correction = {};
  if (parts.label.value !== item.label) correction.label = parts.label.value;
  const attrs = {};
  for (const field of parts.attrs.querySelectorAll("select, input")) {
    if (field.value === "") continue;
    const options = data.labels[parts.label.value][field.name];
    if (options === null) attrs[field.name] = Number(field.value);
    else if (field.value === "true" || field.value === "false") attrs[field.name] = field.value === "true";
    else attrs[field.name] = field.value;
  }
  if (Object.keys(attrs).length) correction.attrs = attrs;
  return correction;
}

parts.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const correction = correctionValue();
  if (!Object.keys(correction).length) {
    parts.attrs.append(el("p", { class: "error", role: "alert" }, "Choose another label or other values first."));
    return;
  }
  answer("no", correction);
});
parts.label.addEventListener("change", () => attrFields({}));
byId("correction-cancel").addEventListener("click", closeCorrection);
for (const button of parts.item.querySelectorAll("[data-answer]")) {
  button.addEventListener("click", () => answer(button.dataset.answer));
}
byId("review-correct").addEventListener("click", openCorrection);
byId("review-prev").addEventListener("click", () => show(position - 1));
byId("review-next").addEventListener("click", () => show(position + 1));
byId("review-replay").addEventListener("click", () => play(current()));
parts.submit.addEventListener("click", submit);

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || parts.item.hidden || !current()) return;
  if (!parts.form.hidden) {
    if (event.key === "Escape") closeCorrection();
    return; // the form's own fields take the keys
  }
  const key = event.key.toLowerCase();
  if (key in KEYS) answer(KEYS[key]);
  else if (key === "c") openCorrection();
  else if (event.key === "ArrowLeft") show(position - 1);
  else if (event.key === "ArrowRight") show(position + 1);
  else return;
  event.preventDefault();
});

parts.media.addEventListener("seeked", () => { parts.loading.hidden = true; draw(parts.media.currentTime); });
parts.media.addEventListener("loadeddata", () => draw(parts.media.currentTime));
parts.media.addEventListener("play", follow);
parts.media.addEventListener("error", () => {
  if (!parts.media.getAttribute("src")) return;
  parts.loading.hidden = false;
  parts.loading.textContent = "This video cannot be played here: answer from its label, or Unsure.";
});
new ResizeObserver(() => draw(parts.media.currentTime)).observe(parts.media);
// Leaving with answers not submitted loses them (a reload gets the same batch back, unanswered): ask first.
window.addEventListener("beforeunload", (event) => {
  if (answers.size && !["submitted", "empty"].includes(document.body.dataset.review)) event.preventDefault();
});

loadBatch();
