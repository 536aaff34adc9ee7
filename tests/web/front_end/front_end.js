// The smallest front end of each setup of docs/front-ends.md. `cookie`: same-site cookies,
// fetch with credentials and the X-CSRFToken of the login answer. `bearer`: no cookie at all,
// the access token in a header and the refresh token (in memory only) in the refresh body.
const params = new URLSearchParams(location.search);
const api = params.get("api");
const mode = params.get("mode");
let csrfToken = null;
let accessToken = null;
let refreshToken = null;

async function call(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (mode === "cookie" && csrfToken && method !== "GET") headers["X-CSRFToken"] = csrfToken;
  if (mode === "bearer" && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  const response = await fetch(api + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: mode === "cookie" ? "include" : "omit",
  });
  const data = response.status === 204 ? null : await response.json();
  return { status: response.status, data };
}

function keep(data) {
  csrfToken = data.csrf_token ?? csrfToken;
  if (mode === "bearer") {
    accessToken = data.access_token;
    refreshToken = data.refresh_token;
  }
}

function on(id, work) {
  document.getElementById(id).addEventListener("click", async () => {
    const state = document.getElementById("state");
    state.textContent = "";
    try {
      state.textContent = `${id}: ${await work()}`;
    } catch (error) {
      state.textContent = `${id}: failed (${error.name})`;
    }
  });
}

on("sign-in", async () => {
  const body = {
    username: document.getElementById("username").value,
    password: document.getElementById("password").value,
  };
  if (mode === "bearer") body.token_delivery = "body";
  const { status, data } = await call("POST", "/api/auth/login/", body);
  if (status !== 200) return `refused ${status}`;
  keep(data);
  return `signed in as ${data.user.username}`;
});

on("run", async () => {
  const { status, data } = await call("POST", "/api/scripts/hello/runs/?wait=20", {
    params: { name: "front end" },
  });
  if (status !== 200) return `refused ${status}`;
  return `${data.status}: ${data.result.greeting}`;
});

on("refresh", async () => {
  const body = mode === "bearer" ? { refresh: refreshToken, token_delivery: "body" } : {};
  const before = accessToken;
  const { status, data } = await call("POST", "/api/auth/refresh/", body);
  if (status !== 200) return `refused ${status}`;
  keep(data);
  return mode === "bearer" && accessToken === before ? "same token" : "refreshed";
});

on("me", async () => {
  const { status, data } = await call("GET", "/api/auth/me/");
  return status === 200 ? `${status} ${data.username}` : `${status}`;
});

on("sign-out", async () => {
  const { status } = await call("POST", "/api/auth/logout/");
  return `${status}`;
});
