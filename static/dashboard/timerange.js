// The time-range picker: presets (last hour, 24 hours, 7 days, 30 days, all) and a
// custom range; brushing the recorded-time chart sets a custom range too. The range
// lives in the URL (state.time) and reaches the server as one query term, built by
// timeTerm() alone: `clock`, each frame's wall-clock time (its video's recorded_at plus
// the frame's offset, docs/guide/query-language.md), in UTC ("Z") whatever the deployment's zone.

const PRESET_S = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
export const TIME_PRESETS = Object.keys(PRESET_S);

// "2026-03-02T08:00:00Z" -> "2026-03-02T08:00:00": UTC, to the second, as the query language takes it.
function isoSecond(date) {
  return date.toISOString().slice(0, 19);
}

// state.time: null (all), {preset: "24h"}, or {from, to} (ISO 8601, UTC; either may be "").
// Returns [from, to] as Date-free strings, or null for all times.
export function timeBounds(time, now = new Date()) {
  if (!time) return null;
  if (time.preset) {
    const seconds = PRESET_S[time.preset];
    return seconds ? [isoSecond(new Date(now.getTime() - seconds * 1000)), isoSecond(now)] : null;
  }
  const from = time.from ? isoSecond(new Date(`${time.from.replace(/Z$/, "")}Z`)) : "";
  const to = time.to ? isoSecond(new Date(`${time.to.replace(/Z$/, "")}Z`)) : "";
  return from || to ? [from, to] : null;
}

// The one place the filter is written.
export function timeTerm(time, now = new Date()) {
  const bounds = timeBounds(time, now);
  if (!bounds) return "";
  const [from, to] = bounds;
  if (from && to) return `clock=${from}Z..${to}Z`;
  return from ? `clock>=${from}Z` : `clock<=${to}Z`;
}

// "time" in the URL: "24h", or "FROM..TO" (either end may be empty).
export function parseTime(text) {
  if (!text) return null;
  if (TIME_PRESETS.includes(text)) return { preset: text };
  const match = /^([\dT:.-]*)\.\.([\dT:.-]*)$/.exec(text);
  return match && (match[1] || match[2]) ? { from: match[1], to: match[2] } : null;
}

export function timeText(time) {
  if (!time) return "";
  return time.preset || `${time.from || ""}..${time.to || ""}`;
}

export class TimeRange {
  constructor({ preset, custom, from, to, apply, term }, { onChange }) {
    Object.assign(this, { preset, custom, from, to, term });
    preset.addEventListener("change", () => {
      custom.hidden = preset.value !== "custom";
      if (preset.value === "custom") {
        from.focus();
        return;
      }
      onChange(preset.value ? { preset: preset.value } : null);
    });
    // A datetime-local input leaves out ":00" seconds: the range keeps them, as the address shows it.
    const seconds = (value) => (value.length === 16 ? `${value}:00` : value);
    apply.addEventListener("click", () => {
      onChange(from.value || to.value ? { from: seconds(from.value), to: seconds(to.value) } : null);
    });
  }

  show(time) {
    this.preset.value = !time ? "" : time.preset || "custom";
    this.custom.hidden = !time || Boolean(time.preset);
    if (time && !time.preset) {
      this.from.value = (time.from || "").slice(0, 19);
      this.to.value = (time.to || "").slice(0, 19);
    }
    this.term.textContent = timeTerm(time);
  }
}
