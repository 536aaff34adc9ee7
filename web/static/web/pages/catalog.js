import { api } from "../api.js";
import { element, failed, signedIn } from "../layout.js";
import { policyInWords } from "../words.js";

async function main() {
  await signedIn();
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
