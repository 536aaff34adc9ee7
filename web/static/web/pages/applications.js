import { api } from "../api.js";
import { confirmAction } from "../confirm.js";
import {
  clearErrors, element, failed, refusal, showErrors, showState, signedIn,
} from "../layout.js";
import { LEVELS } from "../levels.js";

const message = document.getElementById("applications-message");
const SERVICE = "client-credentials";
// What an admin may grant a service account (users.services.check_assignment): not owner/admin.
const PROTECTED = [0, 2];

function say(text) {
  message.textContent = text;
}

async function remove(application) {
  const confirmed = await confirmAction({
    title: `Delete the application ${application.name}?`,
    text: "Its tokens stop working at once" +
      (application.service_account ? " and its service account is deactivated." : "."),
    confirm: "Delete application",
  });
  if (!confirmed) return;
  try {
    await api(`/api/oauth/applications/${application.id}/`, { method: "DELETE" });
    say(`Deleted ${application.name}.`);
    await list();
  } catch (error) {
    say(`Not deleted: ${refusal(error)}`);
  }
}

function target(application) {
  const account = application.service_account;
  if (account) return `${account.username} (${account.level_name})`;
  return application.redirect_uris.join(" ");
}

function row(application) {
  const del = element("button", { type: "button", class: "secondary",
                                  "aria-label": `Delete ${application.name}`, text: "Delete" });
  del.addEventListener("click", () => remove(application));
  const kind = application.service_account ? "Service" : `Sign-in (${application.client_type})`;
  return element("tr", { "data-client-id": application.client_id },
    element("td", { "data-label": "Name", text: application.name }),
    element("td", { "data-label": "Client ID" }, element("code", { text: application.client_id })),
    element("td", { "data-label": "Kind", text: kind }),
    element("td", { "data-label": "Redirect URIs or service account", text: target(application) }),
    element("td", { "data-label": "Registered by", text: application.registered_by || "" }),
    element("td", { "data-label": "Actions" }, del));
}

async function list() {
  const body = await api("/api/oauth/applications/?page_size=100");
  document.getElementById("applications").replaceChildren(...body.results.map(row));
  document.getElementById("applications-table").hidden = body.count === 0;
  document.getElementById("applications-empty").hidden = body.count !== 0;
}

function showKind(form) {
  const service = form.elements.authorization_grant_type.value === SERVICE;
  document.getElementById("field-level").hidden = !service;
  document.getElementById("field-redirect_uris").hidden = service;
  document.getElementById("field-client_type").hidden = service;
}

function body(form) {
  const fields = Object.fromEntries(new FormData(form).entries());
  if (fields.authorization_grant_type === SERVICE) {
    return { name: fields.name, authorization_grant_type: SERVICE,
             client_type: "confidential", level: Number(fields.level) };
  }
  const uris = fields.redirect_uris.split(/\s+/).filter(Boolean);
  return { name: fields.name, authorization_grant_type: fields.authorization_grant_type,
           client_type: fields.client_type, redirect_uris: uris };
}

function startForm(me) {
  const form = document.getElementById("application-form");
  const grantable = me.policies.includes("owner")
    ? LEVELS : LEVELS.filter(([level]) => !PROTECTED.includes(level));
  form.elements.level.append(...grantable.map(([value, name]) =>
    element("option", { value, selected: value === 4 }, name)));
  form.elements.authorization_grant_type.addEventListener("change", () => showKind(form));
  showKind(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    if (!form.elements.name.value) {
      document.getElementById("error-application-name").textContent = "This field is required.";
      form.elements.name.focus();
      return;
    }
    try {
      const created = await api("/api/oauth/applications/", { method: "POST", body: body(form) });
      form.reset();
      showKind(form);
      document.getElementById("created-client-id").textContent = created.client_id;
      document.getElementById("created-client-secret").textContent =
        created.client_secret ?? "None: a public client proves itself with PKCE alone.";
      document.getElementById("application-created").hidden = false;
      say(`Registered ${created.name}.`);
      await list();
    } catch (error) {
      showErrors(error, { prefix: "application-", form: "error-application-form" });
    }
  });
}

async function main() {
  const me = await signedIn();
  if (!me.policies.includes("admin")) {
    showState("forbidden", "Registering applications is for admins and owners.");
    return;
  }
  document.getElementById("applications-admin").hidden = false;
  startForm(me);
  await list();
}

main().catch(failed);
