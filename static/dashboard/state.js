// The whole screen's state lives in the URL's query string, so that a copied
// URL opens the same screen: the schema (empty: the server's default), query
// text (q), sidebar filters (f, JSON), time range (time), the time zone of hour and weekday
// filters (tz, an IANA name; empty: the server's), count unit, clip page, map view, open clip,
// statistics tab and chart choices.

import { parseTime, timeText } from "./timerange.js";

const DEFAULTS = {
  schema: "",
  q: "",
  filters: {},
  time: null, // {preset} or {from, to}: timerange.js
  tz: "",
  unit: "",
  page: 1,
  map: null, // {lat, lon, zoom}
  clip: null, // {video, start, end}
  tab: "occurrence",
  charts: null, // facet keys of the occurrence charts; null: the default ones
  co: null, // {a, b, scope}
  labels: "matching",
};

function parseJSON(text, fallback) {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

function cleanFilters(raw) {
  const filters = {};
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return filters;
  for (const [key, values] of Object.entries(raw)) {
    const list = (Array.isArray(values) ? values : [values]).map(String);
    if (list.length) filters[key] = [...new Set(list)];
  }
  return filters;
}

export function readState(search = window.location.search) {
  const params = new URLSearchParams(search);
  const state = structuredClone(DEFAULTS);
  state.schema = params.get("schema") || "";
  state.q = params.get("q") || "";
  state.filters = cleanFilters(parseJSON(params.get("f") || "{}", {}));
  state.time = parseTime(params.get("time") || "");
  state.tz = params.get("tz") || "";
  state.unit = params.get("unit") || "";
  state.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  const map = (params.get("map") || "").split(",").map(Number);
  if (map.length === 3 && map.every(Number.isFinite)) state.map = { lat: map[0], lon: map[1], zoom: map[2] };
  const clip = (params.get("clip") || "").split(":");
  if (clip.length === 3 && clip.every((part) => part !== "" && Number.isFinite(Number(part)))) {
    state.clip = { video: Number(clip[0]), start: Number(clip[1]), end: Number(clip[2]) };
  }
  state.tab = params.get("tab") || DEFAULTS.tab;
  if (params.has("charts")) state.charts = params.get("charts").split(",").filter(Boolean);
  const co = (params.get("co") || "").split(",");
  if (co.length === 3 && co.every(Boolean)) state.co = { a: co[0], b: co[1], scope: co[2] };
  state.labels = params.get("labels") === "all" ? "all" : "matching";
  return state;
}

export function stateSearch(state) {
  const params = new URLSearchParams();
  if (state.schema) params.set("schema", state.schema);
  if (state.q) params.set("q", state.q);
  if (Object.keys(state.filters).length) params.set("f", JSON.stringify(state.filters));
  if (state.time) params.set("time", timeText(state.time));
  if (state.tz) params.set("tz", state.tz);
  if (state.unit) params.set("unit", state.unit);
  if (state.page > 1) params.set("page", String(state.page));
  if (state.map) params.set("map", [state.map.lat.toFixed(5), state.map.lon.toFixed(5), state.map.zoom].join(","));
  if (state.clip) {
    const seconds = (t) => String(Math.round(t * 1000) / 1000);
    params.set("clip", [state.clip.video, seconds(state.clip.start), seconds(state.clip.end)].join(":"));
  }
  if (state.tab !== DEFAULTS.tab) params.set("tab", state.tab);
  if (state.charts) params.set("charts", state.charts.join(","));
  if (state.co) params.set("co", [state.co.a, state.co.b, state.co.scope].join(","));
  if (state.labels !== DEFAULTS.labels) params.set("labels", state.labels);
  const text = params.toString();
  return text ? `?${text}` : "";
}

// A new query or filter is a step the Back button can undo (push); moving the
// map, paging or opening a clip only updates the address (replace).
export function writeState(state, { push = false } = {}) {
  const url = `${window.location.pathname}${stateSearch(state)}`;
  if (url === `${window.location.pathname}${window.location.search}`) return;
  window.history[push ? "pushState" : "replaceState"](null, "", url);
}
