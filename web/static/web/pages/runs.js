import { api } from "../api.js";
import { element, failed, notice, signedIn } from "../layout.js";
import { scriptName } from "../words.js";

const form = document.getElementById("filters");
let links = { next: null, previous: null };
let me = null;
const titles = new Map(); // slug -> title, of the scripts the user may run
const usernames = new Map(); // user id -> a promise of the username (admins see everyone's runs)

/** Who ran a run, as a name: "you", or (for admins) the username, looked up once per user. */
function whoRan(id) {
  if (id === me.id) return Promise.resolve("you");
  if (!me.policies.includes("admin")) return Promise.resolve(`user ${id}`);
  if (!usernames.has(id)) {
    usernames.set(id, api(`/api/users/${id}/`).then((user) => user.username, () => `user ${id}`));
  }
  return usernames.get(id);
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** The path and query of an API link (the server's absolute URL may name another host). */
function relative(link) {
  if (!link) return null;
  const url = new URL(link, location.href);
  return url.pathname + url.search;
}

/** The page at `url` (a link the API gave), or the newest runs matching the filters. */
async function load(url = null) {
  if (url === null) {
    const query = new URLSearchParams({ page_size: 20 });
    for (const [name, value] of new FormData(form).entries()) if (value) query.set(name, value);
    url = `/api/runs/?${query}`;
  }
  const body = await api(url);
  links = { next: relative(body.next), previous: relative(body.previous) };
  const names = await Promise.all(body.results.map((run) => whoRan(run.user)));
  const rows = body.results.map((run, index) => element("tr", {},
    element("td", {}, element("a", { href: `/runs/${run.id}`, text: when(run.created_at) })),
    element("td", { text: scriptName(run.script, titles.get(run.script)) }),
    element("td", {}, element("span", { class: `badge ${run.status}`, text: run.status.replace("_", " ") })),
    element("td", { text: run.duration_ms === null ? "" : `${run.duration_ms} ms` }),
    element("td", { class: "user", text: names[index] }),
  ));
  document.getElementById("runs").replaceChildren(...rows);
  document.getElementById("runs-table").hidden = rows.length === 0;
  document.getElementById("runs-empty").hidden = rows.length > 0;
  document.getElementById("previous-page").hidden = !links.previous;
  document.getElementById("next-page").hidden = !links.next;
}

async function main() {
  me = await signedIn();
  const scripts = (await api("/api/scripts/?page_size=100")).results;
  const select = document.getElementById("filter-script");
  for (const script of scripts) {
    titles.set(script.slug, script.title);
    select.append(element("option", { value: script.slug }, script.title));
  }
  const params = new URLSearchParams(location.search);
  for (const name of ["script", "status"]) if (params.get(name)) form.elements[name].value = params.get(name);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load().catch((error) => notice(error.message));
  });
  // Newer and Older follow the API's cursor links: a page is found by position, not by number.
  for (const [button, link] of [["previous-page", "previous"], ["next-page", "next"]]) {
    document.getElementById(button).addEventListener("click", () => {
      if (links[link]) load(links[link]).catch((error) => notice(error.message));
    });
  }
  await load();
}

main().catch(failed);
