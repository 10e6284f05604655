// Lets editors reschedule posts by dragging them on the calendar (app.js tells the server the browser's zone).
// Without JavaScript every post links to its page, where a form reschedules it.
(() => {
  "use strict";
  const calendar = document.getElementById("calendar");
  if (!calendar || !calendar.dataset.moveUrl) return;
  const status = document.getElementById("cal-status");
  let dragged = null;

  function announce(message, isError) {
    status.textContent = message;
    status.classList.toggle("cal-status-error", Boolean(isError));
  }

  calendar.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".cal-event[draggable=true]");
    if (!dragged) return;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.postId);
    dragged.classList.add("dragging");
  });
  calendar.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    calendar.querySelectorAll(".drop-target").forEach((cell) => cell.classList.remove("drop-target"));
  });
  calendar.addEventListener("dragover", (event) => {
    const cell = event.target.closest("td[data-date]");
    if (!cell || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    calendar.querySelectorAll(".drop-target").forEach((other) => other !== cell && other.classList.remove("drop-target"));
    cell.classList.add("drop-target");
  });
  calendar.addEventListener("drop", async (event) => {
    const cell = event.target.closest("td[data-date]");
    if (!cell || !dragged) return;
    event.preventDefault();
    cell.classList.remove("drop-target");
    const chip = dragged;
    dragged = null;
    const body = { post_id: chip.dataset.postId, version: chip.dataset.version, date: cell.dataset.date };
    if (cell.dataset.hour !== undefined) body.time = `${cell.dataset.hour}:00`;
    announce("Moving…");
    try {
      const response = await fetch(calendar.dataset.moveUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": calendar.dataset.csrf },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => ({ error: response.statusText }));
      if (!response.ok) {
        announce(data.error || "The post could not be moved.", true);
        return;
      }
      chip.dataset.version = data.version;
      const label = chip.querySelector(".cal-time");
      if (label) label.textContent = new Date(data.due_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: calendar.dataset.zone });
      cell.querySelector(".cal-events").append(chip);
      cell.classList.remove("empty");
      announce(data.message);
    } catch (error) {
      announce(`The post could not be moved (${error.message}).`, true);
    }
  });
})();
