import { api } from "../api.js";
import { confirmAction } from "../confirm.js";
import {
  clearErrors, element, failed, refusal, showErrors, showState, signedIn,
} from "../layout.js";
import { declaredByInWords, policyInWords, whenInWords } from "../words.js";

const message = document.getElementById("secrets-message");
// The order of users.roles.POLICIES: a secret gets one of those its creator satisfies.
const POLICIES = ["authenticated", "staff", "admin", "investor", "owner"];

function say(text) {
  message.textContent = text;
}

async function remove(secret) {
  const confirmed = await confirmAction({
    title: `Delete the secret ${secret.name}?`,
    text: secret.declared_by.length
      ? `${declaredByInWords(secret.declared_by)} cannot run until it exists again.`
      : "No published script declares it.",
    confirm: "Delete secret",
  });
  if (!confirmed) return;
  try {
    await api(`/api/secrets/${secret.name}/`, { method: "DELETE" });
    say(`Deleted ${secret.name}.`);
    await list();
  } catch (error) {
    say(`Not deleted: ${refusal(error)}`);
  }
}

/** A new value, typed into a password field of the row; the old one is never shown. */
function replaceForm(secret) {
  const input = element("input", {
    type: "password", autocomplete: "new-password", "aria-label": `New value of ${secret.name}`,
  });
  const form = element("form", { class: "actions" }, input,
    element("button", { type: "submit", class: "secondary", text: "Replace value" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.value) {
      say(`Type the new value of ${secret.name} first.`);
      input.focus();
      return;
    }
    try {
      await api(`/api/secrets/${secret.name}/`, { method: "PATCH", body: { value: input.value } });
      input.value = "";
      say(`Saved a new value for ${secret.name}.`);
      await list();
    } catch (error) {
      say(`Not saved: ${refusal(error)}`);
    }
  });
  return form;
}

function row(secret) {
  const del = element("button", { type: "button", class: "secondary",
                                  "aria-label": `Delete ${secret.name}`, text: "Delete" });
  del.addEventListener("click", () => remove(secret));
  const changed = `${whenInWords(secret.updated_at)}` +
    (secret.updated_by ? ` by ${secret.updated_by}` : "");
  return element("tr", { "data-name": secret.name },
    element("td", { "data-label": "Name" }, element("code", { text: secret.name })),
    element("td", { "data-label": "Description", text: secret.description }),
    element("td", { "data-label": "Scripts reading it run for",
                    text: policyInWords(secret.policy) }),
    element("td", { "data-label": "Declared by", text: declaredByInWords(secret.declared_by) }),
    element("td", { "data-label": "Last changed", text: changed }),
    element("td", { "data-label": "Actions" }, replaceForm(secret), del));
}

async function list() {
  const body = await api("/api/secrets/?page_size=100");
  document.getElementById("secrets").replaceChildren(...body.results.map(row));
  document.getElementById("secrets-table").hidden = body.count === 0;
  document.getElementById("secrets-empty").hidden = body.count !== 0;
}

function startForm(me) {
  const form = document.getElementById("secret-form");
  const mine = POLICIES.filter((policy) => me.policies.includes(policy));
  form.elements.policy.append(...mine.map((policy) =>
    element("option", { value: policy, selected: policy === "admin" }, policyInWords(policy))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const fields = Object.fromEntries(new FormData(form).entries());
    const missing = ["name", "value"].filter((name) => !fields[name]);
    for (const name of missing) {
      document.getElementById(`error-secret-${name}`).textContent = "This field is required.";
    }
    if (missing.length) {
      form.elements[missing[0]].focus();
      return;
    }
    try {
      const secret = await api("/api/secrets/", { method: "POST", body: fields });
      form.reset();
      say(`Saved ${secret.name}. Its value is not shown again.`);
      await list();
    } catch (error) {
      showErrors(error, { prefix: "secret-", form: "error-secret-form" });
    }
  });
}

async function main() {
  const me = await signedIn();
  if (!me.policies.includes("admin")) {
    showState("forbidden", "Managing secrets is for admins and owners.");
    return;
  }
  document.getElementById("secrets-admin").hidden = false;
  startForm(me);
  await list();
}

main().catch(failed);
