// A script's versions on its page: the list, one version's source (`?version=`), the
// differences between two versions, and the warning of a rejected edit (admins only).
import { api } from "./api.js";
import { element } from "./layout.js";

const when = (iso) => new Date(iso).toLocaleString();

/** The warning that the newest edit of the file was rejected and the last good version runs. */
export function showProblems(script) {
  const box = document.getElementById("script-problems");
  const problems = script.problems || [];
  box.hidden = problems.length === 0;
  box.replaceChildren(
    element("strong", { text: "The newest edit of this script was rejected. " }),
    "The last good version stays published and runs. ",
    ...problems.map((problem) => element("span", { class: "problem" },
      `${problem.message} (rejected content ${problem.version || "unknown"}, since ${when(problem.since)})`)),
  );
}

/** One line of a unified diff, marked as added, removed or kept for the eye and for tests. */
function diffLine(line) {
  const kind = line.startsWith("+++") || line.startsWith("---") ? "diff-file"
    : line.startsWith("@@") ? "diff-hunk"
      : line.startsWith("+") ? "diff-add" : line.startsWith("-") ? "diff-del" : "diff-same";
  return element("span", { class: kind, text: line });
}

async function showSource(base, version) {
  const shown = await api(`${base}${encodeURIComponent(version)}/`);
  document.getElementById("source-title").textContent =
    `Source of version ${shown.version}${shown.current ? " (current)" : ""}`;
  document.getElementById("source").textContent = shown.source;
  document.getElementById("source-section").hidden = false;
}

async function showDiff(base, from, to) {
  const shown = await api(`${base}${encodeURIComponent(to)}/?compare=${encodeURIComponent(from)}`);
  const box = document.getElementById("diff");
  box.replaceChildren(...(shown.diff ? shown.diff.split("\n").slice(0, -1).map(diffLine)
    : [element("span", { text: "The two versions are the same." })]));
  box.hidden = false;
}

/** List the script's versions and wire the source and comparison views. */
export async function showVersions(slug) {
  const base = `/api/scripts/${encodeURIComponent(slug)}/versions/`;
  const versions = (await api(`${base}?page_size=100`)).results;
  const list = document.getElementById("versions");
  list.replaceChildren(...versions.map((v) => element("li", {},
    element("a", { href: `?version=${v.version}#source-section`, text: v.version }),
    ` published ${when(v.published_at)}`,
    v.current ? element("span", { class: "badge", text: "current" }) : "")));
  const form = document.getElementById("compare-form");
  const [from, to] = [document.getElementById("compare-from"), document.getElementById("compare-to")];
  for (const select of [from, to]) {
    select.replaceChildren(...versions.map((v) => element("option", { value: v.version },
      `${v.version}${v.current ? " (current)" : ""}`)));
  }
  if (versions.length > 1) from.value = versions[1].version;
  form.hidden = versions.length < 2;
  document.getElementById("versions-section").hidden = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    showDiff(base, from.value, to.value).catch((error) => {
      document.getElementById("error-compare").textContent = error.message;
    });
  });
  const asked = new URLSearchParams(location.search).get("version");
  if (asked) await showSource(base, asked);
}
