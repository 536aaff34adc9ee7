// What every signed-in page shares: the navigation, signing out, plain notices, and the panel
// of an account that waits for its email address to be confirmed.
import { api, goToSignIn } from "./api.js";

export function notice(message) {
  const element = document.getElementById("notice");
  element.textContent = message;
  element.hidden = !message;
}

/** Thrown by `signedIn` on a page an account cannot use before its address is confirmed. */
export class AccountLimited extends Error {
  constructor() {
    super("Confirm your email address first.");
  }
}

const STATES = {
  "not-found": {
    title: "Not found",
    text: "There is nothing here: it may have been removed, or the link is wrong.",
  },
  forbidden: { title: "Not allowed", text: "Your account may not see this page." },
  error: {
    title: "Something went wrong",
    text: "The server could not answer this time. Try again in a moment.",
  },
  offline: {
    title: "You seem to be offline",
    text: "The page could not reach the server. Check your connection and try again.",
  },
};

/** Which state a page's failure is: "not-found", "forbidden", "error", "offline", or null for
 * an error the page itself explains (a refusal of a form, say). */
export function stateOf(error) {
  if (error instanceof TypeError) return "offline"; // fetch() rejects so when it gets no answer
  if (error.status === 404) return "not-found";
  if (error.status === 403) return "forbidden";
  if (error.status >= 500) return "error";
  return null;
}

/** Replace the page's content by one state: a heading, what happened, and a way on (back to
 * the scripts; try again for errors and being offline). `detail` adds the API's own reason. */
export function showState(state, detail = "") {
  const { title, text } = STATES[state];
  const retry = state === "error" || state === "offline";
  const section = element("section", { class: `state ${state}`, "data-state": state,
                                       "aria-labelledby": "state-title" },
    element("h1", { id: "state-title", tabindex: "-1", text: title }),
    element("p", { text }),
    ...(detail ? [element("p", { class: "muted", text: detail })] : []),
    element("p", { class: "actions" },
      ...(retry ? [element("button", { type: "button", id: "state-retry", text: "Try again" })]
        : []),
      element("a", { class: "button", href: "/", text: "Back to the scripts" })));
  const content = document.getElementById("content");
  content.replaceChildren(section);
  content.hidden = false;
  document.getElementById("notice").hidden = true;
  document.title = `${title} · simple RBAS`;
  document.getElementById("state-retry")?.addEventListener("click", () => location.reload());
  document.getElementById("state-title").focus();
}

/** The end of a page's main(): a not-found, forbidden, error or offline state, or else the
 * message as a notice; nothing when the verification panel already says it. */
export function failed(error, message = error.message) {
  if (error instanceof AccountLimited) return;
  const state = stateOf(error);
  if (!state) notice(message);
  else showState(state, state === "forbidden" ? message : "");
}

/** Ask for a new verification link, saying what the API answered in `status`. */
export async function resendVerification(button, status) {
  button.disabled = true;
  try {
    const body = await api("/api/auth/verify-email/resend/", { method: "POST" });
    status.className = "ok";
    status.textContent = body.detail;
  } catch (error) {
    status.className = "error";
    status.textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

function showVerificationPanel(me) {
  document.getElementById("verify-email-text").textContent =
    `Confirm your email address: we sent a link to ${me.email}. Until you follow it, your ` +
    "account can only change its profile and password. Look in your spam folder if nothing " +
    "arrived.";
  const button = document.getElementById("verify-email-resend");
  const status = document.getElementById("verify-email-status");
  button.addEventListener("click", () => resendVerification(button, status));
  document.getElementById("verify-email-panel").hidden = false;
}

/** Show who is signed in; returns the user (with `policies`), or goes to the sign-in page.
 * An account that must confirm its email address sees the verification panel instead of the
 * page (AccountLimited is thrown), unless the page works for it (`limited: true`). */
export async function signedIn({ limited = false } = {}) {
  const me = await api("/api/auth/me/");
  document.getElementById("whoami").textContent = `${me.username} (${me.level_name})`;
  document.getElementById("nav-users").hidden = !me.policies.includes("admin");
  document.getElementById("nav-secrets").hidden = !me.policies.includes("admin");
  document.getElementById("nav-schedules").hidden = !me.policies.includes("admin");
  document.getElementById("nav-applications").hidden = !me.policies.includes("admin");
  document.getElementById("nav-audit").hidden = !me.policies.includes("owner");
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await api("/api/auth/logout/", { method: "POST" });
    } finally {
      goToSignIn();
    }
  });
  if (me.must_verify_email) {
    showVerificationPanel(me);
    if (!limited) {
      document.getElementById("content").hidden = true;
      document.getElementById("verify-email-title").hidden = false; // the page's own is hidden
      throw new AccountLimited();
    }
  }
  return me;
}

/** The API's refusal (403, 409, 400) as one plain sentence. */
export function refusal(error) {
  return error.status === 400 && error.body && !error.body.detail
    ? Object.values(error.body).flat().join(" ") : error.message;
}

/** Empty every error message of the page. */
export function clearErrors() {
  document.querySelectorAll(".error").forEach((element) => (element.textContent = ""));
}

/** Put the API's field errors next to their fields (`error-<prefix><name>`); the rest on top. */
export function showErrors(error, { prefix = "", form = "error-form", nested = null } = {}) {
  clearErrors();
  const body = (nested ? error.body[nested] : error.body) || {};
  const unplaced = [];
  if (error.status === 400 && typeof body === "object" && !body.detail) {
    for (const [name, messages] of Object.entries(body)) {
      const text = [].concat(messages).join(" ");
      const element = document.getElementById(`error-${prefix}${name}`);
      if (element) element.textContent = text;
      else if (Array.isArray(body) || name === "non_field_errors") unplaced.push(text);
      else unplaced.push(`${name}: ${text}`); // a field this form does not show
    }
    if (unplaced.length) document.getElementById(form).textContent = unplaced.join(" ");
  } else {
    document.getElementById(form).textContent = error.message;
  }
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
