// What every signed-in page shares: the navigation, signing out, and plain notices.
import { api, goToSignIn } from "./api.js";

export function notice(message) {
  const element = document.getElementById("notice");
  element.textContent = message;
  element.hidden = !message;
}

/** Show who is signed in; returns the user (with `policies`), or goes to the sign-in page. */
export async function signedIn() {
  const me = await api("/api/auth/me/");
  document.getElementById("whoami").textContent = `${me.username} (${me.level_name})`;
  document.getElementById("nav-users").hidden = !me.policies.includes("admin");
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await api("/api/auth/logout/", { method: "POST" });
    } finally {
      goToSignIn();
    }
  });
  return me;
}

/** Put the API's field errors next to their fields (`error-<prefix><name>`); the rest on top. */
export function showErrors(error, { prefix = "", form = "error-form", nested = null } = {}) {
  document.querySelectorAll(".error").forEach((element) => (element.textContent = ""));
  const body = (nested ? error.body[nested] : error.body) || {};
  let placed = false;
  if (error.status === 400 && typeof body === "object") {
    for (const [name, messages] of Object.entries(body)) {
      const element = document.getElementById(`error-${prefix}${name}`);
      if (element) {
        element.textContent = [].concat(messages).join(" ");
        placed = true;
      }
    }
  }
  if (!placed) document.getElementById(form).textContent = error.message;
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (value !== false && value !== null && value !== undefined) {
      node.setAttribute(name, value === true ? "" : value);
    }
  }
  node.append(...children);
  return node;
}
