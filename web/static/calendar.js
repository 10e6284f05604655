// Lets editors reschedule posts by dragging them on the calendar (app.js tells the server the browser's zone).
// A move settles at once: the card lands in its new cell at full strength, and the confirmation offers Undo.
// Without JavaScript every post links to its page, where a form reschedules it.
(() => {
  "use strict";
  const calendar = document.getElementById("calendar");
  if (!calendar || !calendar.dataset.moveUrl) return;
  const toast = document.getElementById("cal-status");
  const toastText = toast.querySelector(".cal-toast-text");
  const undoButton = toast.querySelector(".cal-undo");
  let dragged = null;
  let undo = null; // {chip, cell, date, time}: how to put the last moved card back
  let hideTimer = null;

  function announce(message, { error = false, undoable = false } = {}) {
    clearTimeout(hideTimer);
    toastText.textContent = message;
    toast.classList.remove("is-idle");
    toast.classList.toggle("cal-status-error", error);
    undoButton.hidden = !undoable;
    // A confirmation stays long enough to undo; an error until the next move.
    if (!error) hideTimer = setTimeout(() => { toast.classList.add("is-idle"); undoButton.hidden = true; }, 12000);
  }

  // The drop target of a card's current due time, read in the calendar's zone (to move it back).
  function placeOf(chip) {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: calendar.dataset.zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date(chip.dataset.due));
    const part = (type) => parts.find((p) => p.type === type).value;
    return { date: `${part("year")}-${part("month")}-${part("day")}`, time: `${Number(part("hour"))}:00` };
  }

  async function move(chip, target) {
    const body = { post_id: chip.dataset.postId, version: chip.dataset.version, date: target.date };
    if (target.time !== undefined) body.time = target.time;
    const response = await fetch(calendar.dataset.moveUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": calendar.dataset.csrf },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(data.error || "The post could not be moved.");
    chip.dataset.version = data.version;
    chip.dataset.due = data.due_at;
    const label = chip.querySelector(".cal-time");
    if (label) label.textContent = new Date(data.due_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: calendar.dataset.zone });
    return data;
  }

  function place(chip, cell) {
    cell.querySelector(".cal-events").append(chip);
    cell.classList.remove("empty");
    cell.querySelectorAll(".cal-new").forEach((link) => { link.hidden = true; });
  }

  function settle(chip) {
    chip.classList.remove("dragging");
    calendar.querySelectorAll(".drop-target").forEach((cell) => cell.classList.remove("drop-target"));
  }

  calendar.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".cal-event[draggable=true]");
    if (!dragged) return;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.postId);
    dragged.classList.add("dragging");
  });
  calendar.addEventListener("dragend", (event) => {
    const chip = event.target.closest(".cal-event");
    if (chip) settle(chip);
    dragged = null;
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
    const chip = dragged;
    dragged = null;
    const from = { cell: chip.closest("td[data-date]"), next: chip.nextElementSibling, ...placeOf(chip) };
    // The card lands at once, at full strength; a refusal puts it back where it was.
    settle(chip);
    place(chip, cell);
    announce("Moving…");
    try {
      const target = { date: cell.dataset.date, time: cell.dataset.hour !== undefined ? `${cell.dataset.hour}:00` : undefined };
      const data = await move(chip, target);
      undo = { chip, ...from };
      announce(`${chip.querySelector(".cal-who").textContent}'s post: ${data.message}`, { undoable: true });
      undoButton.focus({ preventScroll: true });
    } catch (error) {
      from.cell.querySelector(".cal-events").insertBefore(chip, from.next);
      announce(`${error.message} It stays where it was.`, { error: true });
    }
  });

  undoButton.addEventListener("click", async () => {
    if (!undo) return;
    const { chip, cell, date, time } = undo;
    undo = null;
    undoButton.hidden = true;
    try {
      const target = cell.dataset.hour !== undefined ? { date, time } : { date };
      await move(chip, target);
      place(chip, cell);
      announce("Undone: the post is back at its time.");
      chip.focus();
    } catch (error) {
      announce(`Could not undo: ${error.message}`, { error: true });
    }
  });
})();
