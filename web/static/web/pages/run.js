import { api } from "../api.js";
import { element, failed, notice, signedIn } from "../layout.js";
import { labelOf, progressInWords, scriptName, valueInWords } from "../words.js";

const runId = location.pathname.split("/")[2];
const ACTIVE = new Set(["queued", "running"]);
let run = null;
let script = null; // the script's title and parameter labels, when the user may still see it

function isTable(value) {
  return Array.isArray(value) && value.length > 0
    && value.every((row) => row && typeof row === "object" && !Array.isArray(row));
}

function renderResult(value) {
  const box = document.getElementById("result");
  box.replaceChildren();
  if (isTable(value)) {
    const columns = [...new Set(value.flatMap((row) => Object.keys(row)))];
    const head = element("tr", {}, ...columns.map((c) => element("th", { scope: "col", text: c })));
    const rows = value.map((row) => element(
      "tr", {}, ...columns.map((c) => element("td", { text: format(row[c]) })),
    ));
    box.append(element("div", { class: "table-wrap" },
      element("table", {}, element("thead", {}, head), element("tbody", {}, ...rows))));
  } else {
    box.append(element("pre", { text: JSON.stringify(value, null, 2) }));
  }
}

function format(value) {
  return value === null || value === undefined ? ""
    : typeof value === "object" ? JSON.stringify(value) : String(value);
}

function seconds(milliseconds) {
  return milliseconds < 1000 ? `${Math.round(milliseconds)} ms` : `${(milliseconds / 1000).toFixed(1)} s`;
}

function render() {
  const status = document.getElementById("run-status");
  status.textContent = run.status.replace("_", " ");
  status.className = `badge ${run.status}`;
  const link = document.getElementById("run-script");
  link.textContent = scriptName(run.script, script && script.title);
  link.href = `/scripts/${run.script}`;
  const source = document.getElementById("run-source");
  source.textContent = run.script_version;
  source.href = `/scripts/${run.script}?version=${encodeURIComponent(run.script_version)}#source-section`;
  document.getElementById("run-version").hidden = !run.source_url;
  const active = ACTIVE.has(run.status);
  document.getElementById("cancel-button").hidden = !active;
  document.getElementById("again-button").hidden = active;
  const error = document.getElementById("run-error");
  error.textContent = run.error;
  error.hidden = !run.error;
  document.getElementById("result-section").hidden = run.status !== "succeeded";
  if (run.status === "succeeded") renderResult(run.result);
  document.getElementById("stdout").textContent = run.stdout || "(nothing)";
  document.getElementById("stderr").textContent = run.stderr || "(nothing)";
  if (active && run.stdout) document.getElementById("stdout-section").open = true;
  renderProgress();
  renderParams();
  const files = document.getElementById("artifacts");
  files.replaceChildren(...run.artifacts.map((a) => (a.expired
    ? element("li", {}, a.name, ` (${a.size} bytes, removed after the retention period)`)
    : element("li", {},
      element("a", { href: a.url, download: a.name, text: a.name }), ` (${a.size} bytes)`))));
  document.getElementById("artifacts-section").hidden = run.artifacts.length === 0;
  if (!active) {
    document.getElementById("run").removeAttribute("aria-busy");
    document.getElementById("run-elapsed").textContent = run.duration_ms === null
      ? "" : `took ${seconds(run.duration_ms)}`;
  }
}

/** The bar of `rbas.progress`, with its message; hidden while the script reported none. */
function renderProgress() {
  const section = document.getElementById("progress-section");
  section.hidden = run.progress === null || run.progress === undefined;
  if (section.hidden) return;
  const bar = document.getElementById("run-progress");
  bar.value = run.progress;
  bar.textContent = `${Math.round(run.progress * 100)}%`; // for browsers without <progress>
  document.getElementById("progress-label").textContent = progressInWords(run.progress);
  document.getElementById("progress-message").textContent = run.progress_message;
}

/** The run's parameters as "label: value" pairs, in the order the script declares them. */
function renderParams() {
  const properties = (script && script.params_schema.properties) || {};
  const names = [...new Set([...Object.keys(properties), ...Object.keys(run.params)])]
    .filter((name) => name in run.params);
  const list = document.getElementById("params");
  list.replaceChildren(...names.flatMap((name) => [
    element("dt", { text: labelOf(name, properties[name]) }),
    element("dd", { text: valueInWords(run.params[name]) }),
  ]));
  list.hidden = names.length === 0;
  document.getElementById("params-none").hidden = names.length > 0;
}

function tick() {
  if (!run || !ACTIVE.has(run.status)) return;
  const since = Date.parse(run.started_at || run.created_at);
  const what = run.status === "queued" ? "waiting for a worker"
    : run.stage === "preparing" ? "installing the script's packages" : "running";
  document.getElementById("run-elapsed").textContent = `${what} for ${seconds(Date.now() - since)}`;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Characters as the API counts them (code points), not JavaScript's UTF-16 units. */
const characters = (text) => [...text].length;

/** Read what the running script printed since the last answer, and its progress: the API
 * answers as soon as there is something new, or the run ends (then the whole run is read). */
async function followOutput() {
  const query = `stdout_after=${characters(run.stdout)}&stderr_after=${characters(run.stderr)}`;
  let live;
  try {
    live = await api(`/api/runs/${runId}/output/?${query}&wait=10`);
  } catch (error) {
    if (error.status !== 400) throw error;
    return api(`/api/runs/${runId}/`); // the stored text changed under us: read it again
  }
  if (live.finished) return api(`/api/runs/${runId}/`);
  return {
    ...run,
    status: live.status,
    stdout: run.stdout + live.stdout,
    stderr: run.stderr + live.stderr,
    progress: live.progress,
    progress_message: live.progress_message,
  };
}

/** Follow the run until it ends: short polls while it waits for a worker or its packages (to
 * show when it starts), then long polls of its output, which the API answers the moment
 * something new is printed or the run finishes. */
async function follow() {
  while (ACTIVE.has(run.status)) {
    if (run.status === "queued" || run.stage === "preparing") {
      // The output's long poll does not say when a worker takes it or its packages are ready.
      await pause(500);
      run = await api(`/api/runs/${runId}/`);
    } else {
      run = await followOutput();
    }
    render();
  }
}

async function main() {
  await signedIn();
  run = await api(`/api/runs/${runId}/`);
  // The list, not /api/scripts/<slug>/: a script the user may not run (an admin's view of
  // another's run) is simply absent, without a refused request; its slug is shown instead.
  const scripts = (await api("/api/scripts/?page_size=100")).results;
  script = scripts.find((candidate) => candidate.slug === run.script) || null;
  document.title = `Run of ${scriptName(run.script, script && script.title)} · simple RBAS`;
  render();
  setInterval(tick, 100);
  document.getElementById("cancel-button").addEventListener("click", async () => {
    try {
      run = await api(`/api/runs/${runId}/cancel/`, { method: "POST" });
      render();
    } catch (error) {
      notice(error.message);
    }
  });
  document.getElementById("again-button").addEventListener("click", async () => {
    try {
      const again = await api(`/api/scripts/${run.script}/runs/`, {
        method: "POST",
        body: { params: run.params },
      });
      location.assign(`/runs/${again.id}`);
    } catch (error) {
      notice(error.message);
    }
  });
  await follow();
}

main().catch((error) =>
  failed(error, error.status === 404 ? "There is no such run." : error.message));
