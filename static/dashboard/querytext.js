// The query bar's text form (indexer/query/text.py), as far as the browser
// needs it: writing sidebar filters as text, the map's bbox(...) term, and
// what to complete at the cursor. The server parses and checks every query.
//
// How the sidebar and the query bar stay in sync (one simple rule):
// - the query text is yours: the sidebar never rewrites it, and it never
//   ticks sidebar boxes;
// - sidebar selections are `filters`, sent beside the text and AND-ed with it
//   by the server; each facet's selection is shown under the query bar as a
//   chip holding its text form (e.g. `vehicle(color=black|red)`,
//   `NOT person`); removing a chip unticks those values;
// - "Move into the query text" ANDs the chips onto the text and clears the
//   sidebar: the same query, now all editable as text;
// - the map's rectangle is the text's first `bbox(...)` term: drawing replaces
//   it (or ANDs one on), "Clear area" removes it.

const BARE_NAME = /^[\p{L}\p{N}_-]+$/u;
const BARE_VALUE = /^[\p{L}\p{N}_:-]+(?:\.[\p{L}\p{N}_:-]+)*$/u;
const NUMBER = /^-?[0-9]+(?:\.[0-9]+)?(?:[eE]-?[0-9]+)?$/;
const KEYWORDS = new Set(["and", "or", "not", "bbox", "polygon", "then", "within", "for", "gap", "in", "zone"]);
export const OPERATORS = ["AND", "OR", "NOT"];
// What may follow a finished term besides the boolean operators: a sequence, a dwell, a zone.
const TIME_OPERATORS = [
  { insert: "THEN ", text: "THEN ... WITHIN", kind: "sequence" },
  { insert: "FOR >= ", text: "FOR >= (dwell)", kind: "dwell" },
  { insert: "IN ZONE ", text: "IN ZONE", kind: "zone" },
];
const DURATIONS = ["5s", "10s", "30s", "1m", "5m"];
const CYCLES = {
  hour: Array.from({ length: 24 }, (_, hour) => String(hour)),
  weekday: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
};

function quoted(text) {
  return `"${String(text).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function nameText(name, reserved = []) {
  const text = String(name);
  const lowered = text.toLowerCase();
  return BARE_NAME.test(text) && !KEYWORDS.has(lowered) && !reserved.includes(lowered) ? text : quoted(text);
}

// A value as text: booleans of a boolean facet stay bare, any other value that
// would read as a number or boolean is quoted to stay a string.
export function valueText(value, boolean = false) {
  const text = String(value);
  if (boolean) return text;
  const typed = NUMBER.test(text) || ["true", "false"].includes(text.toLowerCase());
  return BARE_VALUE.test(text) && !typed ? text : quoted(text);
}

function anyOf(parts) {
  return parts.length === 1 ? parts[0] : `(${parts.join(" OR ")})`;
}

// The text form of "any of these values" of one facet (indexer/facets.py Facet.node).
export function facetText(facet, values) {
  const list = values.map((value) => valueText(value, facet.boolean)).join("|");
  switch (facet.kind) {
    case "label":
      return anyOf(values.map((value) => nameText(value)));
    case "object":
      // A facet of any label (review) is the any-label predicate *(...).
      return `${facet.label ? nameText(facet.label) : "*"}(${nameText(facet.attr, ["confidence", "track"])}=${list})`;
    case "event":
      if (!facet.attr) return anyOf(values.map((value) => `event:${nameText(value)}`));
      return `event:${nameText(facet.label)}(${nameText(facet.attr)}=${list})`;
    default:
      return `${facet.kind}.${nameText(facet.attr)}=${list}`;
  }
}

// One chip per facet and polarity: {key, negated, values, text}.
export function filterChips(filters, catalog) {
  const chips = [];
  for (const [key, values] of Object.entries(filters)) {
    const facet = catalog[key];
    if (!facet) continue;
    const included = values.filter((value) => !value.startsWith("!"));
    const excluded = values.filter((value) => value.startsWith("!")).map((value) => value.slice(1));
    if (included.length) chips.push({ key, negated: false, values: included, text: facetText(facet, included) });
    if (excluded.length) {
      const text = facetText(facet, excluded);
      chips.push({ key, negated: true, values: excluded, text: `NOT ${text}` });
    }
  }
  return chips;
}

function grouped(text) {
  return /\bor\b/i.test(text) ? `(${text})` : text;
}

// `a AND b`, with `a` parenthesized when it has an OR (AND binds tighter).
export function andText(left, right) {
  const a = left.trim();
  const b = right.trim();
  if (!a) return b;
  if (!b) return a;
  return `${grouped(a)} AND ${grouped(b)}`;
}

const BBOX = /\bbbox\s*\(\s*(-?[\d.]+(?:e-?\d+)?)\s*,\s*(-?[\d.]+(?:e-?\d+)?)\s*,\s*(-?[\d.]+(?:e-?\d+)?)\s*,\s*(-?[\d.]+(?:e-?\d+)?)\s*\)/i;

export function bboxOf(text) {
  const match = BBOX.exec(text);
  if (!match) return null;
  const bbox = match.slice(1, 5).map(Number);
  return bbox.every(Number.isFinite) ? bbox : null;
}

// Degrees to `digits` decimals: 5 (about 1 m) for a drawn box; a map cell's edges take 7
// (about 1 cm), since its neighbours' frames may lie a metre away.
export function bboxText(bbox, digits = 5) {
  const scale = 10 ** digits;
  return `bbox(${bbox.map((v) => String(Math.round(v * scale) / scale)).join(", ")})`;
}

export function withBbox(text, bbox, digits = 5) {
  if (BBOX.test(text)) return text.replace(BBOX, bboxText(bbox, digits));
  return andText(text, bboxText(bbox, digits));
}

export function withoutBbox(text) {
  const term = BBOX.source;
  for (const pattern of [`\\s*\\bAND\\s+${term}`, `${term}\\s+AND\\s+`, term]) {
    const regex = new RegExp(pattern, "i");
    if (regex.test(text)) return text.replace(regex, "").trim();
  }
  return text;
}

// The offending stretch at an error position: the word there, or one character.
export function errorSpan(text, position) {
  if (position >= text.length) return [text.length, text.length];
  const word = /^[\p{L}\p{N}_:.-]+/u.exec(text.slice(position));
  return [position, position + (word ? word[0].length : 1)];
}

// --- completion ---

function openParens(before) {
  // The "(" still open at the cursor, skipping quoted strings.
  const stack = [];
  let quote = null;
  for (let i = 0; i < before.length; i += 1) {
    const ch = before[i];
    if (quote) {
      if (ch === "\\") i += 1;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "(") stack.push(i);
    else if (ch === ")") stack.pop();
  }
  return { stack, inQuote: quote !== null };
}

function unquote(word) {
  return /^["'].*["']$/.test(word) ? word.slice(1, -1) : word;
}

// What to complete at the end of `before` (the text up to the cursor):
// {prefix, items: [{insert, text, kind}]}; items are filtered by the prefix, and
// what is typed in full is not offered again, so a finished term offers nothing.
export function completions(before, vocabulary) {
  const prefixMatch = /[\p{L}\p{N}_-]*$/u.exec(before);
  const prefix = prefixMatch[0];
  const head = before.slice(0, before.length - prefix.length);
  const { stack, inQuote } = openParens(head);
  // Inside a quoted string, or right after a finished term (`vehicle(color=red)`,
  // `video.name="cam"`): nothing to offer until a space asks for an operator.
  if (inQuote || /[)"']$/.test(head)) return { prefix, items: [] };
  const items = contextItems(head, stack, vocabulary);
  const lowered = prefix.toLowerCase();
  const starts = items.filter((item) => item.insert.toLowerCase().startsWith(lowered));
  const inside = lowered ? items.filter((item) => !starts.includes(item) && item.insert.toLowerCase().includes(lowered)) : [];
  const shown = [...starts, ...inside].filter((item) => item.insert !== prefix);
  return { prefix, items: shown.slice(0, 12) };
}

function labelBefore(head, parenIndex, vocabulary) {
  const match = /(?:(event)\s*:\s*)?("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[\p{L}\p{N}_-]+|\*)\s*$/u.exec(head.slice(0, parenIndex));
  if (!match) return null;
  const name = unquote(match[2]);
  if (match[1]) return { kind: "event", attrs: vocabulary.events[name] || {} };
  const label = vocabulary.objects[name] ? name : vocabulary.synonyms[name];
  if (label && vocabulary.objects[label]) return { kind: "object", attrs: vocabulary.objects[label] };
  if (name === "*") {
    const attrs = {};
    for (const spec of Object.values(vocabulary.objects)) Object.assign(attrs, spec);
    return { kind: "object", attrs };
  }
  return null;
}

function valueItems(values) {
  return (values || []).map((value) => ({ insert: valueText(value, value === "true" || value === "false"), text: value, kind: "value" }));
}

function attrItems(attrs, kind) {
  // Numeric attributes take a range: offer ">=" rather than "=".
  return Object.keys(attrs).map((name) => ({ insert: `${nameText(name)}${attrs[name] === null ? ">=" : "="}`, text: name, kind }));
}

function contextItems(head, stack, vocabulary) {
  const innermost = stack.length ? stack[stack.length - 1] : -1;
  const label = innermost >= 0 ? labelBefore(head, innermost, vocabulary) : null;
  if (label) {
    // Inside label(...): attribute names, or values after "name=".
    const segment = head.slice(Math.max(innermost, head.lastIndexOf(",")) + 1);
    const value = /^\s*([\p{L}\p{N}_-]+)\s*=\s*(?:[^|,]*\|)*\s*$/u.exec(segment);
    if (value) return valueItems(label.attrs[value[1]]);
    if (/^\s*$/.test(segment)) {
      const extra = label.kind === "object" ? [{ insert: "confidence>=", text: "confidence", kind: "attribute" }] : [];
      return [...attrItems(label.attrs, "attribute"), ...extra];
    }
    return [];
  }
  const qualified = /\b(frame|video)\.$/i.exec(head);
  if (qualified) return attrItems(vocabulary[qualified[1].toLowerCase()], "attribute");
  if (/\bevent\s*:\s*$/i.test(head)) {
    return Object.keys(vocabulary.events).map((name) => ({ insert: nameText(name), text: name, kind: "event" }));
  }
  if (/\b(?:within|gap)\s+$|\bfor\s*>=\s*$/i.test(head)) {
    return DURATIONS.map((duration) => ({ insert: `${duration} `, text: duration, kind: "duration" }));
  }
  if (/\bin\s+zone\s+$/i.test(head)) {
    return (vocabulary.zones || []).map((name) => ({ insert: nameText(name), text: name, kind: "zone" }));
  }
  const comparison = /(?:\b(frame|video)\.)?([\p{L}\p{N}_-]+)\s*=\s*(?:[^\s|()]*\|)*\s*$/u.exec(head);
  if (comparison && !comparison[1] && CYCLES[comparison[2].toLowerCase()]) {
    return valueItems(CYCLES[comparison[2].toLowerCase()]);
  }
  if (comparison) {
    const [, scope, name] = comparison;
    const values = scope ? vocabulary[scope.toLowerCase()][name] : (vocabulary.frame[name] ?? vocabulary.video[name]);
    return valueItems(values);
  }
  const afterTerm = /[\p{L}\p{N}_)"'*-]\s+$/u.test(head) && !/\b(?:and|or|not|then|in|zone)\s+$/i.test(head);
  if (afterTerm) {
    // A THEN still waiting for its WITHIN gets it first.
    const count = (word) => (head.match(new RegExp(`\\b${word}\\b`, "gi")) || []).length;
    const within = count("then") > count("within") ? [{ insert: "WITHIN ", text: "WITHIN", kind: "sequence" }] : [];
    return [...within, ...OPERATORS.map((op) => ({ insert: `${op} `, text: op, kind: "operator" })), ...TIME_OPERATORS];
  }
  const labels = Object.keys(vocabulary.objects).map((name) => ({ insert: nameText(name), text: name, kind: "label" }));
  const synonyms = Object.entries(vocabulary.synonyms)
    .filter(([, label]) => vocabulary.objects[label])
    .map(([name, label]) => ({ insert: nameText(name), text: `${name} (${label})`, kind: "synonym" }));
  const events = Object.keys(vocabulary.events).length ? [{ insert: "event:", text: "event:", kind: "event" }] : [];
  return [
    ...labels,
    ...attrItems(vocabulary.frame, "frame attribute"),
    ...attrItems(vocabulary.video, "video attribute").map((item) =>
      (vocabulary.frame[item.text] !== undefined ? { ...item, insert: `video.${item.insert}` } : item)),
    ...events,
    ...synonyms,
    { insert: "NOT ", text: "NOT", kind: "operator" },
    { insert: "COUNT(", text: "COUNT(...) >= n", kind: "count" },
    { insert: "clock=", text: "clock (wall-clock time)", kind: "time" },
    { insert: "hour=", text: "hour (of day)", kind: "time" },
    { insert: "weekday=", text: "weekday", kind: "time" },
  ];
}
