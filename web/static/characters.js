// Bible editor rows: "Add" and "Remove" buttons. Without JavaScript the page still works: it always
// renders a few empty rows, and each row has a "Remove" checkbox that this script swaps for a button.
(() => {
  "use strict";
  const status = document.querySelector("[data-rows-status]");

  function announce(message) {
    if (status) status.textContent = message;
  }

  function renumber(list) {
    Array.from(list.children).forEach((row, position) => {
      row.querySelectorAll("[data-row-number]").forEach((number) => { number.textContent = String(position + 1); });
    });
  }

  function enhance(row) {
    row.querySelectorAll("[data-remove-check]").forEach((label) => { label.hidden = true; });
    row.querySelectorAll("[data-remove-row]").forEach((button) => { button.hidden = false; });
  }

  function setUp(group) {
    const list = group.querySelector("[data-row-list]");
    const template = group.querySelector("template[data-row-template]");
    const addButton = group.querySelector("[data-add-row]");
    const noun = group.dataset.noun || "row";
    if (!list || !template || !addButton) return;
    // New rows continue after the highest index on the page, so no two rows share field names.
    let nextIndex = Array.from(list.children).reduce((highest, row) => Math.max(highest, Number(row.dataset.index) + 1), 0);

    Array.from(list.children).forEach(enhance);
    addButton.hidden = false;

    addButton.addEventListener("click", () => {
      const holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replaceAll("__index__", String(nextIndex)).trim();
      const row = holder.firstElementChild;
      nextIndex += 1;
      enhance(row);
      list.append(row);
      renumber(list);
      row.querySelector("input:not([type=hidden]), textarea, select")?.focus();
      announce(`Added ${noun} ${list.children.length}.`);
    });

    list.addEventListener("click", (event) => {
      const button = event.target.closest("[data-remove-row]");
      if (!button) return;
      const row = button.closest("[data-row]");
      const neighbour = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber(list);
      // Keep keyboard focus nearby instead of dropping it to the top of the page.
      (neighbour?.querySelector("[data-remove-row]") || addButton).focus();
      announce(`Removed the ${noun}. ${list.children.length} left.`);
    });
  }

  document.querySelectorAll("[data-rows]").forEach(setUp);
})();
