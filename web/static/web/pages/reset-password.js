import { api } from "../api.js";
import { clearErrors, element, showErrors } from "../layout.js";
import { NO_TOKEN, passwordsMatch, showLinkProblem, takeToken, tokenProblem } from "../links.js";

const form = document.getElementById("reset-form");
const token = takeToken();
if (!token) showLinkProblem(NO_TOKEN, form);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  if (!passwordsMatch(form, "reset-", "new_password")) return;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    await api("/api/auth/password-reset/confirm/", {
      method: "POST",
      body: { token, new_password: form.elements.new_password.value },
    });
    form.hidden = true;
    document.getElementById("reset-done").replaceChildren(
      element("p", { class: "ok" },
        "Password changed. ", element("a", { href: "/login", text: "Sign in" })),
      element("p", { class: "muted", text: "Every session of your account was signed out." }),
    );
  } catch (error) {
    const problem = tokenProblem(error);
    if (problem) showLinkProblem(problem, form);
    else showErrors(error, { prefix: "reset-", form: "error-reset-form" });
  } finally {
    button.disabled = false;
  }
});
