// "Review these" (admins): a review campaign from the dashboard's current search
// (POST /api/v1/review/campaigns/ with its query, filters and schema), named, with its unit
// and question; the answer links to the new campaign's page.

import { apiPost } from "./api.js";
import { el, formatCount, replace } from "./dom.js";

const CAMPAIGNS_URL = "/api/v1/review/campaigns/";

export class ReviewCampaignForm {
  constructor({ form, name, unit, question, result }, current) {
    Object.assign(this, { form, name, unit, question, result, current });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
  }

  async create() {
    const { schema, q, filters } = this.current();
    const body = { name: this.name.value.trim(), unit: this.unit.value, question: this.question.value.trim(),
      schema, filters };
    if (q) body.q = q;
    let answer;
    try {
      answer = await apiPost(CAMPAIGNS_URL, body);
    } catch (error) {
      const where = error.body?.problems?.[0]?.path || error.body?.path;
      this.result.className = "error";
      this.result.textContent = `No campaign: ${error.message}${where ? ` (at ${where})` : ""}`;
      return;
    }
    this.result.className = "";
    this.result.dataset.campaign = String(answer.id);
    replace(this.result, `Campaign "${answer.name}" created with ${formatCount(answer.items)} items. `,
      el("a", { href: `/review/${answer.id}/campaign/` }, "Open its page"), " or ",
      el("a", { href: `/review/${answer.id}/` }, "review it"), ".");
    this.name.value = "";
  }
}
