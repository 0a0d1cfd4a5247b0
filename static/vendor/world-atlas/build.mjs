// Makes the map's fallback base layer from the npm packages world-atlas 2.0.2
// (Natural Earth 1:50m, public domain) and topojson-client 3.1.0 (ISC):
//   land-50m.geojson      the land, one MultiPolygon
//   borders-50m.geojson   the land borders between countries, one MultiLineString
// Coordinates are rounded to 0.01 degree (about 1 km), finer than 1:50m's detail.
// Run by `make vendor-world` (docs/development.md), never at run time.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(join(process.argv[2], "package.json"));
const { merge, mesh } = require("topojson-client");
const topology = JSON.parse(readFileSync(require.resolve("world-atlas/countries-50m.json"), "utf8"));
const out = dirname(new URL(import.meta.url).pathname);
const round = (value) => Math.round(value * 100) / 100;
const roundAll = (coordinates) => (typeof coordinates[0] === "number" ? coordinates.map(round) : coordinates.map(roundAll));

function write(name, geometry) {
  geometry.coordinates = roundAll(geometry.coordinates);
  const collection = { type: "FeatureCollection", features: [{ type: "Feature", properties: { source: "Natural Earth 1:50m via world-atlas 2.0.2" }, geometry }] };
  writeFileSync(join(out, name), JSON.stringify(collection));
}

write("land-50m.geojson", merge(topology, topology.objects.land.geometries));
write("borders-50m.geojson", mesh(topology, topology.objects.countries, (a, b) => a !== b));
