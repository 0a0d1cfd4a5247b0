// The upload page: files dropped on the zone (or chosen) are sent by the resumable uploads API
// (tus 1.0.0, docs/api/uploads.md) in chunks, two files at a time, each row showing its progress.
// A chunk that fails (network, server) is sent again from the offset the server holds (HEAD), after
// a growing pause; a file dropped again after a reload resumes from its stored upload.

const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || "";
const section = document.getElementById("upload");
const zone = document.getElementById("drop-zone");
const input = document.getElementById("upload-files");
const camera = document.getElementById("upload-camera");
const table = document.getElementById("uploads");
const rows = table.querySelector("tbody");

// ?chunk=N sends smaller chunks (tests, very poor links).
const CHUNK = Number(new URLSearchParams(location.search).get("chunk")) || Number(section.dataset.chunkBytes);
const MAX_BYTES = Number(section.dataset.maxBytes);
const PARALLEL = 2;
const RETRIES = 30;
const PAUSE_MAX_MS = 30_000;
const TUS = { "Tus-Resumable": "1.0.0", "X-CSRFToken": CSRF };

const queue = [];
let running = 0;

function base64(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function storageKey(file) {
  return `scoop-upload:${file.name}:${file.size}:${file.lastModified}`;
}

function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

class Failure extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }

  // Worth trying again: the network (0), the server (5xx), a rate (429), a lost race (409), a garbled chunk (460).
  get transient() {
    return this.status === 0 || this.status >= 500 || [408, 409, 429, 460].includes(this.status);
  }
}

async function detailOf(response) {
  try {
    return (await response.json()).detail;
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function offsetOf(url) {
  const response = await fetch(url, { method: "HEAD", credentials: "same-origin", headers: TUS, cache: "no-store" });
  if (!response.ok) throw new Failure(response.status, response.status === 404 ? "the upload is gone" : "");
  return Number(response.headers.get("Upload-Offset"));
}

async function create(file) {
  const metadata = [`filename ${base64(file.name)}`];
  if (camera.value.trim()) metadata.push(`camera ${base64(camera.value.trim())}`);
  const response = await fetch("/api/v1/uploads/", {
    method: "POST", credentials: "same-origin",
    headers: { ...TUS, "Upload-Length": String(file.size), "Upload-Metadata": metadata.join(","), Accept: "application/json" },
  });
  if (!response.ok) throw new Failure(response.status, await detailOf(response));
  return (await response.json()).url;
}

// One chunk by XMLHttpRequest, for its upload progress events. Resolves with the new offset, and
// the finished upload when this was the last chunk.
function sendChunk(url, file, offset, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PATCH", url);
    for (const [name, value] of Object.entries(TUS)) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
    xhr.setRequestHeader("Upload-Offset", String(offset));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => onProgress(offset + event.loaded);
    xhr.onerror = () => reject(new Failure(0, "the connection failed"));
    xhr.onload = () => {
      if (xhr.status === 204) {
        resolve({ offset: Number(xhr.getResponseHeader("Upload-Offset")) });
      } else if (xhr.status === 200) {
        resolve({ offset: file.size, done: JSON.parse(xhr.responseText) });
      } else {
        let detail = "";
        try { detail = JSON.parse(xhr.responseText).detail; } catch { /* not the API's JSON */ }
        reject(new Failure(xhr.status, detail));
      }
    };
    xhr.send(file.slice(offset, offset + CHUNK));
  });
}

function row(file) {
  const bar = document.createElement("progress");
  bar.max = file.size;
  bar.value = 0;
  const status = document.createElement("td");
  status.className = "status";
  status.textContent = "waiting";
  const tr = document.createElement("tr");
  tr.dataset.file = file.name;
  tr.dataset.state = "waiting";
  for (const text of [file.name, formatBytes(file.size)]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  const cell = document.createElement("td");
  cell.append(bar);
  tr.append(cell, status);
  rows.append(tr);
  table.hidden = false;
  return {
    progress(sent) { bar.value = sent; status.textContent = `${Math.floor((100 * sent) / file.size)}%`; },
    state(name, text) { tr.dataset.state = name; status.className = `status ${name}`; status.textContent = text; },
  };
}

async function upload(file, view) {
  if (file.size > MAX_BYTES) throw new Failure(413, `larger than the limit of ${formatBytes(MAX_BYTES)}`);
  const key = storageKey(file);
  let url = localStorage.getItem(key);
  let offset = 0;
  if (url) {
    try {
      offset = await offsetOf(url);
    } catch {
      url = null;
    }
  }
  if (!url) {
    url = await create(file);
    localStorage.setItem(key, url);
  } else if (offset === file.size) {
    // Finished while the page was away: its answer was lost, the upload is there.
    localStorage.removeItem(key);
    const response = await fetch(url, { credentials: "same-origin", headers: { ...TUS, Accept: "application/json" } });
    if (!response.ok) throw new Failure(response.status, await detailOf(response));
    return response.json();
  }
  let failures = 0;
  while (true) {
    view.state("sending", "sending");
    view.progress(offset);
    try {
      const sent = await sendChunk(url, file, offset, (bytes) => view.progress(bytes));
      offset = sent.offset;
      failures = 0;
      if (sent.done) {
        localStorage.removeItem(key);
        return sent.done;
      }
    } catch (error) {
      if (!(error instanceof Failure) || !error.transient || failures >= RETRIES) throw error;
      failures += 1;
      const pause = Math.min(PAUSE_MAX_MS, 500 * 2 ** failures);
      view.state("retrying", `${error.message}: trying again in ${Math.round(pause / 1000)} s`);
      await new Promise((wake) => setTimeout(wake, pause));
      offset = await offsetOf(url).catch(() => offset);
    }
  }
}

async function run(file) {
  const view = row(file);
  try {
    const done = await upload(file, view);
    view.progress(file.size);
    view.state("done", `done: video ${done.video} "${done.name}" (${done.media_status}), sha256 ${done.sha256}`);
    document.body.dataset.uploaded = String(Number(document.body.dataset.uploaded || 0) + 1);
  } catch (error) {
    view.state("failed", `failed: ${error.message}`);
  }
}

function pump() {
  while (running < PARALLEL && queue.length) {
    running += 1;
    run(queue.shift()).finally(() => { running -= 1; pump(); });
  }
}

function add(files) {
  queue.push(...files);
  pump();
}

input.addEventListener("change", () => { add([...input.files]); input.value = ""; });
zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  add([...event.dataTransfer.files]);
});
document.body.dataset.uploadReady = "true";
