import { api } from "../api.js";
import { confirmAction } from "../confirm.js";
import {
  clearErrors, element, failed, refusal, showErrors, showState, signedIn,
} from "../layout.js";
import { whenInWords } from "../words.js";

const message = document.getElementById("schedules-message");
const form = document.getElementById("schedule-form");
let editing = null; // the schedule the form changes, or null to add one

function say(text) {
  message.textContent = text;
}

/** The next run, in UTC and in the schedule's own zone. */
function nextRunInWords(schedule) {
  if (schedule.paused) return "Paused";
  const next = schedule.next_runs[0];
  return `${next.local} (${schedule.timezone}), ${next.at} UTC`;
}

function lastTickInWords(schedule) {
  const tick = schedule.recent_ticks[0];
  if (!tick) return "None yet";
  const what = tick.status === "fired" ? `fired, run ${tick.run_status}` : tick.status;
  return `${whenInWords(tick.tick_at)}: ${what}` + (tick.reason ? ` (${tick.reason})` : "");
}

async function act(schedule, path, method, done) {
  try {
    await api(`/api/schedules/${schedule.id}/${path}`, { method });
    say(done);
    await list();
  } catch (error) {
    say(`Not done: ${refusal(error)}`);
  }
}

async function remove(schedule) {
  const confirmed = await confirmAction({
    title: `Delete the schedule of ${schedule.script}?`,
    text: "Its runs stay in the run list.",
    confirm: "Delete schedule",
  });
  if (confirmed) await act(schedule, "", "DELETE", `Deleted the schedule of ${schedule.script}.`);
}

function edit(schedule) {
  editing = schedule;
  form.elements.script.value = schedule.script;
  form.elements.cron.value = schedule.cron;
  form.elements.timezone.value = schedule.timezone;
  form.elements.run_as.value = schedule.run_as;
  form.elements.params.value = JSON.stringify(schedule.params);
  document.getElementById("schedule-form-title").textContent = `Change schedule ${schedule.id}`;
  document.getElementById("schedule-cancel").hidden = false;
  form.elements.cron.focus();
}

function stopEditing() {
  editing = null;
  form.reset();
  document.getElementById("schedule-form-title").textContent = "Add a schedule";
  document.getElementById("schedule-cancel").hidden = true;
}

function button(label, name, onClick) {
  const node = element("button", { type: "button", class: "secondary", "aria-label": label },
    name);
  node.addEventListener("click", onClick);
  return node;
}

function row(schedule) {
  const label = `schedule ${schedule.id} of ${schedule.script}`;
  const actions = [
    schedule.paused
      ? button(`Resume ${label}`, "Resume",
        () => act(schedule, "resume/", "POST", `Resumed the schedule of ${schedule.script}.`))
      : button(`Pause ${label}`, "Pause",
        () => act(schedule, "pause/", "POST", `Paused the schedule of ${schedule.script}.`)),
  ];
  if (schedule.source === "api") {
    actions.push(button(`Change ${label}`, "Change", () => edit(schedule)),
      button(`Delete ${label}`, "Delete", () => remove(schedule)));
  }
  const when = `${schedule.cron} (${schedule.timezone})` +
    (schedule.source === "file" ? ", from the script file" : "");
  return element("tr", { "data-id": schedule.id },
    element("td", { "data-label": "Script" },
      element("a", { href: `/scripts/${schedule.script}`, text: schedule.script })),
    element("td", { "data-label": "When" }, element("code", { text: when })),
    element("td", { "data-label": "Runs as", text: schedule.run_as }),
    element("td", { "data-label": "Next run", text: nextRunInWords(schedule) }),
    element("td", { "data-label": "Last tick", text: lastTickInWords(schedule) }),
    element("td", { "data-label": "Actions" }, ...actions));
}

async function list() {
  const body = await api("/api/schedules/?page_size=100");
  document.getElementById("schedules").replaceChildren(...body.results.map(row));
  document.getElementById("schedules-table").hidden = body.count === 0;
  document.getElementById("schedules-empty").hidden = body.count !== 0;
}

async function startForm(me) {
  const scripts = await api("/api/scripts/?page_size=100");
  form.elements.script.append(...scripts.results.map((script) =>
    element("option", { value: script.slug }, script.title)));
  form.elements.run_as.placeholder = me.username;
  form.elements.timezone.placeholder = "UTC";
  document.getElementById("schedule-cancel").addEventListener("click", stopEditing);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const fields = Object.fromEntries(new FormData(form).entries());
    try {
      fields.params = JSON.parse(fields.params || "{}");
    } catch {
      document.getElementById("error-schedule-params").textContent =
        "Type the parameters as a JSON object, e.g. {\"name\": \"team\"}.";
      form.elements.params.focus();
      return;
    }
    for (const name of ["timezone", "run_as"]) if (!fields[name]) delete fields[name];
    try {
      const schedule = await api(editing ? `/api/schedules/${editing.id}/` : "/api/schedules/",
        { method: editing ? "PATCH" : "POST", body: fields });
      stopEditing();
      say(`Saved the schedule of ${schedule.script}: next run ${nextRunInWords(schedule)}.`);
      await list();
    } catch (error) {
      showErrors(error, { prefix: "schedule-", form: "error-schedule-form" });
    }
  });
}

async function main() {
  const me = await signedIn();
  if (!me.policies.includes("admin")) {
    showState("forbidden", "Managing schedules is for admins and owners.");
    return;
  }
  document.getElementById("schedules-admin").hidden = false;
  await startForm(me);
  await list();
}

main().catch(failed);
