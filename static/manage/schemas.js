// Upload a label schema and show its validation report: every problem with
// its JSON path, as the API reports them.

import { ApiError, apiPost } from "../dashboard/api.js";
import { el, replace } from "../dashboard/dom.js";

const form = document.getElementById("schema-form");
const report = document.getElementById("schema-report");
const list = document.querySelector("#schema-list tbody");

async function documentText() {
  const file = document.getElementById("schema-file").files[0];
  if (file) return { text: await file.text(), source: file.name };
  return { text: document.getElementById("schema-text").value, source: "the pasted text" };
}

function problemsTable(problems) {
  return el("table", { class: "data problems" },
    el("thead", {}, el("tr", {}, el("th", {}, "Path"), el("th", {}, "Problem"))),
    el("tbody", {}, ...problems.map((problem) => el("tr", {},
      el("td", {}, el("code", {}, problem.path || "$")), el("td", {}, problem.message)))));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = document.getElementById("schema-name").value.trim();
  const { text, source } = await documentText();
  if (!text.trim()) {
    replace(report, el("p", { class: "error" }, "Choose a JSON file or paste the schema."));
    return;
  }
  let schema;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    replace(report, el("p", { class: "error" }, `${source} is not valid JSON: ${error.message}`));
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  replace(report, el("div", { class: "notice loading" }, el("strong", {}, "Validating...")));
  try {
    const created = await apiPost("/api/v1/schemas/", { name, schema });
    report.className = "report ok";
    replace(report, el("p", {}, `Valid. Stored as ${created.name} v${created.version} (id ${created.id}); `
      + "the dashboard now uses it."));
    list.querySelector("tr.empty")?.remove();
    list.prepend(el("tr", {}, el("td", {}, created.name), el("td", {}, `v${created.version}`),
      el("td", {}, String(created.id)), el("td", {}, "-"), el("td", {}, "you"), el("td", {}, "just now")));
  } catch (error) {
    report.className = "report";
    const problems = error instanceof ApiError ? error.body.problems || [] : [];
    replace(report,
      el("p", { class: "error" }, `Not stored: ${error.message}`),
      problems.length ? problemsTable(problems) : null);
  } finally {
    button.disabled = false;
  }
});
