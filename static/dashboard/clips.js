// The matching clips: a page of cards with a poster, the clip's start and
// length, and hover scrubbing through the video's sprite strip.

import { apiGet, apiPost } from "./api.js";
import { el, formatClock, formatDuration, notice, plural, replace } from "./dom.js";

const THUMB_WIDTH = 320;
const CSV_PAGE_SIZE = 500;

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
    pager.addEventListener("click", (event) => {
      const which = event.target.closest("button")?.dataset.page;
      if (!which || !this.answer) return;
      const page = this.answer.page + (which === "next" ? 1 : -1);
      if (page >= 1 && page <= this.answer.pages) onPage(page);
    });
  }

  loading() {
    this.grid.setAttribute("aria-busy", "true");
    if (!this.answer) replace(this.grid, notice("loading", "Finding matching clips..."));
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
      replace(this.grid, ...clips.map((clip, index) => this.card(clip, index)));
    }
    this.pager.hidden = pages <= 1;
    this.pager.querySelector(".pages").textContent = `Page ${page} of ${pages}`;
    this.pager.querySelector('[data-page="prev"]').disabled = page <= 1;
    this.pager.querySelector('[data-page="next"]').disabled = page >= pages;
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
