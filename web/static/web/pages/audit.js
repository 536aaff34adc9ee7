import { api } from "../api.js";
import { element, failed, notice, showState, signedIn } from "../layout.js";

const form = document.getElementById("filters");
let links = { next: null, previous: null };

/** The path and query of an API link (the server's absolute URL may name another host). */
function relative(link) {
  if (!link) return null;
  const url = new URL(link, location.href);
  return url.pathname + url.search;
}

/** The filters as a query: the browser's local times sent as ISO instants. */
function filters() {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form).entries()) {
    if (!value) continue;
    query.set(name, name === "since" || name === "until" ? new Date(value).toISOString() : value);
  }
  return query;
}

/** `data` as "key: value" pairs in key order (PostgreSQL's jsonb keeps no order of its own). */
function details(data) {
  return Object.keys(data).sort().map((key) => `${key}: ${JSON.stringify(data[key])}`).join(", ");
}

function row(event) {
  const target = event.target_type ? `${event.target_type} ${event.target_label || event.target_id}` : "";
  return element("tr", { "data-event": event.event },
    element("td", { text: new Date(event.created_at).toLocaleString() }),
    element("td", {}, element("code", { text: event.event })),
    element("td", { text: event.actor_username || "—" }),
    element("td", { text: target }),
    element("td", { text: details(event.data) }),
    element("td", { text: event.client_address }),
    element("td", { class: "muted", text: event.request_id }),
  );
}

/** The page at `url` (a link the API gave), or the newest events matching the filters. */
async function load(url = null) {
  if (url === null) {
    const query = filters();
    document.getElementById("audit-export").href = `/api/audit/export/?${query}`;
    query.set("page_size", 50);
    url = `/api/audit/?${query}`;
  }
  const body = await api(url);
  links = { next: relative(body.next), previous: relative(body.previous) };
  const rows = body.results.map(row);
  document.getElementById("audit-events").replaceChildren(...rows);
  document.getElementById("audit-table").hidden = rows.length === 0;
  document.getElementById("audit-empty").hidden = rows.length > 0;
  document.getElementById("previous-page").hidden = !links.previous;
  document.getElementById("next-page").hidden = !links.next;
}

async function main() {
  const me = await signedIn();
  if (!me.policies.includes("owner")) {
    showState("forbidden", "The audit log is for owners.");
    return;
  }
  document.getElementById("audit-owner").hidden = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load().catch((error) => notice(error.message));
  });
  // Newer and Older follow the API's cursor links.
  for (const [button, link] of [["previous-page", "previous"], ["next-page", "next"]]) {
    document.getElementById(button).addEventListener("click", () => {
      if (links[link]) load(links[link]).catch((error) => notice(error.message));
    });
  }
  await load();
}

main().catch(failed);
