import { api, ApiError } from "../api.js";
import { element, failed, showErrors, signedIn } from "../layout.js";
import { showProblems, showVersions } from "../versions.js";
import { labelOf, policyInWords } from "../words.js";

const slug = decodeURIComponent(location.pathname.split("/")[2]);

/** One labelled input per parameter, by its JSON Schema: the label is the schema's title and
 * the hint its description. */
function field(name, schema, required) {
  const id = `param-${name}`;
  const describedBy = `error-${name} hint-${name}`;
  const label = element("label", { for: id }, labelOf(name, schema));
  if (required) label.append(element("span", { class: "required", text: " (required)" }));
  let input;
  const hints = schema.description ? [schema.description] : [];
  if (schema.enum) {
    input = element("select", { id, name, required, "aria-describedby": describedBy });
    if (!required && schema.default === undefined) input.append(element("option", { value: "" }));
    for (const option of schema.enum) {
      input.append(
        element("option", { value: String(option), selected: option === schema.default }, String(option)),
      );
    }
  } else if (schema.type === "boolean") {
    input = element("input", { id, name, type: "checkbox", checked: schema.default === true,
                                "aria-describedby": describedBy });
  } else if (schema.type === "array") {
    hints.push("One value per line.");
    input = element("textarea", { id, name, rows: 3, required, "aria-describedby": describedBy });
    input.value = (schema.default || []).join("\n");
  } else {
    const type = schema.format === "date" ? "date"
      : ["integer", "number"].includes(schema.type) ? "number" : "text";
    input = element("input", {
      id, name, type, required, "aria-describedby": describedBy,
      step: schema.type === "integer" ? "1" : schema.type === "number" ? "any" : null,
      value: schema.default ?? null,
    });
  }
  input.dataset.kind = schema.enum ? `enum-${schema.type}` : schema.format || schema.type;
  input.dataset.items = schema.items ? schema.items.type : "";
  return element(
    "p",
    { class: schema.type === "boolean" ? "field checkbox" : "field" },
    label,
    input,
    element("span", { class: "hint", id: `hint-${name}`, text: hints.join(" ") }),
    element("span", { class: "error", id: `error-${name}` }),
  );
}

/** The parameters as JSON values; empty fields are left out. */
function collect(form) {
  const params = {};
  for (const input of form.querySelectorAll("[name]")) {
    const { kind, items } = input.dataset;
    if (kind === "boolean") {
      params[input.name] = input.checked;
      continue;
    }
    const raw = input.value.trim();
    if (raw === "") continue; // left empty: the default applies, or the API says it is required
    if (kind === "integer" || kind === "number" || kind === "enum-integer") {
      params[input.name] = Number(raw);
    } else if (kind === "array") {
      const lines = raw.split("\n").map((line) => line.trim()).filter(Boolean);
      params[input.name] = items === "integer" ? lines.map(Number) : lines;
    } else {
      params[input.name] = raw;
    }
  }
  return params;
}

const ENVIRONMENT_WORDS = {
  preparing: "Its packages are being installed; a run waits for them.",
  ready: "Its packages are installed.",
  failed: "Its packages could not be installed, so runs fail until this is fixed:",
};

/** The script's PEP 723 dependencies and the state of their environment, if it has any. */
function showDependencies(dependencies) {
  if (!dependencies || dependencies.status === "none") return;
  const list = document.getElementById("dependency-list");
  for (const requirement of dependencies.requirements) {
    list.append(element("li", { text: requirement }));
  }
  const python = dependencies.requires_python ? ` Python ${dependencies.requires_python}.` : "";
  document.getElementById("dependency-status").textContent =
    `${ENVIRONMENT_WORDS[dependencies.status] || dependencies.status}${python}`;
  const error = document.getElementById("dependency-error");
  error.textContent = dependencies.error;
  error.hidden = !dependencies.error;
  document.getElementById("script-dependencies").hidden = false;
}

/** Admins see when the script's schedules run next (the schedules API is theirs only). */
async function showSchedules(me) {
  if (!me.policies.includes("admin")) return;
  const schedules = (await api(`/api/schedules/?script=${encodeURIComponent(slug)}`)).results
    .filter((schedule) => !schedule.paused);
  if (!schedules.length) return;
  const soonest = schedules.map((s) => s.next_runs[0]).sort((a, b) => (a.at < b.at ? -1 : 1))[0];
  const node = document.getElementById("script-schedules");
  node.textContent = `Next scheduled run: ${soonest.at} UTC ` +
    `(${schedules.length} active schedule${schedules.length > 1 ? "s" : ""}).`;
  node.hidden = false;
}

async function main() {
  const me = await signedIn();
  let script;
  try {
    script = await api(`/api/scripts/${encodeURIComponent(slug)}/`);
  } catch (error) {
    failed(error, error instanceof ApiError && error.status === 403
      ? `You may not run this script. ${error.message}` : error.message);
    return;
  }
  document.title = `${script.title} · simple RBAS`;
  document.getElementById("script-title").textContent = script.title;
  document.getElementById("script-description").textContent = script.description;
  document.getElementById("script-policy").textContent =
    `Who may run it: ${policyInWords(script.policy)}`;
  showDependencies(script.dependencies);
  showSchedules(me).catch(() => {}); // a hint only: the page works without it
  const form = document.getElementById("run-form");
  const fields = document.getElementById("fields");
  const required = new Set(script.params_schema.required || []);
  for (const [name, schema] of Object.entries(script.params_schema.properties || {})) {
    fields.append(field(name, schema, required.has(name)));
  }
  // The form works before the versions below are read: a click must never submit it natively.
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("run-button");
    button.disabled = true;
    try {
      const run = await api(`/api/scripts/${encodeURIComponent(slug)}/runs/`, {
        method: "POST",
        body: { params: collect(form) },
      });
      location.assign(`/runs/${run.id}`);
    } catch (error) {
      showErrors(error, { nested: error.body && error.body.params ? "params" : null });
      const first = form.querySelector(".error:not(:empty)");
      if (first) first.previousElementSibling?.previousElementSibling?.focus();
    } finally {
      button.disabled = false;
    }
  });
  form.hidden = false;
  showProblems(script);
  await showVersions(slug).catch(failed);
  document.getElementById("script").removeAttribute("aria-busy");
}

main().catch(failed);
