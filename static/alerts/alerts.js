// The alerts page: GET /api/v1/alerts/ again whenever the badge's count changes (and at
// once), each alert with its thumbnail, a Play link that opens the dashboard on the saved
// search with the alert's clip playing, and an Acknowledge button.

import { apiGet, apiPost } from "../dashboard/api.js";
import { el, formatDuration, replace } from "../dashboard/dom.js";

const body = document.querySelector("#alerts tbody");
const unreadOnly = document.getElementById("alerts-unread");
let searches = new Map(); // saved search id -> its dashboard_url

function playUrl(alert) {
  const base = searches.get(alert.saved_search_id) || "/?";
  const clip = [alert.video, alert.start_s, alert.end_s].join(":");
  return `${base}${base.endsWith("?") ? "" : "&"}clip=${encodeURIComponent(clip)}`;
}

function row(alert) {
  const acknowledge = alert.acknowledged_by
    ? el("span", { class: "muted" }, `seen by ${alert.acknowledged_by}`)
    : el("button", { type: "button", onclick: () => acknowledgeAlert(alert) }, "Acknowledge");
  return el("tr", { class: alert.acknowledged_by ? "acknowledged" : "", dataset: { alert: String(alert.id) } },
    el("td", {}, el("img", { src: alert.thumbnail_url, alt: "" })),
    el("td", {}, alert.saved_search),
    el("td", {}, alert.video_name),
    el("td", {}, `${formatDuration(alert.start_s)} to ${formatDuration(alert.end_s)}`),
    el("td", {}, new Date(alert.created_at).toLocaleString()),
    el("td", {}, el("a", { class: "button play", href: playUrl(alert) }, "Play"), " ", acknowledge));
}

async function acknowledgeAlert(alert) {
  await apiPost(`/api/v1/alerts/${alert.id}/ack/`, {});
  await load();
}

async function load() {
  const params = unreadOnly.checked ? { state: "unacknowledged" } : {};
  const [answer, saved] = await Promise.all([apiGet("/api/v1/alerts/", params), apiGet("/api/v1/searches/")]);
  searches = new Map(saved.map((search) => [search.id, search.dashboard_url]));
  if (!answer.alerts.length) {
    replace(body, el("tr", {}, el("td", { colspan: "6" }, el("span", { class: "muted" }, "No alerts yet."))));
  } else {
    replace(body, ...answer.alerts.map(row));
  }
  document.body.dataset.listed = String(answer.alerts.length);
}

unreadOnly.addEventListener("change", load);
document.addEventListener("scoop:alerts", load);
load();
