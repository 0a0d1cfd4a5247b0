// Start an analysis from the jobs board: any video with media on the server, any pipeline
// (GET /api/v1/pipelines/), then its progress here until it ends (GET /api/v1/analyses/{id}/
// answers 202 while it runs, 200 once it ended). The board below lists it as a job too.

import { apiGet, apiPost } from "../dashboard/api.js";
import { el, replace } from "../dashboard/dom.js";

const FOLLOW_MS = 1000;
const VIDEO_PAGES = 20;
const form = document.getElementById("analyse-form");
const videos = document.getElementById("analyse-video");
const pipelines = document.getElementById("analyse-pipeline");
const report = document.getElementById("analyse-report");

function say(kind, text) {
  report.className = `small ${kind}`;
  report.textContent = text;
}

async function loadVideos() {
  const options = [];
  let url = "/api/v1/videos/";
  for (let page = 0; url && page < VIDEO_PAGES; page += 1) {
    const answer = await apiGet(url);
    for (const video of answer.results) {
      if (video.media_status === "ready") options.push(el("option", { value: String(video.id) }, video.name));
    }
    url = answer.next;
  }
  replace(videos, ...(options.length ? options : [el("option", { value: "" }, "No video has media on this server")]));
}

async function loadPipelines() {
  const listed = await apiGet("/api/v1/pipelines/");
  replace(pipelines, ...listed.map((pipeline) => el("option", { value: pipeline.name },
    pipeline.description ? `${pipeline.name}: ${pipeline.description}` : pipeline.name)));
}

function ended(analysis) {
  if (analysis.status !== "succeeded") return `${analysis.status}: ${analysis.error}`;
  const result = analysis.result;
  return `succeeded: ${result.frames} frames at ${result.frames_per_second} frames/s on ${result.device}, `
    + `${result.detections} detections in ${result.tracks} tracks, ingested into ${analysis.video_name}.`;
}

async function follow(url, name) {
  const analysis = await apiGet(url);
  form.dataset.analysis = analysis.id;
  form.dataset.status = analysis.status;
  if (analysis.status === "queued" || analysis.status === "running") {
    say("", `Analysis of ${name} ${analysis.status}: ${Math.round(analysis.progress * 100)}%`);
    setTimeout(() => follow(url, name).catch((error) => say("error", error.message)), FOLLOW_MS);
    return;
  }
  say(analysis.status === "succeeded" ? "ok" : "error", `Analysis of ${name} ${ended(analysis)}`);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = videos.selectedOptions[0]?.textContent || "";
  try {
    const started = await apiPost("/api/v1/analyses/", { video: Number(videos.value), pipeline: pipelines.value });
    await follow(started.url, name);
  } catch (error) {
    say("error", `Could not start the analysis: ${error.message}`);
  }
});

Promise.all([loadVideos(), loadPipelines()]).catch((error) => say("error", `Could not load: ${error.message}`));
