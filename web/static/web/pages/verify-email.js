import { api } from "../api.js";
import { element } from "../layout.js";
import { NO_TOKEN, takeToken, tokenProblem } from "../links.js";

const result = document.getElementById("verify-result");

function refused(text) {
  result.replaceChildren(
    element("p", { class: "notice", text }),
    element("p", {}, element("a", { href: "/account", text: "Sign in to ask for a new link" })),
  );
}

async function main() {
  const token = takeToken();
  if (!token) return refused(NO_TOKEN);
  try {
    await api("/api/auth/verify-email/", { method: "POST", body: { token } });
  } catch (error) {
    return refused(tokenProblem(error) || error.message);
  }
  result.replaceChildren(
    element("p", { class: "ok", text: "Your email address is confirmed." }),
    element("p", {}, element("a", { class: "button", href: "/", text: "Continue to simple RBAS" })),
  );
}

main();
