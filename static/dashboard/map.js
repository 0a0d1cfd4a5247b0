// The map: where matching frames (or objects) were seen, as GeoJSON cells from
// /api/v1/stats/geo/ re-binned for every view (bbox + zoom on each moveend),
// over an optional tile layer (SCOOP_MAP_TILES; none by default). The routes
// the videos were recorded along are drawn underneath, so the map means
// something even with no tiles. Shift-drag, or "Draw area" then drag, draws a
// rectangle that becomes the query's bbox(...) term.

import { ApiError, apiPost, isAbort, Latest } from "./api.js";
import { debounce, el, formatCount, replace } from "./dom.js";

const WORLD = { lat: 20, lon: 0, zoom: 2 };
const SCALE = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#e6550d", "#a63603"];

function shade(count, max) {
  if (!max) return SCALE[0];
  // Log scale: a few busy cells should not wash out the rest.
  const level = Math.log1p(count) / Math.log1p(max);
  return SCALE[Math.min(SCALE.length - 1, Math.floor(level * (SCALE.length - 1) + 0.5))];
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
    this.map = L.map(container, { boxZoom: false, attributionControl: Boolean(context.map.tiles), worldCopyJump: true });
    this.map.getContainer().dataset.cells = "0";
    if (context.map.tiles) {
      L.tileLayer(context.map.tiles, { attribution: context.map.attribution, maxZoom: 19 })
        .on("tileerror", () => this.say("tiles", "Base map tiles could not load; the data layer is drawn without them."))
        .addTo(this.map);
    }
    // Each route: its line and a dot where it starts (a short route is a speck at city zoom).
    this.routes = L.layerGroup(context.map.routes.flatMap((route) => [
      L.polyline(route.points, { color: "#7a8699", weight: 3, opacity: 0.8 }),
      L.circleMarker(route.points[0], { radius: 4, color: "#5d6778", weight: 1, fillColor: "#aab3c2", fillOpacity: 0.9 }),
    ].map((layer) => layer.bindTooltip(el("span", {}, route.name), { sticky: true })))).addTo(this.map);
    this.cells = L.geoJSON(null, {
      style: (feature) => ({
        fillColor: shade(feature.properties?.count || 0, this.max),
        fillOpacity: 0.7,
        color: "#a63603",
        weight: 0.6,
      }),
      pointToLayer: (feature, latlng) => L.circleMarker(latlng, { radius: 5 }),
      onEachFeature: (feature, layer) => layer.bindTooltip(el("span", {}, `${formatCount(feature.properties?.count || 0)} ${this.target()}`)),
    }).addTo(this.map);
    this.area = null;
    this.messages = new Map();
    this.drawButton.addEventListener("click", () => this.setDrawing(!this.drawing));
    this.clearButton.addEventListener("click", () => this.onBbox(null));
    this.targetSelect.addEventListener("change", () => this.refresh());
    this.map.on("moveend", debounce(() => {
      this.onView(this.view());
      this.refresh();
    }, 250));
    this.listenForRectangles();
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
    if (!bbox) return;
    const [west, south, east, north] = bbox;
    this.area = L.rectangle([[south, west], [north, east]], {
      color: "#1565c0", weight: 2, fill: true, fillOpacity: 0.06, dashArray: "6 4", interactive: false,
    }).addTo(this.map);
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

  // request: {q, filters, schema, gap_s}; the geo layer follows it.
  setQuery(request) {
    this.request = request;
    this.refresh();
  }

  async refresh() {
    if (!this.request || !this.available) return;
    const signal = this.latest.next();
    const bounds = this.map.getBounds();
    const body = {
      ...this.request,
      bbox: [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map((v) => Math.round(v * 1e6) / 1e6),
      zoom: this.map.getZoom(),
      target: this.target(),
      format: "cells",
    };
    this.container.setAttribute("aria-busy", "true");
    try {
      const answer = await apiPost(`${this.context.urls.stats}geo/`, body, { signal });
      this.draw(answer);
      this.say("geo", null);
    } catch (error) {
      if (isAbort(error)) return;
      if (error instanceof ApiError && error.status === 404 && !error.fromApi) {
        this.available = false;
        this.say("geo", "Location statistics unavailable: this server does not offer /api/v1/stats/geo/ yet. "
          + "The grey lines are where the videos were recorded; drawing an area still filters the query.");
      } else {
        this.say("geo", `No location counts: ${error.message}`);
      }
      this.cells.clearLayers();
      this.legend.hidden = true;
    } finally {
      if (!signal.aborted) this.container.removeAttribute("aria-busy");
    }
  }

  draw(collection) {
    const features = collection?.features || [];
    this.max = Math.max(0, ...features.map((feature) => feature.properties?.count || 0));
    this.cells.clearLayers();
    this.cells.addData(features);
    this.map.getContainer().dataset.cells = String(features.length);
    if (!features.length) {
      this.legend.hidden = false;
      replace(this.legend, el("span", {}, "No matching locations in this view."));
      return;
    }
    this.legend.hidden = false;
    replace(this.legend,
      el("span", {}, `${this.target()} per cell: `),
      ...SCALE.map((color) => el("i", { class: "swatch", style: { background: color } })),
      el("span", {}, ` up to ${formatCount(this.max)}`));
  }
}
