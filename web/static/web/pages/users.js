import { api, ApiError } from "../api.js";
import { element, failed, notice, signedIn } from "../layout.js";

const LEVELS = [[0, "Owner"], [1, "Investor"], [2, "Admin"], [3, "Read/Write"], [4, "Read Only"]];
const message = document.getElementById("users-message");

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
    const reason = error instanceof ApiError && error.body && !error.body.detail
      ? Object.values(error.body).flat().join(" ") : error.message;
    say(`Not saved: ${reason}`);
    undo();
  }
}

function row(user) {
  const level = element("select", { "aria-label": `Level of ${user.username}` },
    ...LEVELS.map(([value, name]) => element("option", { value, selected: value === user.level }, name)));
  level.addEventListener("change", () =>
    change(user, { level: Number(level.value) }, () => { level.value = String(user.level); }));
  const active = element("input", {
    type: "checkbox", checked: user.is_active, "aria-label": `${user.username} is active`,
  });
  active.addEventListener("change", () =>
    change(user, { is_active: active.checked }, () => { active.checked = user.is_active; }));
  return element("tr", {},
    element("td", { text: user.username }),
    element("td", { text: user.email }),
    element("td", {}, level),
    element("td", {}, active));
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

async function main() {
  const me = await signedIn();
  if (!me.policies.includes("admin")) {
    notice("You may not manage users: that needs the admin policy.");
    return;
  }
  document.getElementById("user-search").addEventListener("submit", (event) => {
    event.preventDefault();
    search(event.target.elements.search.value).catch((error) => say(error.message));
  });
  await search("");
}

main().catch(failed);
