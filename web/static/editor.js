// The post editor: live in-character check, grapheme counters, thread parts, and the insert-text API.
// Without JavaScript the form still works: the server adds/removes parts and checks on submit.
(() => {
  "use strict";
  const form = document.getElementById("post-editor");
  const switcher = document.querySelector("[data-autosubmit]");
  if (switcher) switcher.addEventListener("change", () => switcher.form.submit());
  if (!form) return;

  const partsList = document.getElementById("parts");
  const summary = document.getElementById("check-summary");
  const findingsList = document.getElementById("check-findings");
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const segmenter = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  // The networks' limits, from the server's one table (characters/core/platforms.py via base.html).
  const LIMITS = JSON.parse(document.getElementById("platform-limits").textContent);
  let lastFocused = null;
  let timer = null;
  let inFlight = null;

  const textareas = () => Array.from(form.querySelectorAll("textarea.gr-post-text"));
  const graphemes = (text) => (segmenter ? Array.from(segmenter.segment(text)).length : Array.from(text).length);
  const selectedPlatforms = () => Array.from(form.querySelectorAll("input[name=channels]:checked"))
    .map((box) => box.dataset.platform).filter((kind) => kind in LIMITS);

  function updateCounter(area) {
    const counter = document.getElementById(`${area.id.replace(/-text$/, "")}-count`);
    if (!counter) return;
    const count = graphemes(area.value);
    const limits = selectedPlatforms().map((kind) => LIMITS[kind].max_chars);
    const limit = limits.length ? Math.min(...limits) : null;
    counter.textContent = limit ? `${count} / ${limit}` : `${count} characters`;
    counter.classList.toggle("over", limit !== null && count > limit);
  }

  function renumber() {
    const items = Array.from(partsList.querySelectorAll("li.part"));
    items.forEach((item, position) => {
      const label = item.querySelector(".part-head label");
      if (label) label.textContent = items.length === 1 ? "Post" : `Part ${position + 1}`;
      const remove = item.querySelector(".part-remove");
      if (remove) {
        remove.hidden = items.length === 1;
        remove.textContent = `Remove part ${position + 1}`;
      }
    });
  }

  function addPart() {
    const items = partsList.querySelectorAll("li.part");
    if (items.length >= Number(partsList.dataset.max || 50)) return null;
    const next = Math.max(-1, ...Array.from(items).map((item) => Number(item.dataset.index))) + 1;
    const html = document.getElementById("part-template").innerHTML
      .replaceAll("__i__", String(next)).replaceAll("__n__", String(items.length + 1));
    partsList.insertAdjacentHTML("beforeend", html);
    renumber();
    const area = document.getElementById(`parts-${next}-text`);
    area.focus();
    return area;
  }

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[name=op]");
    if (!button) return;
    if (button.value === "add_part") {
      event.preventDefault();
      addPart();
    } else if (button.value.startsWith("remove_part-")) {
      event.preventDefault();
      const item = button.closest("li.part");
      const neighbour = item.previousElementSibling || item.nextElementSibling;
      item.remove();
      renumber();
      if (neighbour) neighbour.querySelector("textarea").focus();
      scheduleCheck();
    }
  });

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // Show the part's text with each finding's span wrapped in <mark> (the textarea itself cannot hold marks).
  function renderMarks(area, findings) {
    const box = form.querySelector(`[data-marks-for="${area.id}"]`);
    if (!box) return;
    const spans = findings.filter((f) => Number.isInteger(f.start) && Number.isInteger(f.end) && f.end > f.start)
      .sort((a, b) => a.start - b.start);
    if (!spans.length) {
      box.hidden = true;
      box.innerHTML = "";
      return;
    }
    const chars = Array.from(area.value);
    let html = "";
    let cursor = 0;
    for (const finding of spans) {
      if (finding.start < cursor) continue;
      html += escapeHtml(chars.slice(cursor, finding.start).join(""));
      html += `<mark class="sev-${finding.severity}" title="${escapeHtml(finding.message)}">${escapeHtml(chars.slice(finding.start, finding.end).join(""))}</mark>`;
      cursor = finding.end;
    }
    html += escapeHtml(chars.slice(cursor).join(""));
    box.innerHTML = html;
    box.hidden = false;
  }

  function renderResult(result) {
    const areas = textareas();
    const problems = result.findings.filter((f) => f.severity !== "info");
    const verdictWords = { pass: "in character", warn: "worth a second look", fail: "fails the check" };
    summary.textContent = `Score ${result.score}: ${verdictWords[result.verdict] || result.verdict}. ` +
      (problems.length ? `${problems.length} finding${problems.length === 1 ? "" : "s"}.` : "No problems found.");
    summary.className = `verdict-${result.verdict}`;
    findingsList.innerHTML = "";
    for (const finding of result.findings) {
      const item = document.createElement("li");
      item.className = `finding sev-${finding.severity}`;
      const where = areas.length > 1 ? `Part ${finding.part}: ` : "";
      const platform = finding.platform ? ` (${finding.platform})` : "";
      item.textContent = `${where}${finding.message}${platform}`;
      if (finding.suggestion) item.textContent += ` Try: ${finding.suggestion}`;
      const badge = document.createElement("span");
      badge.className = "sev-badge";
      badge.textContent = finding.severity;
      item.prepend(badge, " ");
      findingsList.append(item);
    }
    areas.forEach((area, index) => renderMarks(area, result.findings.filter((f) => f.part === index + 1)));
  }

  async function runCheck() {
    const parts = textareas().map((area) => area.value);
    if (!parts.some((text) => text.trim())) {
      summary.textContent = "Start typing: the check runs as you write.";
      findingsList.innerHTML = "";
      return;
    }
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    const channels = Array.from(form.querySelectorAll("input[name=channels]:checked")).map((box) => box.value);
    try {
      const response = await fetch(form.dataset.checkUrl, {
        method: "POST", signal: inFlight.signal, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ character: form.dataset.character, parts, channels }),
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      renderResult(data);
    } catch (error) {
      if (error.name !== "AbortError") summary.textContent = `The check is unavailable right now (${error.message}).`;
    }
  }

  function scheduleCheck() {
    clearTimeout(timer);
    timer = setTimeout(runCheck, 450);
  }

  form.addEventListener("input", (event) => {
    if (event.target.matches("textarea.gr-post-text")) {
      updateCounter(event.target);
      scheduleCheck();
    }
  });
  form.addEventListener("change", (event) => {
    if (event.target.matches("input[name=channels]")) {
      textareas().forEach(updateCounter);
      scheduleCheck();
    }
  });
  form.addEventListener("focusin", (event) => {
    if (event.target.matches("textarea.gr-post-text")) lastFocused = event.target;
  });

  // Drafting help dispatches this event when the person picks a suggestion (see docs/editor.md).
  document.addEventListener("greenroom:insert-text", (event) => {
    const detail = event.detail || {};
    if (typeof detail.text !== "string") return;
    let area = detail.target ? document.getElementById(detail.target) : lastFocused || textareas()[0];
    if (detail.mode === "new-part") area = addPart() || area;
    if (!area || !area.matches("textarea.gr-post-text")) return;
    area.value = detail.mode === "append" && area.value ? `${area.value.replace(/\s+$/, "")}\n${detail.text}` : detail.text;
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  });

  textareas().forEach(updateCounter);
  renumber();
  if (textareas().some((area) => area.value.trim())) runCheck();
})();
