import { api, goToSignIn } from "../api.js";
import { notice, showErrors, signedIn } from "../layout.js";

async function main() {
  const me = await signedIn();
  document.getElementById("account-summary").textContent =
    `Signed in as ${me.username}, ${me.level_name}. You may use: ${me.policies.join(", ")}.`;
  const profile = document.getElementById("profile-form");
  for (const name of ["first_name", "last_name", "email"]) profile.elements[name].value = me[name];
  profile.addEventListener("submit", async (event) => {
    event.preventDefault();
    document.getElementById("profile-saved").textContent = "";
    try {
      await api("/api/auth/me/", {
        method: "PATCH",
        body: Object.fromEntries(new FormData(profile).entries()),
      });
      document.getElementById("profile-saved").textContent = "Saved.";
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

main().catch((error) => notice(error.message));
