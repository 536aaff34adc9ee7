import { api } from "../api.js";
import { clearErrors, showErrors } from "../layout.js";
import { NO_TOKEN, passwordsMatch, showLinkProblem, takeToken, tokenProblem } from "../links.js";

const form = document.getElementById("accept-form");
const summary = document.getElementById("invitation-summary");
const token = takeToken();

function refused(text) {
  summary.textContent = "";
  showLinkProblem(text, form);
}

async function main() {
  if (!token) return refused(NO_TOKEN);
  let invitation;
  try {
    invitation = await api("/api/invitations/preview/", { method: "POST", body: { token } });
  } catch (error) {
    return refused(tokenProblem(error) || error.message);
  }
  const expires = new Date(invitation.expires_at).toLocaleString();
  summary.textContent =
    `${invitation.invited_by} invites you to join as ${invitation.level_name} ` +
    `with ${invitation.email}. The invitation expires ${expires}.`;
  form.hidden = false;
  form.elements.username.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  if (!passwordsMatch(form, "accept-")) return;
  const { repeat_password: _, ...fields } = Object.fromEntries(new FormData(form).entries());
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const body = await api("/api/invitations/accept/", {
      method: "POST",
      body: { ...fields, token },
    });
    location.assign(`/login?${new URLSearchParams({ username: body.user.username })}`);
  } catch (error) {
    const problem = tokenProblem(error);
    if (problem) refused(problem);
    else showErrors(error, { prefix: "accept-", form: "error-accept-form" });
    button.disabled = false;
  }
});

main();
