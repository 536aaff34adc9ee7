import { api, refresh, tokenIssued } from "../api.js";
import { showErrors } from "../layout.js";

function nextPage() {
  // The server checked `next` (users.oidc_views.safe_next, the rule single sign-on follows too)
  // and rendered the result: the URL's own `next` is never used.
  return document.getElementById("login-form").dataset.next || "/";
}

function values(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// Another app's sign-in (/o/authorize/) sends here whoever's access cookie has expired: a
// session still alive (its refresh cookie) goes back to the consent page without a password,
// unless the app asked for the password again (prompt=login, which sends `reauth`).
const reauth = new URLSearchParams(location.search).has("reauth");
if (nextPage().startsWith("/o/authorize/") && !reauth) {
  refresh().then((renewed) => renewed && location.assign(nextPage()));
}

// An accepted invitation comes here with the username just chosen.
const chosen = new URLSearchParams(location.search).get("username");
if (chosen) {
  const form = document.getElementById("login-form");
  form.elements.username.value = chosen;
  form.elements.password.focus();
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const body = await api("/api/auth/login/", { method: "POST", body: values(event.target) });
    tokenIssued(body.expires_in);
    location.assign(nextPage());
  } catch (error) {
    showErrors(error, { prefix: "login-", form: "error-login-form" });
  }
});

const signup = document.getElementById("signup-form");
if (signup) {
  signup.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = values(event.target);
    try {
      await api("/api/auth/signup/", { method: "POST", body: fields });
      const body = await api("/api/auth/login/", {
        method: "POST",
        body: { username: fields.username, password: fields.password },
      });
      tokenIssued(body.expires_in);
      location.assign(nextPage());
    } catch (error) {
      showErrors(error, { prefix: "signup-", form: "error-signup-form" });
    }
  });
}
