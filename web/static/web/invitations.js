// The users page's invitations: invite an address at a level, follow what became of each
// invitation (and of its email), send it again or revoke it.
import { api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { clearErrors, element, refusal, showErrors } from "./layout.js";
import { levelOptions } from "./levels.js";

const form = document.getElementById("invite-form");
const filter = document.getElementById("invitations-status");
const message = document.getElementById("invitations-message");

function say(text) {
  message.textContent = text;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** What the mail server said: the queue workers record it after each attempt. */
function delivery(invitation) {
  if (invitation.delivery_error) {
    return element("span", { class: "error", text: `Not delivered: ${invitation.delivery_error}` });
  }
  if (invitation.delivered_at) return `Delivered ${when(invitation.delivered_at)}`;
  return "Waiting to be sent";
}

async function act(invitation, action, done) {
  try {
    await api(`/api/invitations/${invitation.id}/${action}/`, { method: "POST" });
    say(done);
  } catch (error) {
    say(`Not done: ${refusal(error)}`);
  }
  await load().catch((error) => say(error.message));
}

async function revoke(invitation) {
  const confirmed = await confirmAction({
    title: "Revoke this invitation?",
    text: `The link sent to ${invitation.email} stops working. ` +
      "You can invite the address again later.",
    confirm: "Revoke",
  });
  if (confirmed) await act(invitation, "revoke", `Revoked the invitation to ${invitation.email}.`);
  else say(`The invitation to ${invitation.email} is unchanged.`);
}

function actions(invitation) {
  if (!["pending", "expired"].includes(invitation.status)) return "";
  const resend = element("button", {
    type: "button", class: "secondary", text: "Resend",
    "aria-label": `Resend the invitation to ${invitation.email}`,
  });
  resend.addEventListener("click", () => act(invitation, "resend",
    `Sent again to ${invitation.email}; the link sent before no longer works.`));
  const revokeButton = element("button", {
    type: "button", class: "secondary", text: "Revoke",
    "aria-label": `Revoke the invitation to ${invitation.email}`,
  });
  revokeButton.addEventListener("click", () => revoke(invitation));
  return element("span", { class: "actions" }, resend, revokeButton);
}

function row(invitation) {
  return element("tr", {},
    element("td", { "data-label": "Email", text: invitation.email }),
    element("td", { "data-label": "Level", text: invitation.level_name }),
    element("td", { "data-label": "Status" },
      element("span", { class: `badge ${invitation.status}`, text: invitation.status })),
    element("td", { "data-label": "Invited by", text: invitation.invited_by || "" }),
    element("td", { "data-label": "Expires", text: when(invitation.expires_at) }),
    element("td", { "data-label": "Delivery" }, delivery(invitation)),
    element("td", { "data-label": "Actions" }, actions(invitation)));
}

let latestLoad = 0;

/** Show the invitations, newest first, with the chosen status. */
export async function load() {
  const mine = ++latestLoad;
  const query = new URLSearchParams({ page_size: 100 });
  if (filter.value) query.set("status", filter.value);
  const body = await api(`/api/invitations/?${query}`);
  if (mine !== latestLoad) return;
  document.getElementById("invitations").replaceChildren(...body.results.map(row));
  document.getElementById("invitations-table").hidden = body.results.length === 0;
  document.getElementById("invitations-empty").hidden = body.results.length > 0;
}

/** Wire the invitation form and list up, and show the list. */
export async function start() {
  form.elements.level.append(...levelOptions(4));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const { email, level } = form.elements;
    const body = { email: email.value.trim(), level: Number(level.value) };
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const invitation = await api("/api/invitations/", { method: "POST", body });
      email.value = "";
      say(`Invited ${invitation.email} as ${invitation.level_name}: the email is on its way.`);
      await load();
    } catch (error) {
      showErrors(error, { prefix: "invite-", form: "error-invite-form" });
    } finally {
      button.disabled = false;
    }
  });
  filter.addEventListener("change", () => load().catch((error) => say(error.message)));
  filter.form.addEventListener("submit", (event) => event.preventDefault());
  await load();
}
