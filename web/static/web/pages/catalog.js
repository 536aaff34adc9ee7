import { api } from "../api.js";
import { element, failed, signedIn } from "../layout.js";
import { policyInWords } from "../words.js";

/** For admins: the files of the scripts folder that the last sync rejected, new ones too. */
async function showRejectedFiles() {
  const files = (await api("/api/script-problems/?page_size=100")).results;
  document.getElementById("rejected-files").replaceChildren(...files.map((file) => element("li", {},
    element("code", { text: file.file }), `: ${file.message} `,
    element("span", { class: "muted", text: file.published
      ? "(the last good version is still published)" : "(not published)" }))));
  document.getElementById("rejected-section").hidden = files.length === 0;
}

async function main() {
  const me = await signedIn();
  if (me.policies.includes("admin")) showRejectedFiles().catch(failed);
  const list = document.getElementById("catalog");
  const scripts = (await api("/api/scripts/?page_size=100")).results;
  for (const script of scripts) {
    const link = element("a", { href: `/scripts/${script.slug}`, text: script.title });
    list.append(
      element(
        "li",
        { class: "card" },
        element("h2", {}, link),
        element("p", { text: script.description || "No description." }),
        element("p", { class: "muted", text: `Who may run it: ${policyInWords(script.policy)}` }),
        (script.problems || []).length ? element("p", {
          class: "notice problems",
          text: "Its newest edit was rejected; the last good version still runs. See the script's page.",
        }) : "",
      ),
    );
  }
  document.getElementById("catalog-empty").hidden = scripts.length > 0;
  list.removeAttribute("aria-busy");
}

main().catch(failed);
