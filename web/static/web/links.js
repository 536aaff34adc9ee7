// The pages that emailed links open. A link carries its token in the URL's fragment (`#...`),
// which browsers never send to a server: the page reads it, takes it out of the address bar
// (and so out of the history), and posts it to the API.

export const NO_TOKEN =
  "This page works only with the link we emailed you. Open the link from the email again, " +
  "all of it: the part after # is what it carries.";

/** The token of the link that opened this page ("" if none), removed from the address bar. */
export function takeToken() {
  const token = location.hash.slice(1);
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return token;
}

/** What the API said about a link it cannot use (a 400 on `token`), or "". */
export function tokenProblem(error) {
  return error.status === 400 && error.body.token ? [].concat(error.body.token).join(" ") : "";
}

/** Say why the link cannot be used, in place of `form`. */
export function showLinkProblem(text, form) {
  document.getElementById("link-problem-text").textContent = text;
  document.getElementById("link-problem").hidden = false;
  form.hidden = true;
}

/** Whether the two password fields of `form` agree; says so on the second one if not. */
export function passwordsMatch(form, prefix, first = "password") {
  if (form.elements[first].value === form.elements.repeat_password.value) return true;
  document.getElementById(`error-${prefix}repeat_password`).textContent =
    "The two passwords are not the same.";
  form.elements.repeat_password.focus();
  return false;
}
