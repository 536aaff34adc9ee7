// The JSON API as a browser front end uses it: HTTP-only cookies carry the tokens, the
// X-CSRFToken header proves the page is ours, and the access token is refreshed silently
// a minute before it expires and whenever the API answers 401.

const EXPIRES_KEY = "rbas_access_expires_at";
const REFRESH_MARGIN_MS = 60_000;
let refreshTimer = null;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

/** Remember when the access token expires and refresh it shortly before. */
export function tokenIssued(expiresInSeconds) {
  localStorage.setItem(EXPIRES_KEY, String(Date.now() + expiresInSeconds * 1000));
  scheduleRefresh();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const expiresAt = Number(localStorage.getItem(EXPIRES_KEY) || 0);
  if (!expiresAt) return;
  const delay = Math.max(expiresAt - Date.now() - REFRESH_MARGIN_MS, 1_000);
  refreshTimer = setTimeout(() => refresh(expiresAt), delay);
}

/** Rotate the refresh token once, even with several tabs open (each token works only once). */
export async function refresh(seenExpiry = null) {
  const run = async () => {
    const current = Number(localStorage.getItem(EXPIRES_KEY) || 0);
    if (seenExpiry !== null && current > seenExpiry) return true; // another tab refreshed
    const response = await fetch("/api/auth/refresh/", {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return false;
    tokenIssued((await response.json()).expires_in);
    return true;
  };
  return navigator.locks ? navigator.locks.request("rbas-refresh", run) : run();
}

export function goToSignIn() {
  localStorage.removeItem(EXPIRES_KEY);
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/login?next=${next}`);
}

/** Call the API; a 401 triggers one silent refresh and a retry, then the sign-in page. */
export async function api(path, { method = "GET", body } = {}, retried = false) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 401 && !path.startsWith("/api/auth/login")) {
    const seen = Number(localStorage.getItem(EXPIRES_KEY) || 0);
    if (!retried && (await refresh(seen))) return api(path, { method, body }, true);
    goToSignIn();
    throw new ApiError(401, { detail: "Please sign in." });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

scheduleRefresh();
