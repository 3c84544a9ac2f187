// Copy buttons: a button with data-copy="<input id>" copies that field's value to the clipboard.
// Without JavaScript the button stays hidden and the read-only field is selected and copied by hand.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const field = document.getElementById(button.dataset.copy);
    const status = document.querySelector(`[data-copy-status="${button.dataset.copy}"]`);
    if (!field) continue;
    field.addEventListener("focus", () => field.select());
    button.hidden = false;
    button.addEventListener("click", async () => {
      field.select();
      let said = button.dataset.failedText;
      try {
        await navigator.clipboard.writeText(field.value);
        said = button.dataset.copiedText;
      } catch (error) {
        // no clipboard (plain http, or refused): the field stays selected for Ctrl+C
      }
      if (status) status.textContent = said;
    });
  }
});
