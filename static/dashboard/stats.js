// The statistics panel: occurrence bar charts per facet, a co-occurrence
// heatmap and time histograms from /api/v1/stats/*, drawn with the locally
// served plotly.js. Clicking a bar (or a heatmap cell) adds its value(s) as
// sidebar filters. An endpoint that answers 404 is not on this server yet:
// the panel says so and the rest of the page works on.

import { ApiError, apiPost, isAbort, Latest, loadScript, refusedBy } from "./api.js";
import { el, formatCount, notice, replace } from "./dom.js";

const CHART_HEIGHT = 210;
const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
const BAR_COLOR = "#3b7dd8";
const FONT = { family: "system-ui, sans-serif", size: 11, color: "#1d2330" };

// The categorical attribute facets of one object label each (not the review facet of every label).
function labelFacets(facets) {
  return facets.filter((facet) => facet.kind === "object" && facet.label && !facet.boolean);
}

export class StatsPanel {
  constructor(root, context, { onAddFilters, onChange, onPickTime }) {
    this.root = root;
    this.onPickTime = onPickTime; // ({from, to}): ISO 8601 UTC ends of a brushed range
    this.body = root.querySelector("#stats-body");
    this.context = context;
    this.onAddFilters = onAddFilters; // ([[key, value], ...])
    this.onChange = onChange; // (patch of state: tab, charts, co)
    this.latest = new Latest();
    this.missing = new Set(); // endpoints that answered 404
    this.state = null;
    this.request = null;
    for (const tab of root.querySelectorAll('[role="tab"]')) {
      tab.addEventListener("click", () => this.onChange({ tab: tab.dataset.tab }));
    }
    this.chartAdd = root.querySelector("#chart-add");
    this.chartAdd.addEventListener("change", () => {
      const key = this.chartAdd.value;
      if (key) this.onChange({ charts: [...this.charts(), key] });
    });
    this.coA = root.querySelector("#co-a");
    this.coB = root.querySelector("#co-b");
    this.coScope = root.querySelector("#co-scope");
    const facetOptions = Object.values(context.facets).map((facet) => el("option", { value: facet.key }, facet.title));
    this.coA.append(...facetOptions.map((option) => option.cloneNode(true)));
    this.coB.append(...facetOptions);
    for (const select of [this.coA, this.coB, this.coScope]) {
      select.addEventListener("change", () => this.onChange({
        co: { a: this.coA.value, b: this.coB.value, scope: this.coScope.value },
      }));
    }
  }

  // The default charts: the first three categorical object attributes (make, type, colour);
  // not the review facet (an attribute of every label, label null), which the sidebar shows.
  defaultCharts() {
    const facets = Object.values(this.context.facets);
    const objects = labelFacets(facets).map((facet) => facet.key);
    return (objects.length ? objects : facets.map((facet) => facet.key)).slice(0, 3);
  }

  charts() {
    return (this.state.charts || this.defaultCharts()).filter((key) => this.context.facets[key]);
  }

  cooccurrence() {
    if (this.state.co) return this.state.co;
    const objects = labelFacets(Object.values(this.context.facets));
    const a = objects[0] || Object.values(this.context.facets)[0];
    const b = objects.find((facet) => facet !== a && facet.label === a.label) || objects[1] || a;
    return { a: a.key, b: b.key, scope: a.kind === "object" && b.label === a.label ? "object" : "frame" };
  }

  // state: the page state; request: {q, filters, schema, gap_s}; searched: the search of
  // the same request, when they ask at once (its refusal is reported there, not here).
  async refresh(state, request, searched = null) {
    this.state = state;
    this.request = request;
    const tab = ["occurrence", "cooccurrence", "timeline"].includes(state.tab) ? state.tab : "occurrence";
    for (const button of this.root.querySelectorAll('[role="tab"]')) {
      button.setAttribute("aria-selected", String(button.dataset.tab === tab));
    }
    for (const tools of this.root.querySelectorAll(".panel-tools")) tools.hidden = tools.dataset.for !== tab;
    this.fillChartAdd();
    const co = this.cooccurrence();
    this.coA.value = co.a;
    this.coB.value = co.b;
    this.coScope.value = co.scope;
    const signal = this.latest.next();
    this.body.setAttribute("aria-busy", "true");
    this.body.dataset.state = "loading";
    replace(this.body, notice("loading", "Counting..."));
    try {
      if (tab === "occurrence") await this.occurrence(signal);
      else if (tab === "cooccurrence") await this.heatmap(co, signal);
      else await this.timeline(signal);
    } catch (error) {
      if (isAbort(error) || (await refusedBy(searched, error))) return;
      this.failed(error, tab);
    } finally {
      if (!signal.aborted) this.body.removeAttribute("aria-busy");
    }
  }

  // While the search runs: no chart of the last query stays on screen.
  pending() {
    this.latest.next();
    this.body.setAttribute("aria-busy", "true");
    this.body.dataset.state = "loading";
    replace(this.body, notice("loading", "Counting..."));
  }

  // After a query the server refused: no chart at all, and why.
  blocked(message) {
    this.latest.next();
    this.body.removeAttribute("aria-busy");
    this.body.dataset.state = "error";
    replace(this.body, notice("error", "No statistics.", message));
  }

  fillChartAdd() {
    const shown = new Set(this.charts());
    replace(this.chartAdd, el("option", { value: "" }, "choose a facet"),
      ...Object.values(this.context.facets).filter((facet) => !shown.has(facet.key))
        .map((facet) => el("option", { value: facet.key }, facet.title)));
  }

  endpoint(name) {
    return `${this.context.urls.stats}${name}/`;
  }

  async post(name, body, signal) {
    // Asked once: an endpoint this server does not have stays unavailable until a reload.
    if (this.missing.has(name)) throw new ApiError(404, { detail: "not on this server" }, false);
    try {
      return await apiPost(this.endpoint(name), { ...this.request, ...body }, { signal });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && !error.fromApi) this.missing.add(name);
      throw error;
    }
  }

  failed(error, tab) {
    this.body.dataset.state = "unavailable";
    const what = { occurrence: "occurrence", cooccurrence: "cooccurrence", timeline: "timeline" }[tab];
    if (error instanceof ApiError && error.status === 404 && !error.fromApi) {
      replace(this.body, notice("unavailable", "Statistics unavailable.",
        `This server does not offer ${this.endpoint(what)} yet. Totals, facets, clips and the map filter still work.`));
    } else if (error instanceof ApiError && error.status === 400) {
      this.body.dataset.state = "error";
      replace(this.body, notice("error", "No statistics for this query.", error.message));
    } else {
      this.body.dataset.state = "error";
      replace(this.body, notice("error", "Statistics failed.", error.message));
    }
  }

  async plotly() {
    if (!window.Plotly) await loadScript(document.getElementById("assets").dataset.plotly);
    return window.Plotly;
  }

  valueOf(key, category) {
    const facet = this.context.facets[key];
    const text = String(category);
    const found = facet?.values.find((value) => value.value === text || value.text === text);
    return found ? found.value : null;
  }

  async occurrence(signal) {
    const keys = this.charts();
    if (!keys.length) {
      this.body.dataset.state = "empty";
      replace(this.body, notice("empty", "No charts.", "Add a chart with the menu above."));
      return;
    }
    const body = { facets: keys, figure: true };
    if (this.state.unit) body.unit = this.state.unit;
    const answer = await this.post("occurrence", body, signal);
    const Plotly = await this.plotly();
    if (signal.aborted) return;
    const charts = keys.map((key) => {
      const plot = el("div", { class: "plot", dataset: { facet: key } });
      const box = el("figure", { class: "chart" },
        el("figcaption", {}, this.context.facets[key].title,
          el("span", { class: "muted" }, `: ${answer.unit || this.state.unit} in the matching frames, per value`),
          el("button", {
            type: "button",
            class: "remove",
            "aria-label": `Remove the ${this.context.facets[key].title} chart`,
            onclick: () => this.onChange({ charts: keys.filter((other) => other !== key) }),
          }, "\u00d7")),
        plot);
      return { key, plot, box };
    });
    replace(this.body, el("div", { class: "charts" }, ...charts.map((chart) => chart.box)));
    this.body.dataset.state = "ready";
    for (const { key, plot } of charts) {
      const figure = answer.figures?.[key] || this.barFigure(key, answer.counts?.[key] || {}, answer.unit);
      await Plotly.react(plot, figure.data, this.layout(figure.layout, CHART_HEIGHT), PLOT_CONFIG);
      plot.on("plotly_click", (event) => {
        const point = event.points[0];
        const category = point.customdata ?? (point.data.orientation === "h" ? point.y : point.x);
        const value = this.valueOf(key, category);
        if (value !== null) this.onAddFilters([[key, value]]);
      });
    }
  }

  layout(layout = {}, height) {
    const { title: _title, width: _width, ...rest } = layout;
    return {
      ...rest,
      height,
      autosize: true,
      font: FONT,
      margin: { l: 56, r: 8, t: 8, b: 64 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
    };
  }

  barFigure(key, counts, unit) {
    const values = this.context.facets[key].values;
    return {
      data: [{
        type: "bar",
        x: values.map((value) => value.text),
        y: values.map((value) => counts[value.value] ?? 0),
        customdata: values.map((value) => value.value),
        marker: { color: BAR_COLOR },
        hovertemplate: "%{x}: %{y}<extra>click to filter</extra>",
      }],
      layout: {
        xaxis: { type: "category", automargin: true, title: { text: this.context.facets[key].title } },
        yaxis: { rangemode: "tozero", title: { text: unit } },
      },
    };
  }

  async heatmap(co, signal) {
    const answer = await this.post("cooccurrence", { a: co.a, b: co.b, scope: co.scope, figure: true }, signal);
    const Plotly = await this.plotly();
    if (signal.aborted) return;
    const plot = el("div", { class: "plot heatmap" });
    replace(this.body, el("p", { class: "muted small heatmap-caption" }, heatmapCaption(answer, co, this.context.facets)),
      plot);
    this.body.dataset.state = "ready";
    const figure = answer.figure || this.heatmapFigure(answer, co);
    await Plotly.react(plot, figure.data, this.layout(figure.layout, 300), PLOT_CONFIG);
    plot.on("plotly_click", (event) => {
      const point = event.points[0];
      const row = this.valueOf(co.a, point.y);
      const col = this.valueOf(co.b, point.x);
      const picked = [];
      if (row !== null) picked.push([co.a, row]);
      if (col !== null) picked.push([co.b, col]);
      if (picked.length) this.onAddFilters(picked);
    });
  }

  heatmapFigure(answer, co) {
    const text = (key, value) => this.context.facets[key]?.values.find((v) => v.value === String(value))?.text ?? value;
    const lift = answer.lift || [];
    return {
      data: [{
        type: "heatmap",
        x: answer.cols.map((value) => text(co.b, value)),
        y: answer.rows.map((value) => text(co.a, value)),
        z: answer.matrix,
        customdata: answer.matrix.map((row, i) => row.map((_n, j) => {
          const x = lift[i]?.[j];
          return x === null || x === undefined ? "n/a" : x.toFixed(2);
        })),
        colorscale: "Blues",
        texttemplate: "%{z}",
        hovertemplate: `%{y} with %{x}<br>count %{z} ${SCOPE_UNITS[co.scope] || co.scope}<br>lift %{customdata}<extra></extra>`,
      }],
      layout: {
        xaxis: { type: "category", automargin: true, title: { text: this.context.facets[co.b]?.title } },
        yaxis: { type: "category", automargin: true, title: { text: this.context.facets[co.a]?.title } },
      },
    };
  }

  async timeline(signal) {
    const body = this.state.unit ? { unit: this.state.unit } : {};
    const answer = await this.post("timeline", body, signal);
    const Plotly = await this.plotly();
    if (signal.aborted) return;
    const videoTime = el("div", { class: "plot", dataset: { axis: "video_time" } });
    const wallClock = el("div", { class: "plot", dataset: { axis: "wall_clock" } });
    const wall = answer.wall_clock || {};
    const focus = wall.focus;
    const clock = (focus ? focus.bins : wall.bins) || [];
    const outside = focus
      ? el("p", { class: "muted small outside", dataset: { frames: String(focus.outside.frames) } },
        `${formatCount(focus.outside.frames)} frames outside this range (recorded between `
        + `${focus.outside.earliest.slice(0, 10)} and ${focus.outside.latest.slice(0, 10)}), left out so that the rest stays readable.`)
      : null;
    const unplaced = wall.unplaced ? el("p", { class: "muted small" },
      `${formatCount(wall.unplaced)} matching frames of videos with no recorded time are not on this chart.`) : null;
    replace(this.body, el("div", { class: "charts" },
      el("figure", { class: "chart" }, el("figcaption", {}, "Matching frames over video time",
        el("span", { class: "muted" }, ": frames per bin, by seconds from each video's start")), videoTime),
      el("figure", { class: "chart" }, el("figcaption", {}, "Matching frames over recorded time",
        el("span", { class: "muted" }, `: frames per ${(focus ? focus.bin : wall.bin) || "bin"} (UTC); drag across to pick that time range`)),
      wallClock, outside, unplaced)));
    this.body.dataset.state = "ready";
    const bins = answer.video_time?.bins || [];
    await Plotly.react(videoTime, [{
      type: "bar",
      x: bins.map((bin) => bin.start_s),
      y: bins.map((bin) => bin.count),
      marker: { color: BAR_COLOR },
      hovertemplate: "%{x}s: %{y} frames<extra></extra>",
    }], this.layout({
      bargap: 0.05,
      xaxis: { title: { text: "seconds from the video's start" } },
      yaxis: { title: { text: "matching frames" }, rangemode: "tozero" },
    }, CHART_HEIGHT), PLOT_CONFIG);
    await Plotly.react(wallClock, [{
      type: "bar",
      x: clock.map((bin) => bin.start),
      y: clock.map((bin) => bin.count),
      marker: { color: "#6a51a3" },
      hovertemplate: "%{x}: %{y} frames<extra></extra>",
    }], this.layout({
      bargap: 0.05,
      dragmode: "select",
      selectdirection: "h",
      xaxis: { type: "date", title: { text: "recorded time (UTC)" } },
      yaxis: { title: { text: "matching frames" }, rangemode: "tozero", fixedrange: true },
    }, CHART_HEIGHT), { ...PLOT_CONFIG, modeBarButtonsToRemove: ["lasso2d"] });
    // Brushing: the dragged range becomes the dashboard's time range.
    wallClock.on("plotly_selected", (event) => {
      const range = event?.range?.x;
      if (!range) return;
      const [from, to] = range.map((end) => new Date(`${String(end).replace(" ", "T")}Z`).toISOString());
      this.onPickTime({ from, to });
    });
  }
}

// What the heatmap counts: the unit of its scope, having both values; what the cells add
// up to, and the whole population the lift compares with.
const SCOPE_UNITS = { object: "objects", frame: "matching frames", clip: "clips" };

function heatmapCaption(answer, co, facets) {
  const unit = SCOPE_UNITS[co.scope] || co.scope;
  const cells = (answer.matrix || []).flat().reduce((sum, n) => sum + n, 0);
  const where = co.scope === "object" ? " (detections in the matching frames)" : co.scope === "clip" ? " (of the matching frames)" : "";
  return `Each cell: ${unit}${where} with that ${facets[co.a]?.title ?? co.a} (row) and that `
    + `${facets[co.b]?.title ?? co.b} (column). The cells add up to ${formatCount(cells)}; `
    + `lift compares with all ${formatCount(answer.total)} ${unit}. Click a cell to filter by both values.`;
}
