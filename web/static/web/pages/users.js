import { api } from "../api.js";
import { confirmAction } from "../confirm.js";
import * as invitations from "../invitations.js";
import {
  clearErrors, element, failed, refusal, showErrors, showState, signedIn,
} from "../layout.js";
import { levelName, levelOptions } from "../levels.js";

const message = document.getElementById("users-message");
const searchForm = document.getElementById("user-search");

function say(text) {
  message.textContent = text;
}

/** Apply one change; the API's refusal (403, 409, 400) is shown as a plain message. */
async function change(user, changes, undo) {
  try {
    const updated = await api(`/api/users/${user.id}/`, { method: "PATCH", body: changes });
    Object.assign(user, updated);
    say(`Saved ${user.username}.`);
  } catch (error) {
    say(`Not saved: ${refusal(error)}`);
    undo();
  }
}

async function changeLevel(user, select) {
  const level = Number(select.value);
  const undo = () => { select.value = String(user.level); };
  const confirmed = await confirmAction({
    title: "Change this user's level?",
    text: `${user.username} goes from ${user.level_name} to ${levelName(level)}: ` +
      "what they may see and run changes at once.",
    confirm: "Change level",
  });
  if (!confirmed) {
    undo();
    say(`Not changed: ${user.username} stays ${user.level_name}.`);
    return;
  }
  await change(user, { level }, undo);
}

async function changeActive(user, checkbox) {
  const undo = () => { checkbox.checked = user.is_active; };
  if (!checkbox.checked) {
    const confirmed = await confirmAction({
      title: "Deactivate this user?",
      text: `${user.username} is signed out everywhere and cannot sign in until reactivated.`,
      confirm: "Deactivate",
    });
    if (!confirmed) {
      undo();
      say(`Not changed: ${user.username} stays active.`);
      return;
    }
  }
  await change(user, { is_active: checkbox.checked }, undo);
}

function row(user) {
  const level = element("select", { "aria-label": `Level of ${user.username}` },
    ...levelOptions(user.level));
  level.addEventListener("change", () => changeLevel(user, level));
  const active = element("input", {
    type: "checkbox", checked: user.is_active, "aria-label": `${user.username} is active`,
  });
  active.addEventListener("change", () => changeActive(user, active));
  return element("tr", {},
    element("td", { "data-label": "User", text: user.username }),
    element("td", { "data-label": "Email", text: user.email }),
    element("td", { "data-label": "Level" }, level),
    element("td", { "data-label": "Active" }, active));
}

let latestSearch = 0;

async function search(text) {
  const mine = ++latestSearch;
  const body = await api(`/api/users/?page_size=100&search=${encodeURIComponent(text)}`);
  if (mine !== latestSearch) return; // a newer search was sent meanwhile: its answer wins
  document.getElementById("users").replaceChildren(...body.results.map(row));
  document.getElementById("users-table").hidden = body.results.length === 0;
  say(body.count === 0 ? "No users match." : `${body.count} users.`);
}

/** Create a user without a password, after a confirmation: the API emails them a link. */
function startCreateForm() {
  const form = document.getElementById("create-form");
  const created = document.getElementById("create-message");
  form.elements.level.append(...levelOptions(4));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    created.textContent = "";
    const fields = Object.fromEntries(new FormData(form).entries());
    fields.level = Number(fields.level);
    const missing = ["username", "email"].filter((name) => !fields[name].trim());
    for (const name of missing) {
      document.getElementById(`error-create-${name}`).textContent = "This field is required.";
    }
    if (missing.length) {
      form.elements[missing[0]].focus();
      return;
    }
    const confirmed = await confirmAction({
      title: "Create this user?",
      text: `${fields.username} (${fields.email}) joins as ${levelName(fields.level)}. ` +
        "We email them a link to choose their password.",
      confirm: "Create user",
    });
    if (!confirmed) return;
    try {
      const user = await api("/api/users/", { method: "POST", body: fields });
      form.reset();
      created.textContent =
        `Created ${user.username}: a link to choose a password is on its way to ${user.email}.`;
      await search(searchForm.elements.search.value);
    } catch (error) {
      showErrors(error, { prefix: "create-", form: "error-create-form" });
    }
  });
}

async function main() {
  const me = await signedIn();
  if (!me.policies.includes("admin")) {
    showState("forbidden", "Managing users is for admins and owners.");
    return;
  }
  document.getElementById("users-admin").hidden = false;
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    search(event.target.elements.search.value).catch((error) => say(error.message));
  });
  startCreateForm();
  await Promise.all([search(""), invitations.start()]);
}

main().catch(failed);
