// A modal confirmation (native <dialog>: focus stays inside, Escape cancels).
import { h, uid } from "../dom.js";

export function confirmDialog({ title, message, confirm = "OK", cancel = "Cancel", danger = false }) {
  return new Promise((resolve) => {
    const titleId = uid("confirm");
    const yes = h("button", { type: "button", class: danger ? "danger" : "primary" }, confirm);
    const no = h("button", { type: "button" }, cancel);
    const dialog = h("dialog", { class: "confirm-dialog", "aria-labelledby": titleId, role: "alertdialog" },
      h("h2", { id: titleId }, title), h("p", null, message), h("div", { class: "actions" }, yes, no));
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (ev) => {
      ev.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}
