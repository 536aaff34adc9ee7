import { api } from "../api.js";
import { clearErrors, element, failed, refusal, showErrors, signedIn } from "../layout.js";
import { whenInWords } from "../words.js";

const message = document.getElementById("notifications-message");
const WHEN = { failure: "fails or times out", finish: "ends" };

function say(text) {
  message.textContent = text;
}

function show(table, empty, rows) {
  document.getElementById(table).hidden = rows.length === 0;
  document.getElementById(empty).hidden = rows.length !== 0;
}

async function remove(subscription) {
  try {
    await api(`/api/notifications/subscriptions/${subscription.id}/`, { method: "DELETE" });
    say(`You will no longer be told about ${subscription.script}.`);
    await list();
  } catch (error) {
    say(`Not removed: ${refusal(error)}`);
  }
}

function subscriptionRow(subscription) {
  const del = element("button", { type: "button", class: "secondary", text: "Remove",
                                  "aria-label": `Remove the ${subscription.channel} notice for ${subscription.script}` });
  del.addEventListener("click", () => remove(subscription));
  const how = subscription.channel === "email" ? "Email" : `Webhook to ${subscription.url}`;
  return element("tr", { "data-id": String(subscription.id) },
    element("td", { "data-label": "Script" }, element("code", { text: subscription.script })),
    element("td", { "data-label": "When", text: `A run ${WHEN[subscription.on]}` }),
    element("td", { "data-label": "How", text: how }),
    element("td", { "data-label": "Whose runs",
                    text: subscription.scope === "all" ? "Everyone's" : "Mine" }),
    element("td", { "data-label": "Actions" }, del));
}

function deliveryRow(delivery) {
  return element("tr", {},
    element("td", { "data-label": "When", text: whenInWords(delivery.created_at) }),
    element("td", { "data-label": "Script" }, element("code", { text: delivery.script })),
    element("td", { "data-label": "Why", text: delivery.reason }),
    element("td", { "data-label": "To", text: delivery.target }),
    element("td", { "data-label": "Status", text: delivery.status }),
    element("td", { "data-label": "Attempts", text: String(delivery.attempts) }),
    element("td", { "data-label": "Last error", text: delivery.last_error }));
}

async function list() {
  const [subscriptions, deliveries] = await Promise.all([
    api("/api/notifications/subscriptions/?page_size=100"),
    api("/api/notifications/deliveries/?page_size=20"),
  ]);
  document.getElementById("subscriptions").replaceChildren(
    ...subscriptions.results.map(subscriptionRow));
  show("subscriptions-table", "subscriptions-empty", subscriptions.results);
  document.getElementById("deliveries").replaceChildren(...deliveries.results.map(deliveryRow));
  show("deliveries-table", "deliveries-empty", deliveries.results);
}

function showSecret(secret) {
  document.getElementById("secret-value").textContent = secret;
  const panel = document.getElementById("secret-shown");
  panel.hidden = false;
  document.getElementById("secret-shown-title").focus();
}

async function startForm(me) {
  const form = document.getElementById("subscribe-form");
  const scripts = await api("/api/scripts/?page_size=100");
  form.elements.script.append(...scripts.results.map((script) =>
    element("option", { value: script.slug }, script.title)));
  const wanted = new URLSearchParams(window.location.search).get("script");
  if (wanted) form.elements.script.value = wanted;
  document.getElementById("subscribe-scope-field").hidden = !me.policies.includes("admin");
  document.getElementById("secret-done").addEventListener("click", () => {
    document.getElementById("secret-value").textContent = "";
    document.getElementById("secret-shown").hidden = true;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const fields = Object.fromEntries(new FormData(form).entries());
    try {
      const created = await api("/api/notifications/subscriptions/",
                                { method: "POST", body: fields });
      form.elements.url.value = "";
      say(`You will be told when a run of ${created.script} ${WHEN[created.on]}.`);
      if (created.secret) showSecret(created.secret);
      await list();
    } catch (error) {
      showErrors(error, { prefix: "subscribe-", form: "error-subscribe-form" });
    }
  });
}

async function main() {
  const me = await signedIn();
  await startForm(me);
  await list();
}

main().catch(failed);
