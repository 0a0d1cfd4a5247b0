// The zone editor: click a polygon's vertices on a still frame of a camera's video, in
// normalised image coordinates (0..1, origin top-left, as detection boxes), name it and save
// it through the zones API; list and delete the zones there are.

import { ApiError, apiDelete, apiGet, apiPost } from "../dashboard/api.js";
import { el, replace } from "../dashboard/dom.js";

const form = document.getElementById("zone-form");
const video = document.getElementById("zone-video");
const camera = document.getElementById("zone-camera");
const stage = document.getElementById("zone-stage");
const frame = document.getElementById("zone-frame");
const shape = document.getElementById("zone-shape");
const counter = document.getElementById("zone-vertices");
const report = document.getElementById("zone-report");
const list = document.querySelector("#zone-list tbody");
let vertices = [];

const round = (value) => Math.round(Math.min(Math.max(value, 0), 1) * 10000) / 10000;

function redraw() {
  shape.setAttribute("points", vertices.map(([x, y]) => `${x},${y}`).join(" "));
  counter.textContent = vertices.length
    ? `${vertices.length} point${vertices.length === 1 ? "" : "s"}: ${vertices.map(([x, y]) => `(${x}, ${y})`).join(" ")}`
    : "Click the zone's corners on the frame.";
}

video.addEventListener("change", () => {
  const option = video.selectedOptions[0];
  if (!video.value) {
    stage.hidden = true;
    return;
  }
  camera.value = option.dataset.camera || camera.value;
  delete stage.dataset.ready;
  frame.src = `/media/videos/${video.value}/thumbnail.jpg?t=0&w=640`;
  stage.hidden = false;
  vertices = [];
  redraw();
});

frame.addEventListener("load", () => { stage.dataset.ready = "true"; });

frame.addEventListener("click", (event) => {
  const box = frame.getBoundingClientRect();
  vertices.push([round((event.clientX - box.left) / box.width), round((event.clientY - box.top) / box.height)]);
  redraw();
});

document.getElementById("zone-undo").addEventListener("click", () => {
  vertices.pop();
  redraw();
});
document.getElementById("zone-clear").addEventListener("click", () => {
  vertices = [];
  redraw();
});

function row(zone) {
  const remove = el("button", { type: "button", class: "danger", "data-zone": String(zone.id) }, "Delete");
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    try {
      await apiDelete(`/api/v1/zones/${zone.id}/`);
      remove.closest("tr").remove();
      if (!list.children.length) list.append(empty());
    } catch (error) {
      remove.disabled = false;
      replace(report, el("p", { class: "error" }, `Not deleted: ${error.message}`));
    }
  });
  return el("tr", { "data-zone": String(zone.id) }, el("td", {}, zone.camera), el("td", {}, zone.name),
    el("td", {}, zone.anchor === "center" ? "centre" : "bottom centre"), el("td", {}, String(zone.polygon.length)),
    el("td", {}, remove));
}

function empty() {
  return el("tr", { class: "empty" }, el("td", { colspan: "5" }, "No zone yet."));
}

async function load() {
  const zones = await apiGet("/api/v1/zones/");
  replace(list, ...(zones.length ? zones.map(row) : [empty()]));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (vertices.length < 3) {
    replace(report, el("p", { class: "error" }, "A zone needs at least 3 points: click its corners on the frame."));
    return;
  }
  const body = {
    camera: camera.value.trim(),
    name: document.getElementById("zone-name").value.trim(),
    anchor: document.getElementById("zone-anchor").value,
    polygon: vertices,
  };
  try {
    const zone = await apiPost("/api/v1/zones/", body);
    report.className = "report ok";
    replace(report, el("p", {}, `Saved: ${zone.camera} / ${zone.name}. Query it as `,
      el("code", {}, `person IN ZONE ${zone.name}`), "."));
    list.querySelector("tr.empty")?.remove();
    list.append(row(zone));
    vertices = [];
    redraw();
  } catch (error) {
    report.className = "report";
    const where = error instanceof ApiError && error.body.path ? ` (${error.body.path})` : "";
    replace(report, el("p", { class: "error" }, `Not saved${where}: ${error.message}`));
  }
});

load().catch((error) => replace(list, el("tr", {}, el("td", { colspan: "5", class: "error" }, error.message))));
