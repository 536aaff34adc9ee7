// An in-page confirmation: a modal <dialog> (the browser keeps focus inside it and closes it
// on Escape), with Cancel focused first, so a stray Enter never confirms.
import { element } from "./layout.js";

let dialog = null;

function build() {
  dialog = element("dialog", { id: "confirm-dialog", "aria-labelledby": "confirm-title",
                               "aria-describedby": "confirm-text" },
    element("h2", { id: "confirm-title" }),
    element("p", { id: "confirm-text" }),
    element("p", { class: "actions" },
      element("button", { type: "button", class: "secondary", value: "cancel", text: "Cancel" }),
      element("button", { type: "button", id: "confirm-yes", value: "yes" })));
  for (const button of dialog.querySelectorAll("button")) {
    button.addEventListener("click", () => dialog.close(button.value));
  }
  document.body.append(dialog);
}

/** Ask before an action; resolves to whether it was confirmed. Focus returns where it was. */
export function confirmAction({ title, text, confirm }) {
  if (!dialog) build();
  const returnTo = document.activeElement;
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-yes").textContent = confirm;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      returnTo?.focus();
      resolve(dialog.returnValue === "yes");
    }, { once: true });
    dialog.showModal();
    dialog.querySelector("button[value=cancel]").focus();
  });
}
