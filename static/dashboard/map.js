// The map: where matching frames (or objects) were seen, as GeoJSON cells from
// /api/v1/stats/geo/ re-binned for every view (bbox + zoom on each moveend).
// Under them: the base map, OpenStreetMap's tiles by default (SCOOP_MAP_TILES names
// another server, or "off"); with no tiles, or when they cannot load, Scoop's own
// Natural Earth land and borders (static/vendor/world-atlas) and a graticule, so
// the map is never blank. The routes the videos were recorded along are drawn
// above the base. Below CLUSTER_BELOW_ZOOM each cell is a bubble with its count
// (the server merges cells as the map zooms out: a cell is 1/8 of a map tile);
// clicking a cell keeps only what lies in it (the query's bbox(...) term).
// Shift-drag, or "Draw area" then drag, draws a rectangle that becomes the bbox.

import { ApiError, apiPost, isAbort, Latest, refusedBy } from "./api.js";
import { debounce, el, formatCount, replace } from "./dom.js";

const WORLD = { lat: 20, lon: 0, zoom: 2 };
const SCALE = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#e6550d", "#a63603"];
export const CLUSTER_BELOW_ZOOM = 13;
const CELL_DIGITS = 7;
const ROUTE = { color: "#7a8699", dot: "#aab3c2", dotLine: "#5d6778" };
const AREA_COLOR = "#1565c0";
// Graticule spacing (degrees) by zoom: about 3 to 8 lines across the view.
const GRATICULE = [[3, 30], [5, 10], [7, 5], [9, 1], [11, 0.5], [13, 0.1], [15, 0.05], [Infinity, 0.01]];

function shade(count, max) {
  if (!max) return SCALE[0];
  // Log scale: a few busy cells should not wash out the rest.
  const level = Math.log1p(count) / Math.log1p(max);
  return SCALE[Math.min(SCALE.length - 1, Math.floor(level * (SCALE.length - 1) + 0.5))];
}

export function graticuleStep(zoom) {
  return GRATICULE.find(([below]) => zoom < below)[1];
}

// The cell's [west, south, east, north]: written with 7 decimals (about 1 cm) by the
// bbox term, since the frames of a moving camera lie about a metre apart.
function cellBbox(layerBounds) {
  return [layerBounds.getWest(), layerBounds.getSouth(), layerBounds.getEast(), layerBounds.getNorth()];
}

export class MapPanel {
  constructor({ container, note, legend, drawButton, clearButton, target }, context, { onBbox, onView }) {
    Object.assign(this, { container, note, legend, drawButton, clearButton, targetSelect: target });
    this.context = context;
    this.onBbox = onBbox;
    this.onView = onView;
    this.latest = new Latest();
    this.request = null;
    this.available = true;
    this.drawing = false;
    this.max = 0;
    this.answer = null;
    this.state = "idle"; // idle, loading, ready, error
    this.map = L.map(container, { boxZoom: false, worldCopyJump: true });
    this.map.attributionControl.setPrefix("Leaflet");
    L.control.scale({ position: "bottomleft", maxWidth: 120 }).addTo(this.map);
    const dataset = this.map.getContainer().dataset;
    dataset.cells = "0";
    // Scoop's own base layer sits in a pane under the tiles: opaque tiles cover it.
    this.map.createPane("fallback").style.zIndex = 150;
    this.fallback = L.layerGroup([], { pane: "fallback" });
    this.fallbackRenderer = L.svg({ pane: "fallback" });
    this.graticule = L.layerGroup([], { pane: "fallback" });
    this.fallbackState = "none";
    if (context.map.tiles) {
      this.base = "tiles";
      L.tileLayer(context.map.tiles, { attribution: context.map.attribution, maxZoom: 19 })
        .once("tileerror", () => {
          this.say("tiles", "Base map tiles could not load: showing Scoop's own land, borders and graticule.");
          this.showFallback();
        })
        .addTo(this.map);
    } else {
      this.showFallback();
    }
    dataset.base = this.base;
    // Each route: its line and a dot where it starts (a short route is a speck at city zoom).
    this.routes = L.layerGroup(context.map.routes.flatMap((route) => [
      L.polyline(route.points, { color: ROUTE.color, weight: 3, opacity: 0.8 }),
      L.circleMarker(route.points[0], { radius: 4, color: ROUTE.dotLine, weight: 1, fillColor: ROUTE.dot, fillOpacity: 0.9 }),
    ].map((layer) => layer.bindTooltip(el("span", {}, `Recorded route of ${route.name}`), { sticky: true })))).addTo(this.map);
    this.cells = L.layerGroup().addTo(this.map);
    this.area = null;
    this.messages = new Map();
    this.drawButton.addEventListener("click", () => this.setDrawing(!this.drawing));
    this.clearButton.addEventListener("click", () => this.onBbox(null));
    this.targetSelect.addEventListener("change", () => this.refresh());
    this.map.on("zoomend moveend", () => this.drawGraticule());
    this.map.on("moveend", debounce(() => {
      this.onView(this.view());
      this.refresh();
    }, 250));
    this.listenForRectangles();
    this.showLegend();
  }

  // Natural Earth land and borders (fetched once, from Scoop) and the graticule.
  async showFallback() {
    this.base = "fallback";
    const container = this.map.getContainer();
    container.dataset.base = "fallback";
    this.fallback.addTo(this.map);
    this.graticule.addTo(this.map);
    this.drawGraticule();
    this.showLegend();
    if (this.fallbackState !== "none") return;
    this.fallbackState = "loading";
    const { land, borders } = this.context.map.fallback;
    try {
      const [landData, borderData] = await Promise.all([land, borders].map(async (url) => {
        const response = await fetch(url, { credentials: "same-origin" });
        if (!response.ok) throw new Error(`${url} answered ${response.status}`);
        return response.json();
      }));
      this.fallback.addLayer(L.geoJSON(landData, {
        pane: "fallback",
        renderer: this.fallbackRenderer,
        interactive: false,
        style: { className: "land", stroke: true, color: "#b9b2a3", weight: 0.8, fillColor: "#f3efe6", fillOpacity: 1 },
      }));
      this.fallback.addLayer(L.geoJSON(borderData, {
        pane: "fallback",
        renderer: this.fallbackRenderer,
        interactive: false,
        style: { className: "border", color: "#8d8778", weight: 0.8, dashArray: "4 3" },
      }));
      this.fallbackState = "ready";
      container.dataset.fallback = "ready";
    } catch (error) {
      this.fallbackState = "failed";
      container.dataset.fallback = "failed";
      this.say("fallback", `Scoop's own base map could not load: ${error.message}`);
    }
  }

  drawGraticule() {
    const zoom = this.map.getZoom();
    if (this.base !== "fallback" || !Number.isFinite(zoom)) return; // no view yet: start() draws it
    const step = graticuleStep(zoom);
    const bounds = this.map.getBounds().pad(0.5);
    const floor = (v) => Math.floor(v / step) * step;
    const south = Math.max(-85, floor(bounds.getSouth()));
    const north = Math.min(85, bounds.getNorth());
    const west = Math.max(-540, floor(bounds.getWest()));
    const east = Math.min(540, bounds.getEast());
    const lines = [];
    for (let lon = west; lon <= east && lines.length < 400; lon += step) lines.push([[south, lon], [north, lon]]);
    for (let lat = south; lat <= north && lines.length < 800; lat += step) lines.push([[lat, west], [lat, east]]);
    this.graticule.clearLayers();
    this.graticule.addLayer(L.polyline(lines, {
      pane: "fallback", renderer: this.fallbackRenderer, interactive: false, className: "graticule",
      color: "#9fb6c9", weight: 0.6, opacity: 0.8,
    }));
    this.graticuleStep = step;
    this.map.getContainer().dataset.graticule = String(step);
    if (this.legendBase && this.legendBase.dataset.step !== String(step)) this.showLegend();
  }

  target() {
    return this.targetSelect.value;
  }

  view() {
    const center = this.map.getCenter();
    return { lat: center.lat, lon: center.lng, zoom: this.map.getZoom() };
  }

  // Where the map starts: the URL's view, else the recorded routes, else the world.
  start(view) {
    if (view) this.map.setView([view.lat, view.lon], view.zoom, { animate: false });
    else if (this.context.map.bounds) this.map.fitBounds(this.context.map.bounds, { padding: [20, 20], animate: false });
    else this.map.setView([WORLD.lat, WORLD.lon], WORLD.zoom, { animate: false });
  }

  say(key, text) {
    if (text) this.messages.set(key, text);
    else this.messages.delete(key);
    replace(this.note, ...[...this.messages.values()].map((message) => el("p", {}, message)));
    this.note.hidden = this.messages.size === 0;
  }

  setDrawing(on) {
    this.drawing = on;
    this.drawButton.setAttribute("aria-pressed", String(on));
    this.container.classList.toggle("drawing", on);
  }

  // The query's bbox, drawn as the area; null removes it.
  showArea(bbox) {
    if (this.area) this.area.remove();
    this.area = null;
    this.clearButton.hidden = !bbox;
    if (!bbox) {
      this.showLegend();
      return;
    }
    const [west, south, east, north] = bbox;
    this.area = L.rectangle([[south, west], [north, east]], {
      color: AREA_COLOR, weight: 2, fill: true, fillOpacity: 0.06, dashArray: "6 4", interactive: false,
    }).addTo(this.map);
    this.showLegend();
  }

  listenForRectangles() {
    const container = this.map.getContainer();
    let start = null;
    let rectangle = null;
    // Captured before Leaflet's own handlers, so a rectangle drag never pans the map.
    container.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || !(event.shiftKey || this.drawing)) return;
      if (event.target.closest(".leaflet-control")) return;
      event.preventDefault();
      event.stopPropagation();
      container.setPointerCapture(event.pointerId);
      start = this.map.mouseEventToLatLng(event);
      rectangle = L.rectangle([start, start], { color: "#1565c0", weight: 2, dashArray: "4 3", interactive: false })
        .addTo(this.map);
    }, true);
    container.addEventListener("pointermove", (event) => {
      if (!start) return;
      event.stopPropagation();
      rectangle.setBounds(L.latLngBounds(start, this.map.mouseEventToLatLng(event)));
    }, true);
    container.addEventListener("pointerup", (event) => {
      if (!start) return;
      event.stopPropagation();
      const bounds = L.latLngBounds(start, this.map.mouseEventToLatLng(event));
      rectangle.remove();
      start = null;
      rectangle = null;
      this.setDrawing(false);
      const size = this.map.latLngToContainerPoint(bounds.getNorthEast())
        .subtract(this.map.latLngToContainerPoint(bounds.getSouthWest()));
      if (Math.abs(size.x) < 4 || Math.abs(size.y) < 4) return; // a click, not a rectangle
      this.onBbox([bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]);
    }, true);
  }

  // request: {q, filters, schema, gap_s}; the geo layer follows it. searched: the search
  // of the same request, when they ask at once (its refusal is reported there, not here).
  setQuery(request, searched = null) {
    this.request = request;
    this.refresh(searched);
  }

  // No counts while the page waits for an answer, or after a query the server refused:
  // the last query's cells never stay beside another query's totals.
  pending() {
    this.latest.next();
    this.request = null; // a pan meanwhile must not count for the last query
    this.setCells(null, "loading");
  }

  blocked(message) {
    this.latest.next();
    this.request = null;
    this.setCells(null, "error", message);
  }

  async refresh(searched = null) {
    if (!this.request || !this.available) return;
    const signal = this.latest.next();
    const bounds = this.map.getBounds();
    const zoom = this.map.getZoom();
    const body = {
      ...this.request,
      bbox: [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map((v) => Math.round(v * 1e6) / 1e6),
      zoom,
      target: this.target(),
      format: "cells",
    };
    this.setCells(null, "loading");
    try {
      const answer = await apiPost(`${this.context.urls.stats}geo/`, body, { signal });
      this.say("geo", null);
      this.setCells(answer, "ready", null, zoom);
    } catch (error) {
      if (isAbort(error) || (await refusedBy(searched, error))) return;
      if (error instanceof ApiError && error.status === 404 && !error.fromApi) {
        this.available = false;
        this.say("geo", "Location statistics unavailable: this server does not offer /api/v1/stats/geo/ yet. "
          + "The grey lines are where the videos were recorded; drawing an area still filters the query.");
        this.setCells(null, "unavailable");
      } else {
        this.setCells(null, "error", `No location counts: ${error.message}`);
      }
    }
  }

  setCells(collection, state, message = null, zoom = this.map.getZoom()) {
    const container = this.map.getContainer();
    this.state = state;
    this.answer = collection;
    this.message = message;
    container.dataset.state = state;
    if (state === "loading") container.setAttribute("aria-busy", "true");
    else container.removeAttribute("aria-busy");
    this.cells.clearLayers();
    const features = collection?.features || [];
    this.max = Math.max(0, ...features.map((feature) => feature.properties?.count || 0));
    const bubbles = zoom < CLUSTER_BELOW_ZOOM;
    for (const feature of features) {
      const count = feature.properties?.count || 0;
      const square = L.geoJSON(feature).getBounds();
      const tip = el("span", {}, `${formatCount(count)} ${this.targetText()} in this cell; click to list its clips`);
      const layer = bubbles ? this.bubble(square.getCenter(), count) : L.rectangle(square, {
        fillColor: shade(count, this.max), fillOpacity: 0.75, color: "#a63603", weight: 0.6, className: "cell",
      });
      layer.bindTooltip(tip);
      layer.on("click", () => this.onBbox(cellBbox(square), CELL_DIGITS));
      this.cells.addLayer(layer);
    }
    container.dataset.cells = String(features.length);
    container.dataset.cellStyle = bubbles ? "bubbles" : "squares";
    this.showLegend();
  }

  // A cell drawn as a bubble with its count, sized on a log scale.
  bubble(center, count) {
    const size = Math.round(22 + 14 * (this.max ? Math.log1p(count) / Math.log1p(this.max) : 0));
    const fill = shade(count, this.max);
    // Black reads on every shade but the darkest (at least 4.5:1), white on that one.
    const ink = fill === SCALE[SCALE.length - 1] ? "#fff" : "#000";
    const label = el("span", { style: { background: fill, color: ink } }, formatCount(count));
    label.dataset.count = String(count);
    return L.marker(center, {
      icon: L.divIcon({ className: "cell-bubble", html: label, iconSize: [size, size] }),
      keyboard: true,
      title: "",
      alt: `${formatCount(count)} ${this.targetText()}`,
    });
  }

  targetText() {
    return this.target() === "objects" ? "matching objects" : "matching frames";
  }

  // One line per layer: the cells (or why there are none), the routes, the area, the base.
  showLegend() {
    const swatches = SCALE.map((color) => el("i", { class: "swatch", style: { background: color } }));
    const cells = {
      idle: [el("span", {}, "Counting...")],
      loading: [el("span", { class: "busy" }, "Counting...")],
      unavailable: [el("span", {}, "Location counts unavailable on this server")],
      error: [el("span", {}, this.message || "No counts: the query is in error")],
      ready: this.max
        ? [el("span", {}, `${this.targetText()} per ${this.container.dataset.cellStyle === "bubbles" ? "merged cell" : "cell"}: 1`),
          ...swatches, el("span", {}, formatCount(this.max))]
        : [el("span", {}, `No ${this.targetText()} with a location in this view`)],
    }[this.state];
    const routes = el("li", { dataset: { layer: "routes" } },
      el("i", { class: "route-line" }), el("i", { class: "route-dot" }),
      `Recorded routes (${this.context.map.routes.length}; dot: where one starts)`);
    const area = this.area ? el("li", { dataset: { layer: "area" } }, el("i", { class: "area-box" }),
      "The query's area, bbox(...)") : null;
    this.legendBase = el("li", { dataset: { layer: "base", step: String(this.graticuleStep ?? "") } },
      this.base === "tiles"
        ? "Base map: tiles (see the credit below)"
        : [el("i", { class: "land-box" }), "Land and borders: Natural Earth 1:50m; graticule every ",
          `${this.graticuleStep ?? "?"}\u00b0`]);
    this.legend.hidden = false;
    replace(this.legend, el("ul", {},
      el("li", { dataset: { layer: "cells", state: this.state } }, ...cells), routes, area, this.legendBase));
  }
}
