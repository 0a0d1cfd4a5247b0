// The dashboard: wires the schema picker, query bar, sidebar, totals, statistics,
// map, clip grid and player to one state that lives in the URL (state.js). Every
// change of query or filters re-runs the search (totals, facet counts, clips) and
// the statistics and map that follow it. Every API call names the schema the page
// shows (context.schema), so all of them follow the picker.

import { ApiError, apiGet, apiPost, isAbort, Latest } from "./api.js";
import { clipsCsv, ClipGrid } from "./clips.js";
import { formatCount, formatDuration } from "./dom.js";
import { MapPanel } from "./map.js";
import { Player, playerParts } from "./player.js";
import { QueryBar } from "./querybar.js";
import { andText, bboxOf, withBbox, withoutBbox } from "./querytext.js";
import { Sidebar } from "./sidebar.js";
import { SavedSearches } from "./saved.js";
import { readState, stateSearch, writeState } from "./state.js";
import { ReviewCampaignForm } from "./reviewnew.js";
import { StatsPanel } from "./stats.js";
import { TimeRange, timeTerm } from "./timerange.js";

const PAGE_SIZE = 24;
// While the clips shown include a live video, the search re-runs this often, so its clips grow.
const LIVE_REFRESH_MS = 3000;
const SEARCH_UNITS = ["objects", "tracks", "frames", "clips", "videos"];

const context = JSON.parse(document.getElementById("page-data").textContent);
const byId = (id) => document.getElementById(id);
// The address's state, with the schema the server shows: the address's, or '' (the
// default) when it named none or one the server does not have.
const addressState = () => ({ ...readState(), schema: context.schema_choice });
let state = addressState();
const searches = new Latest();

// The query text the server runs: the query bar's, AND the time range's term.
function queryText() {
  return andText(state.q, timeTerm(state.time));
}

// An error's position in the text sent (the query bar's text, perhaps in parentheses,
// AND the time term) as a position in the query bar's text.
function inQueryBar(body) {
  const leading = state.q.length - state.q.trimStart().length;
  const offset = queryText().indexOf(state.q.trim()) - leading;
  if (!offset || !Number.isInteger(body.position)) return body;
  const shifted = { ...body, position: body.position - offset };
  if (body.line === 1 && Number.isInteger(body.column)) shifted.column = body.column - offset;
  return shifted;
}

function request() {
  const body = { schema: String(context.schema.id), gap_s: 1.0, filters: state.filters };
  const q = queryText();
  if (q.trim()) body.q = q;
  if (state.tz) body.tz = state.tz;
  return body;
}

// --- totals ---

// counts: the search answer's; null while loading ("..."), or after an error ("-").
function showTotals(counts, why = "ready") {
  const totals = byId("totals");
  totals.dataset.state = counts ? "ready" : why;
  if (why === "loading") totals.setAttribute("aria-busy", "true");
  else totals.removeAttribute("aria-busy");
  for (const tile of totals.querySelectorAll(".tile")) {
    const key = tile.dataset.count;
    const value = counts ? counts[key] : null;
    tile.querySelector(".num").textContent = value === null || value === undefined
      ? (why === "loading" ? "..." : "-") : key === "duration_s" ? formatDuration(value) : formatCount(value);
    tile.dataset.value = value === null || value === undefined ? "" : String(value);
  }
}

// --- parts ---

const sidebar = new Sidebar(byId("sidebar"), context.sidebar, {
  onToggle(key, value, mode) {
    const wanted = mode === "include" ? value : `!${value}`;
    const other = mode === "include" ? `!${value}` : value;
    const current = (state.filters[key] || []).filter((v) => v !== other);
    const next = current.includes(wanted) ? current.filter((v) => v !== wanted) : [...current, wanted];
    setFilters({ ...state.filters, [key]: next });
  },
  onSet(key, values) {
    setFilters({ ...state.filters, [key]: values });
  },
});

const queryBar = new QueryBar({
  form: byId("query-form"),
  input: byId("query-input"),
  suggest: byId("query-suggest"),
  error: byId("query-error"),
  chips: byId("chips"),
  toText: byId("chips-to-text"),
  clearAll: byId("query-clear"),
}, context, {
  onSubmit(text) {
    change({ q: text.trim() });
  },
  onRemoveChip(chip) {
    const drop = new Set(chip.values.map((value) => (chip.negated ? `!${value}` : value)));
    setFilters({ ...state.filters, [chip.key]: (state.filters[chip.key] || []).filter((v) => !drop.has(v)) });
  },
  onChipsToText() {
    const text = [...byId("chips").querySelectorAll("code")].map((code) => code.textContent).join(" AND ");
    change({ q: andText(state.q, text), filters: {} });
  },
  onClear() {
    change({ q: "", filters: {}, time: null });
  },
});

const stats = new StatsPanel(byId("stats"), context, {
  onAddFilters(pairs) {
    const filters = { ...state.filters };
    for (const [key, value] of pairs) {
      const current = (filters[key] || []).filter((v) => v !== `!${value}`);
      filters[key] = current.includes(value) ? current : [...current, value];
    }
    setFilters(filters);
  },
  onChange(patch) {
    Object.assign(state, patch);
    writeState(state);
    stats.refresh(state, request());
  },
  onPickTime({ from, to }) {
    change({ time: { from: from.slice(0, 19), to: to.slice(0, 19) } });
  },
});

const timeRange = new TimeRange({
  preset: byId("time-preset"),
  custom: byId("time-custom"),
  from: byId("time-from"),
  to: byId("time-to"),
  apply: byId("time-apply"),
  term: byId("time-term"),
}, {
  onChange(time) {
    change({ time });
  },
});

const map = new MapPanel({
  container: byId("map"),
  note: byId("map-note"),
  legend: byId("map-legend"),
  drawButton: byId("map-draw"),
  clearButton: byId("map-clear"),
  target: byId("map-target"),
}, context, {
  onBbox(bbox, digits) {
    change({ q: bbox ? withBbox(state.q, bbox, digits) : withoutBbox(state.q) });
  },
  onView(view) {
    state.map = view;
    writeState(state);
  },
});

const grid = new ClipGrid({ grid: byId("clip-grid"), pager: byId("pager"), summary: byId("clips-summary") }, context, {
  onOpen(clip) {
    state.clip = { video: clip.video, start: clip.start_s, end: clip.end_s };
    writeState(state);
    player.open(state.clip, request(), state.labels);
  },
  onPage(page) {
    state.page = page;
    writeState(state);
    search({ panels: false });
    byId("clips").scrollIntoView({ block: "start" });
  },
});

const player = new Player(playerParts(), context, {
  onClose() {
    state.clip = null;
    writeState(state);
  },
  onLabelsMode(mode) {
    state.labels = mode;
    writeState(state);
  },
});

const saved = new SavedSearches({
  menu: byId("saved"),
  form: byId("saved-form"),
  name: byId("saved-name"),
  shared: byId("saved-shared"),
  error: byId("saved-error"),
  list: byId("saved-list"),
}, context);
// A saved search keeps the query as run: the time range's term is written into its text
// (a preset as the absolute range it stands for now), not kept apart in its view.
saved.follow(() => ({ state: { ...state, time: null }, request: request() }));
if (byId("review-new")) {
  new ReviewCampaignForm({
    form: byId("review-new-form"),
    name: byId("review-new-name"),
    unit: byId("review-new-unit"),
    question: byId("review-new-question"),
    result: byId("review-new-result"),
  }, request);
}

// --- changes ---

function setFilters(filters) {
  const kept = Object.fromEntries(Object.entries(filters).filter(([, values]) => values.length));
  change({ filters: kept });
}

function change(patch) {
  Object.assign(state, patch, { page: 1 });
  writeState(state, { push: true });
  refresh();
}

function refresh() {
  queryBar.setText(state.q);
  queryBar.showChips(state.filters);
  timeRange.show(state.time);
  byId("time-zone").hidden = !state.tz;
  byId("time-zone").textContent = state.tz ? `hours and weekdays in ${state.tz}` : "";
  sidebar.update(state.filters, null);
  byId("unit").value = state.unit;
  map.showArea(bboxOf(state.q));
  // Statistics and the map ask at once with the search (the server computes the frames
  // they share once). A query the server rejects is reported once, at its position in the
  // query bar: they then say why they show nothing.
  const searched = search();
  stats.refresh(state, request(), searched);
  map.setQuery(request(), searched);
  searched.then((accepted) => {
    if (accepted === false) {
      stats.blocked("Fix the query above: no statistics for a query the server could not run.");
      map.blocked("No location counts: the query is in error.");
    }
  });
  exportLink();
}

// Resolves true when the server answered, false when it refused the query or failed,
// null when a newer search replaced this one. While it runs, no panel shows the last
// query's numbers (paging keeps the totals, statistics and map; a live video's refresh
// keeps everything until it is answered: the query is the same).
async function search({ panels = true, clips = true } = {}) {
  const signal = searches.next();
  const body = { ...request(), page: state.page, page_size: PAGE_SIZE };
  if (SEARCH_UNITS.includes(state.unit)) body.facet_unit = state.unit;
  if (clips) grid.loading();
  if (panels) {
    showTotals(null, "loading");
    sidebar.update(state.filters, null, "...");
    stats.pending();
    map.pending();
  }
  document.body.dataset.search = "loading";
  try {
    const answer = await apiPost(context.urls.search, body, { signal });
    queryBar.clearError();
    showTotals(answer.counts);
    sidebar.update(state.filters, answer.facets);
    grid.show(answer);
    followLive(answer);
    document.body.dataset.search = "ready";
    return true;
  } catch (error) {
    if (isAbort(error)) return null;
    showTotals(null, "error");
    sidebar.update(state.filters, null);
    if (error instanceof ApiError && error.status === 400) {
      queryBar.showError(inQueryBar(error.body), state.q);
      grid.failed("Fix the query above: the server could not run it.");
    } else {
      grid.failed(error.message);
    }
    document.body.dataset.search = "error";
    return false;
  }
}

let liveTimer = null;
function followLive(answer) {
  clearTimeout(liveTimer);
  if (answer.clips.some((clip) => clip.live)) liveTimer = setTimeout(() => search({ panels: false, clips: false }), LIVE_REFRESH_MS);
}

// --- exports ---

const geojson = byId("export-geojson");
let geojsonAvailable = null;

async function exportLink() {
  const params = new URLSearchParams({ schema: String(context.schema.id) });
  const q = queryText();
  if (q.trim()) params.set("q", q);
  if (Object.keys(state.filters).length) params.set("filters", JSON.stringify(state.filters));
  geojson.href = `${context.urls.export_geojson}?${params}`;
  if (geojsonAvailable === null) {
    geojsonAvailable = "checking";
    try {
      // A query that matches nothing: asks whether the export exists without exporting anything.
      await apiGet(context.urls.export_geojson, { schema: String(context.schema.id), q: "NOT ()" });
      geojsonAvailable = true;
    } catch (error) {
      geojsonAvailable = !(error instanceof ApiError && error.status === 404 && !error.fromApi);
    }
  }
  if (geojsonAvailable === false) {
    geojson.removeAttribute("href");
    geojson.setAttribute("aria-disabled", "true");
    geojson.textContent = "Detections export (GeoJSON) unavailable";
    geojson.title = `This server does not offer ${context.urls.export_geojson} yet.`;
  }
}

byId("export-csv").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const label = button.textContent;
  button.disabled = true;
  button.textContent = "Preparing CSV...";
  try {
    const csv = await clipsCsv(context.urls.search, request());
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    link.download = "scoop-clips.csv";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    button.title = `The export failed: ${error.message}`;
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
});

byId("unit").addEventListener("change", (event) => change({ unit: event.target.value }));

// Another schema loads the page anew, keeping only the map view: the sidebar, the query
// bar's vocabulary and what a query or filter may name all come from the schema.
byId("schema-picker").addEventListener("change", (event) => {
  const next = { ...readState(""), schema: event.target.value, map: state.map };
  window.location.assign(`${window.location.pathname}${stateSearch(next)}`);
});

// Back and Forward restore the screen the address describes.
window.addEventListener("popstate", () => {
  const clip = state.clip;
  state = addressState();
  refresh();
  if (state.clip && JSON.stringify(state.clip) !== JSON.stringify(clip)) player.open(state.clip, request(), state.labels);
  else if (!state.clip && clip) byId("player").close();
});

// --- start ---

map.start(state.map);
writeState(state);
refresh();
if (state.clip) player.open(state.clip, request(), state.labels);
document.body.dataset.ready = "true";
