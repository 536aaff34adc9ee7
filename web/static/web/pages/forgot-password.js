import { api } from "../api.js";
import { clearErrors, showErrors } from "../layout.js";

const form = document.getElementById("forgot-form");
const sent = document.getElementById("forgot-sent");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  sent.textContent = "";
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    // The same answer whether or not an account uses the address.
    const body = await api("/api/auth/password-reset/", {
      method: "POST",
      body: { email: form.elements.email.value.trim() },
    });
    sent.textContent = body.detail;
  } catch (error) {
    if (error.status === 429) {
      document.getElementById("error-forgot-form").textContent =
        `Too many links were asked for; wait before asking again. ${error.message}`;
    } else {
      showErrors(error, { prefix: "forgot-", form: "error-forgot-form" });
    }
  } finally {
    button.disabled = false;
  }
});
