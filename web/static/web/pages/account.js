import { api, goToSignIn } from "../api.js";
import { failed, resendVerification, showErrors, signedIn } from "../layout.js";

/** Say whether the address is confirmed; offer a new link for one that is not. A limited
 * account has the same button in the panel on top. */
function showEmailStatus(me) {
  const status = document.getElementById("email-status");
  status.textContent = !me.email ? "Your account has no email address."
    : me.email_verified ? `${me.email} is confirmed.`
      : `${me.email} is not confirmed yet: follow the link we sent to it.`;
  document.getElementById("email-resend-box").hidden =
    !me.email || me.email_verified || me.must_verify_email;
}

async function main() {
  const me = await signedIn({ limited: true });
  document.getElementById("account-summary").textContent = me.must_verify_email
    ? `Signed in as ${me.username}, ${me.level_name}, until you confirm your email address.`
    : `Signed in as ${me.username}, ${me.level_name}. You may use: ${me.policies.join(", ")}.`;
  showEmailStatus(me);
  const resend = document.getElementById("email-resend");
  resend.addEventListener("click", () =>
    resendVerification(resend, document.getElementById("email-resend-status")));
  const profile = document.getElementById("profile-form");
  for (const name of ["first_name", "last_name", "email"]) profile.elements[name].value = me[name];
  profile.addEventListener("submit", async (event) => {
    event.preventDefault();
    const saved = document.getElementById("profile-saved");
    saved.textContent = "";
    try {
      const before = me.email;
      const user = await api("/api/auth/me/", {
        method: "PATCH",
        body: Object.fromEntries(new FormData(profile).entries()),
      });
      Object.assign(me, await api("/api/auth/me/"));
      showEmailStatus(me);
      saved.textContent = user.email.toLowerCase() === before.toLowerCase() ? "Saved."
        : `Saved. We sent a link to ${user.email}: follow it to confirm the new address.`;
    } catch (error) {
      showErrors(error, { prefix: "profile-", form: "error-profile-form" });
    }
  });
  const password = document.getElementById("password-form");
  password.addEventListener("submit", async (event) => {
    event.preventDefault();
    document.getElementById("password-saved").textContent = "";
    try {
      await api("/api/auth/password/", {
        method: "POST",
        body: Object.fromEntries(new FormData(password).entries()),
      });
      password.reset();
      document.getElementById("password-saved").textContent =
        "Password changed. Your other sessions have been signed out.";
    } catch (error) {
      showErrors(error, { prefix: "password-", form: "error-password-form" });
    }
  });
  for (const [id, path] of [["sign-out-here", "logout"], ["sign-out-everywhere", "logout-all"]]) {
    document.getElementById(id).addEventListener("click", async () => {
      try {
        await api(`/api/auth/${path}/`, { method: "POST" });
      } finally {
        goToSignIn();
      }
    });
  }
}

main().catch(failed);
