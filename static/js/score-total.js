// Score sheet: keep the weighted total (Σ weight × score / maximum, out of 100) current as the judge types.
// The server renders the same figure, so without JavaScript the total shows what was last saved or sent.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.score-form");
  const total = form && form.querySelector("[data-score-total]");
  const count = form && form.querySelector("[data-score-count]");
  if (!total) return;
  const criteria = [...form.querySelectorAll("fieldset[data-weight]")];

  function update() {
    let sum = 0;
    let scored = 0;
    for (const fieldset of criteria) {
      const input = fieldset.querySelector("input[type=number]");
      const weight = Number(fieldset.dataset.weight);
      const max = Number(fieldset.dataset.max);
      const raw = input ? input.value.trim() : "";
      const value = Number(raw);
      // as the server counts: blank, out of range or not a half point is unscored
      if (raw === "" || !Number.isFinite(value) || value < 0 || value > max || (value * 2) % 1 !== 0) continue;
      sum += (weight * value) / max;
      scored += 1;
    }
    total.textContent = sum.toFixed(2);
    if (count) count.textContent = String(scored);
  }

  form.addEventListener("input", update);
  update();
});
