import { api } from "../api.js";
import { confirmAction } from "../confirm.js";
import {
  clearErrors, element, failed, refusal, showErrors, signedIn,
} from "../layout.js";
import { LEVELS, levelName } from "../levels.js";
import { whenInWords } from "../words.js";

const message = document.getElementById("tokens-message");
const allBox = document.getElementById("tokens-all");
// users.roles.POLICIES: which levels each policy allows. A token may be narrowed to a level
// whose policies are all the user's own (the API decides; this only spares a refusal).
const POLICY_LEVELS = {
  authenticated: [0, 1, 2, 3, 4], staff: [0, 2, 3], admin: [0, 2], investor: [0, 1], owner: [0],
};

function say(text) {
  message.textContent = text;
}

function statusOf(token) {
  if (token.revoked_at) return `Revoked ${whenInWords(token.revoked_at)}`;
  if (new Date(token.expires_at) <= new Date()) return "Expired";
  return null;
}

async function revoke(token) {
  const confirmed = await confirmAction({
    title: `Revoke the token ${token.name}?`,
    text: "Jobs and scripts that use it are refused from their next request. This cannot be undone.",
    confirm: "Revoke token",
  });
  if (!confirmed) return;
  try {
    await api(`/api/tokens/${token.id}/`, { method: "DELETE" });
    say(`Revoked ${token.name}.`);
    await list();
  } catch (error) {
    say(`Not revoked: ${refusal(error)}`);
  }
}

function row(token, showUser) {
  const ended = statusOf(token);
  const actions = element("td", { "data-label": "Actions" });
  if (ended) {
    actions.textContent = ended;
  } else {
    const button = element("button", { type: "button", class: "secondary",
                                       "aria-label": `Revoke ${token.name}`, text: "Revoke" });
    button.addEventListener("click", () => revoke(token));
    actions.append(button);
  }
  const user = element("td", { "data-label": "User", class: "user-column", text: token.username });
  user.hidden = !showUser;
  return element("tr", { "data-id": token.id },
    element("td", { "data-label": "Name", text: token.name }),
    user,
    element("td", { "data-label": "Rights",
                    text: token.level === null ? "Yours" : token.level_name }),
    element("td", { "data-label": "Created", text: whenInWords(token.created_at) }),
    element("td", { "data-label": "Expires", text: whenInWords(token.expires_at) }),
    element("td", { "data-label": "Last used",
                    text: token.last_used_at ? whenInWords(token.last_used_at) : "Never" }),
    element("td", { "data-label": "From address", text: token.last_used_address || "" }),
    actions);
}

async function list() {
  const showAll = allBox.checked;
  const body = await api(`/api/tokens/?page_size=100${showAll ? "&all=true" : ""}`);
  document.getElementById("tokens-title").textContent =
    showAll ? "All users' tokens" : "Your tokens";
  document.querySelectorAll("th.user-column").forEach((th) => (th.hidden = !showAll));
  document.getElementById("tokens").replaceChildren(
    ...body.results.map((token) => row(token, showAll)));
  document.getElementById("tokens-table").hidden = body.count === 0;
  document.getElementById("tokens-empty").hidden = body.count !== 0;
}

function showCreated(token) {
  document.getElementById("token-value").textContent = token.token;
  document.getElementById("token-copy-status").textContent = "";
  const panel = document.getElementById("token-created");
  panel.hidden = false;
  document.getElementById("token-created-title").focus();
}

function startCreatedPanel() {
  const status = document.getElementById("token-copy-status");
  document.getElementById("token-copy").addEventListener("click", async () => {
    const value = document.getElementById("token-value");
    try {
      await navigator.clipboard.writeText(value.textContent);
      status.textContent = "Copied to the clipboard.";
    } catch {
      getSelection().selectAllChildren(value);
      status.textContent = "Copying was not allowed: the token is selected, copy it by hand.";
    }
  });
  document.getElementById("token-done").addEventListener("click", () => {
    document.getElementById("token-value").textContent = "";
    document.getElementById("token-created").hidden = true;
  });
}

function startForm(me) {
  const form = document.getElementById("token-form");
  form.elements.expires_in_days.value = "90";
  form.elements.expires_in_days.min = "1";
  const within = LEVELS.filter(([level]) => Object.entries(POLICY_LEVELS).every(
    ([policy, levels]) => !levels.includes(level) || me.policies.includes(policy)));
  form.elements.level.append(
    element("option", { value: "" }, `Yours (${levelName(me.level)})`),
    ...within.filter(([level]) => level !== me.level).map(([level, name]) =>
      element("option", { value: level }, `Only ${name}`)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const fields = Object.fromEntries(new FormData(form).entries());
    if (!fields.name) {
      document.getElementById("error-token-name").textContent = "This field is required.";
      form.elements.name.focus();
      return;
    }
    const body = { name: fields.name };
    if (fields.expires_in_days) body.expires_in_days = Number(fields.expires_in_days);
    if (fields.level !== "") body.level = Number(fields.level);
    try {
      const token = await api("/api/tokens/", { method: "POST", body });
      form.reset();
      form.elements.expires_in_days.value = "90";
      say(`Created ${token.name}.`);
      showCreated(token);
      await list();
    } catch (error) {
      showErrors(error, { prefix: "token-", form: "error-token-form" });
    }
  });
}

async function main() {
  const me = await signedIn();
  if (me.policies.includes("admin")) {
    document.getElementById("tokens-scope").hidden = false;
    allBox.addEventListener("change", () => list().catch(failed));
  }
  startCreatedPanel();
  startForm(me);
  await list();
}

main().catch(failed);
