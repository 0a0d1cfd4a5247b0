// DOM helpers. Data from the server (labels, values, video names) only ever
// becomes text: el() sets children as text nodes, never as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "style") Object.assign(node.style, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function replace(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

const NUMBER = new Intl.NumberFormat("en-US");

export function formatCount(n) {
  return n === null || n === undefined ? "-" : NUMBER.format(n);
}

// "1 event", "2 events": a count with its noun, given in the plural ("events").
export function plural(n, nouns) {
  const noun = n === 1 && nouns.endsWith("s") ? nouns.slice(0, -1) : nouns;
  return `${formatCount(n)} ${noun}`;
}

// "00:00:22.8": a position inside a video.
export function formatClock(seconds) {
  const tenths = Math.round(seconds * 10);
  const h = Math.floor(tenths / 36000);
  const m = Math.floor((tenths % 36000) / 600);
  const s = ((tenths % 600) / 10).toFixed(1).padStart(4, "0");
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${s}`;
}

// "33 ms", "4.1s", "2m 05s", "3h 02m": a length of time (one frame at 30 fps is 33 ms, not "0.0s").
export function formatDuration(seconds) {
  if (seconds > 0 && seconds < 0.1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${(Math.round(seconds * 10) / 10).toFixed(1)}s`;
  const total = Math.round(seconds);
  if (total < 3600) return `${Math.floor(total / 60)}m ${String(total % 60).padStart(2, "0")}s`;
  return `${Math.floor(total / 3600)}h ${String(Math.floor((total % 3600) / 60)).padStart(2, "0")}m`;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// A placeholder that says what is happening or what to do: loading, empty, unavailable.
export function notice(kind, title, text = "") {
  return el("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" },
    el("strong", {}, title), text ? el("span", {}, text) : null);
}
