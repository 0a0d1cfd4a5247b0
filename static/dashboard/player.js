// The clip player: the video from the clip's first matching frame, its labels
// drawn on a canvas in step with the frame on screen, the video's matching
// spans on a timeline, and "Reset clip" to go back to the clip's start.
//
// Labels come from /api/v1/videos/{id}/labels/ in windows of LABEL_WINDOW_S
// seconds. The query and filters are sent along; when the answer says it kept
// only matching labels (it carries "matching", "q", "query" or "filters"), the
// "only labels that match" toggle is offered, otherwise every label is drawn
// and the toggle stays hidden.
//
// Above the picture: the video's camera, recorded time, uploader and the ingest job
// its labels came from (GET /api/v1/videos/{id}/, "source_job"). Keys, while the
// player is open and no text field has the focus: Space plays or pauses, "," and
// "." step one frame back or on (paused), "f" toggles fullscreen (the picture with
// its boxes), Escape closes.
//
// "Find similar": the tracks of the frame on screen are offered as buttons; one
// asks /api/v1/similar/ (with the current query and filters) for the tracks
// most like it, shown below the player; a result plays like a clip.

import { apiGet, apiPost, isAbort } from "./api.js";
import { drawBoxes } from "./boxes.js";
import { el, formatClock, formatDuration, replace } from "./dom.js";
import { andText, valueText } from "./querytext.js";
import { clipCaption, videoDetail } from "./clips.js";

const LABEL_WINDOW_S = 30;
const SIMILAR_URL = "/api/v1/similar/";
const SIMILAR_K = 12;
// What takes Space or the other keys for itself when it has the focus (the video's own
// controls play and pause on Space).
const OWN_KEYS = "input, select, textarea";
const OWN_SPACE = "button, a[href], summary, input, select, textarea, video";

// "2026-03-02 08:00:00 UTC": the same on every analyst's screen, whatever their time zone.
function utc(iso) {
  return iso ? `${iso.slice(0, 19).replace("T", " ")} UTC` : "-";
}

export class Player {
  constructor(parts, context, { onClose, onLabelsMode }) {
    Object.assign(this, parts);
    this.context = context;
    this.onClose = onClose;
    this.onLabelsMode = onLabelsMode;
    this.clip = null;
    this.video = null;
    this.windows = new Map();
    this.matchingSupported = null;
    this.frameRequest = null;
    this.dialog.addEventListener("close", () => this.closed());
    this.closeButton.addEventListener("click", () => this.dialog.close());
    this.resetButton.addEventListener("click", () => this.seek(this.clip.start));
    this.playButton.addEventListener("click", () => this.togglePlay());
    this.prevFrameButton.addEventListener("click", () => this.step(-1));
    this.nextFrameButton.addEventListener("click", () => this.step(1));
    this.fullscreenButton.addEventListener("click", () => this.toggleFullscreen());
    this.speed.addEventListener("change", () => {
      this.media.defaultPlaybackRate = Number(this.speed.value);
      this.media.playbackRate = Number(this.speed.value);
    });
    // On the document: the focus may have left the player's controls for the page's body.
    document.addEventListener("keydown", (event) => { if (this.dialog.open) this.key(event); });
    document.addEventListener("fullscreenchange", () => {
      this.fullscreenButton.setAttribute("aria-pressed", String(document.fullscreenElement === this.stage));
    });
    this.media.addEventListener("pause", () => { this.playButton.textContent = "Play"; });
    this.media.addEventListener("ratechange", () => { this.speed.value = String(this.media.playbackRate); });
    this.matching.addEventListener("change", () => {
      this.windows.clear();
      this.onLabelsMode(this.matching.checked ? "matching" : "all");
      this.draw(this.media.currentTime);
    });
    this.timeline.addEventListener("click", (event) => {
      if (!this.video?.duration_s) return;
      const box = this.timeline.getBoundingClientRect();
      this.seek(((event.clientX - box.left) / box.width) * this.video.duration_s);
    });
    this.media.addEventListener("seeked", () => this.draw(this.media.currentTime));
    this.media.addEventListener("loadeddata", () => this.draw(this.media.currentTime));
    this.media.addEventListener("play", () => {
      this.playButton.textContent = "Pause";
      this.follow();
    });
    this.media.addEventListener("timeupdate", () => this.showTime(this.media.currentTime));
    this.media.addEventListener("error", () => {
      this.loadingNote.hidden = false;
      this.loadingNote.textContent = "This video cannot be played here.";
    });
    new ResizeObserver(() => this.draw(this.media.currentTime)).observe(this.media);
  }

  // clip: {video, start, end}; request: the current {q, filters, schema, gap_s}.
  async open(clip, request, labelsMode) {
    this.clip = clip;
    this.request = request;
    this.windows.clear();
    this.similarKey = null;
    this.matching.checked = labelsMode !== "all";
    this.title.textContent = "";
    this.info.textContent = clipCaption({ start_s: clip.start, duration_s: clip.end - clip.start });
    this.showMeta(null);
    this.canvas.dataset.boxes = "0";
    replace(this.timeline, el("div", { class: "playhead" }));
    if (!this.dialog.open) {
      this.dialog.showModal();
      this.playButton.focus(); // Space then plays, Escape closes
    }
    this.loadingNote.hidden = false;
    this.loadingNote.textContent = "Loading video...";
    try {
      this.video = await videoDetail(clip.video, this.context.urls);
    } catch (error) {
      this.loadingNote.textContent = `This video cannot be opened: ${error.message}`;
      return;
    }
    if (this.clip !== clip) return;
    this.title.textContent = this.video.name;
    this.showMeta(this.video);
    if (this.video.fps) {
      // A clip ends one frame after its last frame: its frames, from the video's rate.
      const frames = Math.round((clip.end - clip.start) * this.video.fps);
      this.info.textContent = clipCaption({ start_s: clip.start, duration_s: clip.end - clip.start, frames });
    }
    if (!this.video.stream_url) {
      this.loadingNote.textContent = "This video has no media to play (its analytics are indexed, its file is not).";
      return;
    }
    this.media.addEventListener("loadedmetadata", () => this.seek(clip.start), { once: true });
    this.media.addEventListener("seeked", () => { this.loadingNote.hidden = true; }, { once: true });
    this.media.src = this.video.stream_url;
    this.media.playbackRate = Number(this.speed.value);
    this.spans(clip);
  }

  seek(t) {
    this.media.currentTime = t;
    this.showTime(t);
  }

  showMeta(video) {
    const job = video?.source_job;
    this.camera.textContent = video ? video.camera || "not given" : "-";
    this.recorded.textContent = video ? (video.recorded_at ? utc(video.recorded_at) : "not given") : "-";
    this.uploader.textContent = !video ? "-" : !job ? "no ingest job" : job.uploaded_by || "the server (demo or command)";
    this.job.textContent = job ? `${job.id.slice(0, 8)} (${job.format}, ${utc(job.finished_at)})` : "-";
    if (job) this.job.title = job.id;
    else this.job.removeAttribute("title");
  }

  togglePlay() {
    if (!this.media.currentSrc) return;
    if (this.media.paused) this.media.play().catch(() => {});
    else this.media.pause();
  }

  // One frame back (-1) or on (+1), paused: the frame at index/fps.
  step(frames) {
    if (!this.video?.fps || !this.media.currentSrc) return;
    this.media.pause();
    const fps = this.video.fps;
    const last = this.video.frame_count ? this.video.frame_count - 1 : Math.floor((this.video.duration_s || 0) * fps);
    const index = Math.min(last, Math.max(0, Math.round(this.media.currentTime * fps) + frames));
    this.seek(index / fps);
  }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else this.stage.requestFullscreen().catch(() => {});
  }

  key(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest(OWN_KEYS)) return;
    const actions = {
      ",": () => this.step(-1),
      ".": () => this.step(1),
      f: () => this.toggleFullscreen(),
      " ": () => this.togglePlay(),
    };
    if (!(event.key in actions)) return;
    // A focused button takes Space as a press (Play itself plays or pauses), the video's controls too.
    if (event.key === " " && event.target.closest(OWN_SPACE)) return;
    event.preventDefault();
    actions[event.key]();
  }

  closed() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    this.media.pause();
    this.media.removeAttribute("src");
    this.media.load();
    this.clip = null;
    this.video = null;
    this.onClose();
  }

  showTime(t) {
    if (!this.video) return;
    this.time.textContent = `${formatClock(t)} / ${formatClock(this.video.duration_s || 0)}`;
    if (this.video.fps) this.frame.textContent = `frame ${Math.round(t * this.video.fps)}`;
    const playhead = this.timeline.querySelector(".playhead");
    if (playhead && this.video.duration_s) playhead.style.left = `${(100 * t) / this.video.duration_s}%`;
  }

  // Marks every matching span of this video: the same search, limited to the video.
  async spans(clip) {
    const onlyThis = `video.name=${valueText(this.video.name)}`;
    const q = andText(this.request.q || "", onlyThis);
    let answer;
    try {
      answer = await apiPost(this.context.urls.search, { ...this.request, q, page_size: 500, facets: ["label"] });
    } catch (error) {
      if (!isAbort(error)) this.labelsNote.textContent = `Matching spans unavailable: ${error.message}`;
      return;
    }
    if (this.clip !== clip || !this.video.duration_s) return;
    const duration = this.video.duration_s;
    const marks = answer.clips.map((span) => el("button", {
      type: "button",
      class: Math.abs(span.start_s - clip.start) < 1e-6 ? "span current" : "span",
      style: { left: `${(100 * span.start_s) / duration}%`, width: `${Math.max(0.4, (100 * span.duration_s) / duration)}%` },
      title: `${formatClock(span.start_s)}, ${formatDuration(span.duration_s)}`,
      "aria-label": `Matching span at ${formatClock(span.start_s)}`,
      onclick: (event) => {
        event.stopPropagation();
        this.seek(span.start_s);
      },
    }));
    replace(this.timeline, ...marks, el("div", { class: "playhead" }));
    this.timeline.dataset.spans = String(marks.length);
    this.showTime(this.media.currentTime);
  }

  // Redraw on every presented frame while playing.
  follow() {
    if (!("requestVideoFrameCallback" in this.media)) {
      const tick = () => {
        if (this.media.paused || !this.clip) return;
        this.draw(this.media.currentTime);
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      return;
    }
    const frame = (_now, metadata) => {
      if (!this.clip) return;
      this.draw(metadata.mediaTime);
      if (!this.media.paused) this.media.requestVideoFrameCallback(frame);
    };
    this.media.requestVideoFrameCallback(frame);
  }

  labelsParams(start) {
    const params = { start_s: start, end_s: start + LABEL_WINDOW_S };
    const filtered = this.matching.checked && this.matchingSupported !== false;
    if (filtered) {
      if (this.request.q) params.q = this.request.q;
      if (Object.keys(this.request.filters || {}).length) params.filters = JSON.stringify(this.request.filters);
      if (this.request.schema) params.schema = this.request.schema;
    }
    return params;
  }

  labelsWindow(t) {
    const start = Math.floor(t / LABEL_WINDOW_S) * LABEL_WINDOW_S;
    if (!this.windows.has(start)) {
      const url = `${this.context.urls.videos}${this.clip.video}/labels/`;
      const params = this.labelsParams(start);
      const askedMatching = "q" in params || "filters" in params;
      const load = apiGet(url, params)
        .catch((error) => {
          // An endpoint that refuses the query parameters: draw every label instead.
          if (error.status !== 400 || this.matchingSupported === false) throw error;
          this.matchingSupported = false;
          return apiGet(url, this.labelsParams(start));
        })
        .then((answer) => {
          if (this.matchingSupported === null && askedMatching) {
            this.matchingSupported = ["matching", "q", "query", "filters"].some((key) => key in answer);
          }
          this.matchingWrap.hidden = !this.matchingSupported;
          this.labelsNote.textContent = this.matchingSupported && this.matching.checked
            ? "Showing the labels that match the query." : "Showing every label of the video.";
          return new Map(answer.frames.map((frame) => [frame.index, frame]));
        });
      load.catch(() => this.windows.delete(start));
      this.windows.set(start, load);
    }
    return this.windows.get(start);
  }

  // Draws the labels of the frame shown at media time t.
  async draw(t) {
    if (!this.clip || !this.video) return;
    const fps = this.video.fps || 1;
    const index = Math.round(t * fps);
    let frames;
    try {
      frames = await this.labelsWindow(index / fps);
    } catch (error) {
      this.labelsNote.textContent = `Labels unavailable: ${error.message}`;
      return;
    }
    // While paused, a seek made during the fetch has drawn (or will draw) its own frame.
    const moved = this.media.paused && Math.round(this.media.currentTime * fps) !== index;
    if (!this.clip || moved) return;
    this.paint(frames.get(index), index);
  }

  paint(frame, index) {
    const boxes = drawBoxes(this.canvas, this.media, frame?.objects, this.video, this.context.vocabulary);
    this.canvas.dataset.boxes = String(boxes);
    this.canvas.dataset.frame = String(index);
    this.offerSimilar(frame);
  }

  // One "find similar" button per track of the frame on screen (rebuilt only when they change).
  offerSimilar(frame) {
    const tracks = new Map();
    for (const object of frame?.objects || []) {
      if (object.track !== null && object.track !== undefined && !tracks.has(object.track)) {
        tracks.set(object.track, this.context.vocabulary.names[object.label] || object.label);
      }
    }
    const key = [...tracks.keys()].join("\u0000");
    if (key === this.similarKey) return;
    this.similarKey = key;
    replace(this.similarTracks, ...[...tracks].map(([track, name]) => el("button", {
      type: "button",
      class: "find-similar",
      dataset: { track },
      onclick: () => this.findSimilar(track, name),
    }, `Find similar: ${name} ${track}`)));
  }

  async findSimilar(track, name) {
    const clip = this.clip;
    this.similarPanel.hidden = false;
    this.similarNote.textContent = `Looking for tracks like ${name} ${track}...`;
    replace(this.similarResults);
    const body = { video: clip.video, track, k: SIMILAR_K, q: this.request.q || "", filters: this.request.filters || {} };
    if (this.request.schema) body.schema = this.request.schema;
    let answer;
    try {
      answer = await apiPost(SIMILAR_URL, body);
    } catch (error) {
      this.similarNote.textContent = `Find similar failed: ${error.message}`;
      return;
    }
    if (this.clip !== clip) return;
    this.similarNote.textContent = answer.results.length
      ? `Tracks most like ${name} ${track}, most similar first:`
      : `No other track with an embedding matches the query.`;
    replace(this.similarResults, ...answer.results.map((hit) => el("button", {
      type: "button",
      class: "similar-item",
      dataset: { video: hit.video, track: hit.track },
      onclick: () => this.open({ video: hit.video, start: hit.start_s, end: hit.end_s }, this.request,
        this.matching.checked ? "matching" : "all"),
    },
    hit.thumbnail_url ? el("img", { src: hit.thumbnail_url, alt: "", loading: "lazy" }) : null,
    el("strong", {}, `${this.context.vocabulary.names[hit.label] || hit.label} ${hit.track}`),
    el("span", {}, hit.video_name),
    el("span", { class: "muted" }, `similarity ${hit.score.toFixed(3)}`),
    el("span", { class: "muted" }, clipCaption(hit)))));
  }
}

export function playerParts() {
  const byId = (id) => document.getElementById(id);
  return {
    dialog: byId("player"),
    title: byId("player-title"),
    info: byId("player-info"),
    closeButton: byId("player-close"),
    media: byId("player-video"),
    stage: byId("player-stage"),
    camera: byId("player-camera"),
    recorded: byId("player-recorded"),
    uploader: byId("player-uploader"),
    job: byId("player-job"),
    playButton: byId("player-play"),
    prevFrameButton: byId("player-prev-frame"),
    nextFrameButton: byId("player-next-frame"),
    speed: byId("player-speed"),
    fullscreenButton: byId("player-fullscreen"),
    frame: byId("player-frame"),
    canvas: byId("player-canvas"),
    loadingNote: byId("player-loading"),
    timeline: byId("player-timeline"),
    resetButton: byId("player-reset"),
    time: byId("player-time"),
    matching: byId("player-matching"),
    matchingWrap: byId("player-matching-wrap"),
    labelsNote: byId("player-labels-note"),
    similarTracks: byId("player-similar-tracks"),
    similarPanel: byId("player-similar"),
    similarNote: byId("player-similar-note"),
    similarResults: byId("player-similar-results"),
  };
}

