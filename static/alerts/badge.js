// The top bar's alert badge: how many of the user's alerts nobody acknowledged, polled
// every 2 seconds while the page is visible, so that a new alert shows within 2 s.

import { apiGet } from "../dashboard/api.js";

const POLL_MS = 2000;
const badge = document.getElementById("alerts-badge");

async function poll() {
  if (document.visibilityState === "visible") {
    try {
      const answer = await apiGet("/api/v1/alerts/", { state: "unacknowledged", limit: 1 });
      badge.textContent = String(answer.unacknowledged);
      badge.hidden = answer.unacknowledged === 0;
      document.body.dataset.alerts = String(answer.unacknowledged);
      document.dispatchEvent(new CustomEvent("scoop:alerts", { detail: answer.unacknowledged }));
    } catch {
      // The next poll tries again; the badge keeps its last count.
    }
  }
  setTimeout(poll, POLL_MS);
}

if (badge) poll();
