// Upload a label schema and show its validation report: every problem with
// its JSON path, as the API reports them; choose the default schema.

import { ApiError, apiPost, apiPut } from "../dashboard/api.js";
import { el, replace } from "../dashboard/dom.js";

const form = document.getElementById("schema-form");
const report = document.getElementById("schema-report");
const list = document.querySelector("#schema-list tbody");
const defaultForm = document.getElementById("default-form");

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
    replace(report, el("p", {}, `Valid. Stored as ${created.name} v${created.version} (id ${created.id}). `
      + defaultNote(created.name)));
    defaultChoices(created);
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

// What the new upload changes for requests that name no schema.
function defaultNote(name) {
  if (!defaultForm) return "It is the default schema: requests that name no schema use it.";
  if (defaultForm.dataset.default === name) return "Requests that name no schema use this version now.";
  return `Requests name it with "schema": "${name}"; the default stays ${defaultForm.dataset.default}.`;
}

// A new name becomes one of the default's choices; the first upload becomes the default.
function defaultChoices(created) {
  const select = document.getElementById("default-name");
  if (!select) {
    replace(document.getElementById("default-report"), el("p", {}, "The default is ",
      el("strong", { id: "default-shown" }, `${created.name} v${created.version}`), "."));
    return;
  }
  if (![...select.options].some((option) => option.value === created.name)) {
    select.append(el("option", { value: created.name }, created.name));
  }
}

defaultForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const defaultReport = document.getElementById("default-report");
  const button = defaultForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const chosen = await apiPut("/api/v1/schemas/default/", { name: document.getElementById("default-name").value });
    defaultForm.dataset.default = chosen.name;
    defaultReport.className = "report ok";
    replace(defaultReport, el("p", {}, "The default is ",
      el("strong", { id: "default-shown" }, `${chosen.name} v${chosen.version}`),
      ": requests that name no schema use it."));
  } catch (error) {
    defaultReport.className = "report";
    replace(defaultReport, el("p", { class: "error" }, `Not changed: ${error.message}`));
  } finally {
    button.disabled = false;
  }
});
