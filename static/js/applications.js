// The dataset picker of the application form: search the catalogue as one types, without leaving the page.
// Without JavaScript the "Search" button posts the form back and the server lists the matches instead.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const picker = document.querySelector("fieldset.picker[data-choices-url]");
  if (!picker) return;
  const input = picker.querySelector("input[type=search]");
  const button = picker.querySelector("[name=find]");
  const found = picker.querySelector(".picker-found");
  const chosen = picker.querySelector(".picker-chosen");
  let timer = null;
  let latest = 0;

  function choice(dataset) {
    const item = document.createElement("li");
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "dataset_ids";
    box.value = String(dataset.id);
    label.append(box, " ", dataset.title);
    if (dataset.department) {
      const meta = document.createElement("span");
      meta.className = "picker-meta";
      meta.textContent = `${dataset.department} · ${dataset.county}`;
      label.append(" ", meta);
    }
    item.append(label);
    return item;
  }

  async function search() {
    const ticket = ++latest;
    const url = new URL(picker.dataset.choicesUrl, window.location.href);
    url.searchParams.set("q", input.value.trim());
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok || ticket !== latest) return;
    const data = await response.json();
    const taken = new Set(Array.from(chosen.querySelectorAll("input:checked"), (box) => box.value));
    const items = data.items.filter((d) => !taken.has(String(d.id))).map(choice);
    if (!items.length) {
      const none = document.createElement("li");
      none.className = "hint";
      none.textContent = picker.dataset.noneText;
      items.push(none);
    }
    found.replaceChildren(...items);
  }

  button.addEventListener("click", (event) => {
    event.preventDefault();
    search();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      search();
    }
  });
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
  found.addEventListener("change", (event) => {
    if (event.target.checked) chosen.append(event.target.closest("li"));
  });
});
