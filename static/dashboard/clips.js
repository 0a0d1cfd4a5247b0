// The matching clips: a page of cards with a poster, the clip's start and
// length, and hover scrubbing through the video's sprite strip.

import { apiGet, apiPost } from "./api.js";
import { el, formatClock, formatCount, formatDuration, notice, plural, replace } from "./dom.js";

const THUMB_WIDTH = 320;
const CSV_PAGE_SIZE = 500;
const EXPORTS_URL = "/api/v1/exports/";
const EXPORT_POLL_MS = 500;

// Video details (sprite layout, fps, duration), fetched once per video.
const videos = new Map();
export function videoDetail(id, urls) {
  if (!videos.has(id)) {
    const request = apiGet(`${urls.videos}${id}/`);
    request.catch(() => videos.delete(id));
    videos.set(id, request);
  }
  return videos.get(id);
}

// A one-frame clip lasts one frame's time (1/fps), and says it is one frame.
export function clipCaption(clip) {
  const one = clip.frames === 1 ? " (1 frame)" : "";
  return `Starts at ${formatClock(clip.start_s)} - Duration ${formatDuration(clip.duration_s)}${one}`;
}

function withWidth(url, width) {
  return `${url}${url.includes("?") ? "&" : "?"}w=${width}`;
}

export class ClipGrid {
  constructor({ grid, pager, summary }, context, { onOpen, onPage }) {
    Object.assign(this, { grid, pager, summary, context, onOpen, onPage });
    this.answer = null;
    this.selected = new Map(); // "video:start" -> {video, start_s, end_s}
    const menu = document.getElementById("export-menu");
    this.exporter = menu ? new ExportMenu(menu, this) : null;
    pager.addEventListener("click", (event) => {
      const which = event.target.closest("button")?.dataset.page;
      if (!which || !this.answer) return;
      const page = this.answer.page + (which === "next" ? 1 : -1);
      if (page >= 1 && page <= this.answer.pages) onPage(page);
    });
  }

  // The last answer's clips never stay on screen beside another answer's totals.
  loading() {
    this.grid.setAttribute("aria-busy", "true");
    this.answer = null;
    this.pager.hidden = true;
    this.summary.textContent = "";
    replace(this.grid, notice("loading", "Finding matching clips..."));
  }

  failed(message) {
    this.grid.removeAttribute("aria-busy");
    this.answer = null;
    this.pager.hidden = true;
    this.summary.textContent = "";
    replace(this.grid, notice("error", "No clips to show.", message));
  }

  show(answer) {
    this.answer = answer;
    this.grid.removeAttribute("aria-busy");
    const { clips, page, pages, total_clips: total } = answer;
    this.summary.textContent = total ? `${plural(total, "clips")}, ordered by video and start time` : "";
    if (!clips.length) {
      const indexed = this.context.video_count;
      replace(this.grid, indexed
        ? notice("empty", "No clip matches.", "Untick a sidebar value, remove a filter chip or loosen the query.")
        : notice("empty", "No videos are indexed yet.", "An admin ingests analytics (see Ingest jobs); they appear here."));
    } else {
      replace(this.grid, ...clips.map((clip, index) => this.item(clip, index)));
    }
    this.exporter?.update();
    this.pager.hidden = pages <= 1;
    this.pager.querySelector(".pages").textContent = `Page ${page} of ${pages}`;
    this.pager.querySelector('[data-page="prev"]').disabled = page <= 1;
    this.pager.querySelector('[data-page="next"]').disabled = page >= pages;
  }

  // A card, with a box that selects the clip for an export (kept across pages and searches
  // until unticked).
  item(clip, index) {
    const key = `${clip.video}:${clip.start_s}`;
    const box = el("input", {
      type: "checkbox", class: "clip-select", "aria-label": `Select ${clip.video_name || `video ${clip.video}`} from ${
        formatClock(clip.start_s)} for export`,
      style: { position: "absolute", top: ".4rem", left: ".4rem", zIndex: "1", width: "1.1rem", height: "1.1rem" },
      onchange: (event) => {
        if (event.target.checked) this.selected.set(key, { video: clip.video, start_s: clip.start_s, end_s: clip.end_s });
        else this.selected.delete(key);
        this.exporter?.update();
      },
    });
    box.checked = this.selected.has(key);
    return el("div", { class: "clip-item", style: { position: "relative", display: "flex" } },
      this.card(clip, index), box);
  }

  card(clip, index) {
    const poster = clip.thumbnail_url
      ? el("img", { src: withWidth(clip.thumbnail_url, THUMB_WIDTH), alt: "", loading: "lazy", decoding: "async" })
      : el("span", { class: "no-media" }, "no picture");
    const thumb = el("div", { class: "thumb" }, poster, el("span", { class: "scrub-bar" }));
    const name = clip.video_name || `video ${clip.video}`;
    const card = el("button", {
      type: "button",
      class: clip.live ? "clip-card live" : "clip-card",
      dataset: { index: String(index), video: String(clip.video), start: String(clip.start_s) },
      title: `Play ${name} from ${formatClock(clip.start_s)}`,
      onclick: () => this.onOpen(clip),
    }, thumb,
    el("span", { class: "clip-name" }, name, clip.live && el("span", { class: "live-badge", title:
      "Still recording: new clips appear as its analytics arrive" }, " LIVE")),
    el("span", { class: "clip-time" }, clipCaption(clip)));
    if (clip.thumbnail_url) {
      thumb.addEventListener("pointerenter", () => videoDetail(clip.video, this.context.urls).catch(() => null));
      thumb.addEventListener("pointermove", (event) => this.scrub(thumb, clip, event));
      thumb.addEventListener("pointerleave", () => thumb.classList.remove("scrubbing"));
    }
    return card;
  }

  // Hovering across a poster shows the frame at that point of the clip.
  async scrub(thumb, clip, event) {
    let video;
    try {
      video = await videoDetail(clip.video, this.context.urls);
    } catch {
      return;
    }
    const sprite = video.sprite;
    if (!sprite || !thumb.matches(":hover")) return;
    const box = thumb.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    const t = clip.start_s + fraction * clip.duration_s;
    const tile = Math.min(sprite.frames - 1, Math.floor(t / sprite.interval_s));
    const scale = box.width / sprite.frame_width;
    thumb.style.backgroundImage = `url("${encodeURI(sprite.url)}")`;
    thumb.style.backgroundSize = `${sprite.frames * box.width}px ${sprite.frame_height * scale}px`;
    thumb.style.backgroundPosition = `${-tile * box.width}px 0`;
    thumb.style.setProperty("--scrub", `${fraction * 100}%`);
    thumb.classList.add("scrubbing");
  }
}

// The Export menu of the clips panel: a format, a scope (every match, this page, the selected
// clips), then a job on the server (POST /api/v1/exports/) whose progress shows until its file
// downloads. The query is the one the GeoJSON link carries (the dashboard keeps it current).
class ExportMenu {
  constructor(menu, grid) {
    this.menu = menu;
    this.grid = grid;
    this.form = menu.querySelector("form");
    this.bar = menu.querySelector("progress");
    this.status = menu.querySelector("output");
    this.count = menu.querySelector("[data-selected]");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
  }

  update() {
    const selected = this.grid.selected.size;
    this.count.textContent = String(selected);
    const clips = this.form.querySelector('input[name="scope"][value="clips"]');
    clips.disabled = selected === 0;
    if (clips.disabled && clips.checked) this.form.querySelector('input[name="scope"][value="all"]').checked = true;
  }

  query() {
    const link = document.getElementById("export-geojson");
    const params = new URLSearchParams(link?.href ? new URL(link.href, window.location.href).search : "");
    const body = { schema: params.get("schema") || String(this.grid.context.schema.id) };
    if (params.get("q")) body.q = params.get("q");
    if (params.get("filters")) body.filters = JSON.parse(params.get("filters"));
    return body;
  }

  async run() {
    const data = new FormData(this.form);
    const [format, layout] = String(data.get("format")).split(":");
    const scope = String(data.get("scope"));
    const body = { ...this.query(), format, scope };
    if (layout) body.layout = layout;
    if (scope === "page" && this.grid.answer) {
      body.page = this.grid.answer.page;
      body.page_size = this.grid.answer.page_size || this.grid.answer.clips.length || 1;
    }
    if (scope === "clips") body.clips = [...this.grid.selected.values()];
    const button = this.form.querySelector('button[type="submit"]');
    button.disabled = true;
    this.bar.hidden = false;
    this.bar.value = 0;
    this.status.textContent = "Queued...";
    try {
      let job = await apiPost(EXPORTS_URL, body);
      while (job.status === "queued" || job.status === "running") {
        this.bar.value = job.progress;
        this.status.textContent = job.videos ? `${job.videos_done} of ${job.videos} videos written...` : "Starting...";
        await new Promise((resolve) => setTimeout(resolve, EXPORT_POLL_MS));
        job = await apiGet(job.url);
      }
      if (job.status !== "succeeded") throw new Error(job.error || `the export ${job.status}`);
      this.bar.value = 1;
      this.status.textContent = `${job.filename}: ${formatCount(job.detections)} detections, ${
        formatCount(job.videos)} videos`;
      const link = el("a", { href: job.file, download: job.filename, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      this.bar.hidden = true;
      this.status.textContent = `The export failed: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  }
}

function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  // A leading = + - @ would make a spreadsheet run the cell as a formula.
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// Every matching clip (all pages) as CSV, built in the browser from the search API.
export async function clipsCsv(url, request) {
  const columns = ["video", "video_name", "start_s", "end_s", "duration_s", "start_frame", "end_frame", "frames",
    "stream_url"];
  const lines = [columns.join(",")];
  let page = 1;
  let pages = 1;
  do {
    const answer = await apiPost(url, { ...request, page, page_size: CSV_PAGE_SIZE, facets: ["label"] });
    for (const clip of answer.clips) lines.push(columns.map((column) => csvCell(clip[column])).join(","));
    pages = answer.pages;
    page += 1;
  } while (page <= pages);
  return `${lines.join("\r\n")}\r\n`;
}
