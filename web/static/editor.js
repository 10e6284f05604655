// The post editor: live in-character check with one-click fixes and undo, the model's "Fix the findings"
// proposal, grapheme counters, thread parts, and the insert-text API.
// Without JavaScript the form still works: the server adds/removes parts and checks on submit.
(() => {
  "use strict";
  const form = document.getElementById("post-editor");
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

  // ----- the live check, its findings and their one-click fixes -----
  // Finding offsets are code points (Python's), not the UTF-16 units a JavaScript string counts in.
  const codePoints = (text) => Array.from(text);
  const unitIndex = (text, points) => codePoints(text).slice(0, points).join("").length;
  const spanText = (text, finding) => codePoints(text).slice(finding.start, finding.end).join("");
  const quote = (text) => `‘${text.length > 60 ? `${text.slice(0, 57).trimEnd()}…` : text}’`;
  const fixMessage = document.getElementById("fix-message");
  const undoButton = document.getElementById("fix-undo");
  const confidence = document.getElementById("check-confidence");
  let lastResult = null;
  let lastParts = null; // the texts the shown findings were computed from
  const undoStack = []; // {id, before, after, start, end}: one-click changes, newest last

  // The server sends the headline with a live check; a drafting variant's check is worded here the same way.
  const VERDICT_WORDS = { pass: "in character", warn: "worth a second look", fail: "fails the check" };
  const headlineOf = (check) => `${check.score}/100 — ${VERDICT_WORDS[check.verdict] || check.verdict}`;

  function announce(text) {
    fixMessage.textContent = text;
  }

  // What one replacement does, in words: the button's label for screen readers and the announcement after.
  function describeFix(finding, replacement, parts) {
    if (finding.start === null || finding.start === undefined) return `Add ${quote(replacement)} at the end`;
    const old = spanText(parts[finding.part - 1] || "", finding);
    return replacement === "" ? `Delete ${quote(old)}` : `Replace ${quote(old)} with ${quote(replacement)}`;
  }

  function fixButtons(finding, index, parts, many) {
    return finding.replacements.map((replacement, choice) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small fix-apply";
      button.dataset.finding = String(index);
      button.dataset.choice = String(choice);
      const appended = finding.start === null || finding.start === undefined;
      button.textContent = replacement === "" ? "Delete" : appended ? `Add ${replacement}` : replacement;
      button.setAttribute("aria-label", describeFix(finding, replacement, parts) + (many ? ` in part ${finding.part}` : ""));
      return button;
    });
  }

  function renderResult(result, parts) {
    lastResult = result;
    lastParts = parts;
    const areas = textareas();
    const problems = result.findings.filter((f) => f.severity !== "info");
    const headline = result.headline || headlineOf(result);
    summary.textContent = `Score ${headline}. ` +
      (problems.length ? `${problems.length} finding${problems.length === 1 ? "" : "s"}.` : "No problems found.");
    summary.className = `verdict-${result.verdict}`;
    confidence.textContent = result.confidence_note || "";
    confidence.hidden = !result.confidence_note;
    findingsList.replaceChildren();
    result.findings.forEach((finding, index) => {
      const item = document.createElement("li");
      item.className = `finding sev-${finding.severity}`;
      const where = areas.length > 1 && finding.part ? `Part ${finding.part}: ` : "";
      const platform = finding.platform ? ` (${finding.platform})` : "";
      const badge = document.createElement("span");
      badge.className = "sev-badge";
      badge.textContent = finding.severity;
      item.append(badge, ` ${where}${finding.message}${platform}`);
      const replacements = finding.replacements || [];
      if (replacements.length) {
        const label = document.createElement("span");
        label.className = "fix-label";
        label.textContent = replacements.every((r) => r === "") ? "Fix:" : "Use:";
        const line = document.createElement("span");
        line.className = "fix-line";
        line.append(label, ...fixButtons(finding, index, parts, areas.length > 1));
        item.append(line);
      } else if (finding.suggestion) {
        const hint = document.createElement("span");
        hint.className = "fix-hint";
        hint.textContent = finding.suggestion;
        item.append(" ", hint);
      }
      findingsList.append(item);
    });
    areas.forEach((area, index) => renderMarks(area, result.findings.filter((f) => f.part === index + 1)));
    showFixButton();
  }

  const channelIds = () => Array.from(form.querySelectorAll("input[name=channels]:checked")).map((box) => box.value);
  async function postJson(url, payload, signal) {
    const response = await fetch(url, {
      method: "POST", signal, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(payload),
    });
    const data = await response.json().catch(() => ({}));
    return { response, data };
  }

  function stopChecks() {
    clearTimeout(timer);
    if (inFlight) inFlight.abort();
    inFlight = null;
  }

  async function runCheck() {
    const parts = textareas().map((area) => area.value);
    if (!parts.some((text) => text.trim())) {
      summary.textContent = "Start typing: the check runs as you write.";
      findingsList.innerHTML = "";
      lastResult = null;
      showFixButton();
      return;
    }
    stopChecks();
    const controller = new AbortController();
    inFlight = controller;
    try {
      const { response, data } = await postJson(form.dataset.checkUrl,
        { character: form.dataset.character, parts, channels: channelIds() }, controller.signal);
      if (!response.ok) throw new Error(data.error || response.statusText);
      // A check of text that has changed since is stale: a newer one is on its way.
      if (textareas().every((area, i) => area.value === parts[i])) renderResult(data, parts);
    } catch (error) {
      if (error.name !== "AbortError") summary.textContent = `The check is unavailable right now (${error.message}).`;
    } finally {
      if (inFlight === controller) inFlight = null;
    }
  }

  function scheduleCheck() {
    clearTimeout(timer);
    timer = setTimeout(runCheck, 450);
  }

  // Replace one area's text as a single undoable step, keeping its caret where it was for the undo.
  function replaceText(area, text, caret) {
    undoStack.push({ id: area.id, before: area.value, after: text, start: area.selectionStart, end: area.selectionEnd });
    area.value = text;
    if (caret !== undefined) area.setSelectionRange(caret, caret);
    updateCounter(area);
    undoButton.hidden = false;
    scheduleAutosave();
  }

  function sameFinding(old, oldParts) {
    const oldText = old.start === null || old.start === undefined ? null : spanText(oldParts[old.part - 1], old);
    return (candidate) => candidate.check === old.check && candidate.part === old.part &&
      (oldText === null ? candidate.start === null || candidate.start === undefined
        : Number.isInteger(candidate.start) && spanText(lastParts[candidate.part - 1], candidate) === oldText);
  }

  async function applyFix(index, choice) {
    let finding = lastResult.findings[index];
    const replacement = finding.replacements[choice];
    const changed = textareas().some((area, i) => area.value !== lastParts[i]);
    if (changed) {
      // The draft changed since this check: check again, then apply only if the same finding is still there.
      const before = lastParts;
      await runCheck();
      finding = lastResult && lastResult.findings.find(sameFinding(finding, before));
      if (!finding || !finding.replacements.includes(replacement)) {
        announce("The draft changed since the check and that finding is gone, so nothing was replaced.");
        return;
      }
    }
    stopChecks();
    const parts = textareas().map((area) => area.value);
    const area = textareas()[finding.part - 1];
    const expected = Number.isInteger(finding.start) ? spanText(parts[finding.part - 1], finding) : "";
    const what = describeFix(finding, replacement, parts);
    try {
      const { response, data } = await postJson(form.dataset.applyUrl, {
        character: form.dataset.character, parts, channels: channelIds(),
        fix: { part: finding.part, start: finding.start ?? null, end: finding.end ?? null, expected, replacement },
      });
      if (response.status === 409 && data.check) {
        renderResult(data.check, parts);
        announce(`${data.error} Nothing was replaced.`);
        return;
      }
      if (!response.ok) throw new Error(data.error || response.statusText);
      if (area.value !== parts[finding.part - 1]) {
        announce("You kept typing, so nothing was replaced; apply it again.");
        scheduleCheck();
        return;
      }
      replaceText(area, data.text, unitIndex(data.text, data.caret));
      parts[finding.part - 1] = data.text;
      renderResult(data.check, parts);
      announce(`${what}: done. The check ran again.`);
      undoButton.focus();
    } catch (error) {
      announce(`The fix could not be applied (${error.message}). Nothing changed.`);
    }
  }

  findingsList.addEventListener("click", (event) => {
    const button = event.target.closest("button.fix-apply");
    if (button && lastResult) applyFix(Number(button.dataset.finding), Number(button.dataset.choice));
  });

  undoButton.addEventListener("click", () => {
    const step = undoStack.pop();
    undoButton.hidden = !undoStack.length;
    const area = step && document.getElementById(step.id);
    if (!area || area.value !== step.after) {
      undoStack.length = 0;
      undoButton.hidden = true;
      announce("The text has changed since, so there is nothing to undo here; your browser's undo still works.");
      return;
    }
    stopChecks();
    area.value = step.before;
    area.focus();
    area.setSelectionRange(step.start, step.end);
    updateCounter(area);
    runCheck();
    announce("Undone: the text is back as it was.");
  });

  // ----- "Fix the findings": the model rewrites a part; the writer accepts or discards the proposal -----
  const fixButton = document.getElementById("fix-findings");
  const proposal = document.getElementById("fix-proposal");
  let proposed = null; // {area, basedOn, text}
  let fixing = null;

  function fixTarget() {
    if (!lastResult) return null;
    const areas = textareas();
    const withFindings = new Set(lastResult.findings.filter((f) => f.severity !== "info" && f.part).map((f) => f.part));
    const focused = lastFocused ? areas.indexOf(lastFocused) + 1 : 0;
    const part = withFindings.has(focused) ? focused : Math.min(...withFindings);
    return Number.isFinite(part) ? { part, area: areas[part - 1] } : null;
  }

  function showFixButton() {
    if (!fixButton) return;
    const target = fixTarget();
    fixButton.hidden = !target;
    if (target) fixButton.textContent = textareas().length > 1 ? `Fix the findings in part ${target.part}` : "Fix the findings";
  }

  function closeProposal() {
    proposal.hidden = true;
    proposed = null;
  }

  if (fixButton) {
    fixButton.addEventListener("click", async () => {
      const target = fixTarget();
      if (!target || fixing) return;
      closeProposal();
      fixing = new AbortController();
      fixButton.disabled = true;
      const platform = selectedPlatforms()[0] || "";
      announce(`Asking the model to rewrite ${textareas().length > 1 ? `part ${target.part}` : "the draft"} to fix the findings…`);
      try {
        const basedOn = target.area.value;
        const { response, data } = await postJson(fixButton.dataset.url,
          { character: form.dataset.character, draft: basedOn, mode: "fix", platform }, fixing.signal);
        const variant = (data.variants || [])[0];
        if (!response.ok || !variant) throw new Error(data.error || "no rewrite came back");
        proposed = { area: target.area, basedOn, text: variant.text };
        document.getElementById("fix-proposal-text").textContent = variant.text;
        const check = variant.check;
        const left = check.findings.filter((f) => f.severity !== "info");
        document.getElementById("fix-proposal-check").textContent = `Checked again: ${headlineOf(check)}; ` +
          (left.length ? `${left.length} finding${left.length === 1 ? "" : "s"} left.` : "no findings left.");
        document.getElementById("fix-proposal-findings").replaceChildren(...left.map((f) => {
          const item = document.createElement("li");
          item.className = `finding sev-${f.severity}`;
          item.textContent = f.message;
          return item;
        }));
        proposal.hidden = false;
        announce("The model's proposal is ready below: accept it or discard it. Your draft has not changed.");
        document.getElementById("fix-proposal-title").focus();
      } catch (error) {
        announce(error.name === "AbortError" ? "Cancelled." : `The model could not fix it (${error.message}). Nothing changed.`);
      } finally {
        fixButton.disabled = false;
        fixing = null;
      }
    });
    document.getElementById("fix-accept").addEventListener("click", () => {
      if (!proposed) return;
      const { area, basedOn, text } = proposed;
      if (area.value !== basedOn) {
        announce("The draft changed since you asked, so the proposal no longer fits it. Discard it and ask again.");
        return;
      }
      stopChecks();
      replaceText(area, text, text.length);
      closeProposal();
      runCheck();
      announce("Accepted the model's rewrite. Undo brings your own text back.");
      undoButton.focus();
    });
    document.getElementById("fix-discard").addEventListener("click", () => {
      closeProposal();
      announce("Discarded the proposal. Your draft is unchanged.");
      fixButton.focus();
    });
  }

  form.addEventListener("input", (event) => {
    if (event.target.matches("textarea.gr-post-text")) {
      updateCounter(event.target);
      scheduleCheck();
      if (event.isTrusted && undoStack.length) {
        // Typing takes over: the one-click undo would throw the new words away (the browser's own undo stays).
        undoStack.length = 0;
        undoButton.hidden = true;
      }
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
    const text = detail.mode === "append" && area.value ? `${area.value.replace(/\s+$/, "")}\n${detail.text}` : detail.text;
    replaceText(area, text, text.length);
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  });

  // ----- drafts are never lost: autosave to the server, switch character in place, warn before leaving -----
  const autosaveStatus = document.getElementById("autosave-status");
  const draftKey = form.querySelector("input[name=draft_key]");
  const campaign = form.querySelector("select[name=campaign]");
  let autosaveTimer = null;
  let autosaveChain = Promise.resolve();
  let lastAutosaved = null;
  let submitting = false;

  function draftNow() {
    return {
      character: form.dataset.character,
      parts: Array.from(partsList.querySelectorAll("li.part")).map((item) => ({
        text: item.querySelector("textarea").value,
        alt: (item.querySelector("input[name$='-alt']") || { value: "" }).value,
      })),
      channel_ids: channelIds().map(Number),
      campaign_id: campaign && campaign.value ? Number(campaign.value) : null,
    };
  }
  const loaded = JSON.stringify(draftNow());
  const unsaved = () => form.dataset.unsaved !== undefined || JSON.stringify(draftNow()) !== loaded;

  async function autosaveNow(keepalive) {
    clearTimeout(autosaveTimer);
    const draft = draftNow();
    const body = JSON.stringify({ ...draft, post_id: form.dataset.postId || null, draft_key: draftKey ? draftKey.value : "" });
    if (submitting || body === lastAutosaved || !unsaved() || !draft.parts.some((part) => part.text.trim())) return;
    autosaveStatus.textContent = "Autosaving…";
    try {
      const response = await fetch(form.dataset.autosaveUrl, {
        method: "POST", credentials: "same-origin", keepalive: Boolean(keepalive),
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body,
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.error || response.statusText);
      lastAutosaved = body;
      autosaveStatus.textContent = data.message;
      autosaveStatus.classList.remove("autosave-failed");
    } catch (error) {
      autosaveStatus.textContent = `Not autosaved (${error.message}). Your text is still here: save it when you can.`;
      autosaveStatus.classList.add("autosave-failed");
    }
  }
  // One autosave at a time, in order, so an older text never lands after a newer one.
  const queueAutosave = (keepalive) => { autosaveChain = autosaveChain.then(() => autosaveNow(keepalive)); };
  function scheduleAutosave() {
    clearTimeout(autosaveTimer);
    autosaveTimer = setTimeout(() => queueAutosave(false), 1500);
  }

  form.addEventListener("input", scheduleAutosave);
  form.addEventListener("change", scheduleAutosave);
  form.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("beforeunload", (event) => {
    if (submitting || !unsaved()) return;
    queueAutosave(true);
    event.preventDefault();
    event.returnValue = "";
  });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") queueAutosave(true); });

  // Switching character on a new draft swaps its channels and scale in place: the text stays as typed.
  const characterSelect = form.querySelector("select[name=character]");
  if (characterSelect) {
    form.querySelector(".switch-button").hidden = true;
    characterSelect.addEventListener("change", async () => {
      const slug = characterSelect.value;
      const url = `${characterSelect.dataset.switchUrl}?character=${encodeURIComponent(slug)}`;
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (!response.ok) throw new Error(response.statusText);
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        form.querySelector(".channel-picker").replaceWith(page.querySelector(".channel-picker"));
        document.querySelector(".check-scale").textContent = page.querySelector(".check-scale").textContent;
        document.getElementById("preview-persona").textContent = page.getElementById("preview-persona").textContent;
        schedulePreview();
        const zoneNote = form.querySelector(".due-zone");
        if (zoneNote) zoneNote.replaceWith(page.querySelector(".due-zone"));
        form.dataset.character = slug;
        history.replaceState(null, "", url);
        textareas().forEach(updateCounter);
        announce(`Now writing as ${characterSelect.selectedOptions[0].textContent}; your text is kept.`);
        runCheck();
        scheduleAutosave();
      } catch (error) {
        announce(`Could not switch to that character (${error.message}); your text is kept.`);
      }
    });
  }

  // ----- previews: the post as each of its networks will show it, thread and images included -----
  const previewSection = document.querySelector(".previews");
  const previewGrid = document.getElementById("previews");
  const NETWORKS = { bluesky: "Bluesky", mastodon: "Mastodon" };
  const TOKEN = /(https?:\/\/[^\s<>"]+|\b(?:[\w-]+\.)+[a-z]{2,}(?:\/[^\s<>"]*)?)|(@[\w.-]+(?:@[\w.-]+)?)|(#[\p{L}\p{N}_]+)/giu;
  const LINK = /https?:\/\/[^\s<>"]+|\b(?:[\w-]+\.)+[a-z]{2,}(?:\/[^\s<>"]*)?/gi;
  let previewFrame = 0;

  const persona = () => JSON.parse(document.getElementById("preview-persona").textContent);

  // The length as the network counts it (its table is the server's): graphemes, or code points with links fixed.
  function measure(kind, text) {
    const limit = LIMITS[kind];
    if (limit.counting === "graphemes") return graphemes(text);
    const links = text.match(LINK) || [];
    return Array.from(text).length + links.reduce((sum, link) => sum + (limit.link_length || link.length) - Array.from(link).length, 0);
  }

  // Text with links, mentions and hashtags marked, built as nodes so nothing typed is read as HTML.
  function richText(text) {
    const box = document.createElement("p");
    box.className = "preview-text";
    let cursor = 0;
    for (const match of text.matchAll(TOKEN)) {
      box.append(text.slice(cursor, match.index));
      const token = document.createElement("span");
      token.className = match[1] ? "pv-link" : match[2] ? "pv-mention" : "pv-tag";
      token.textContent = match[0];
      box.append(token);
      cursor = match.index + match[0].length;
    }
    box.append(text.slice(cursor));
    return box;
  }

  function partImage(item) {
    const alt = (item.querySelector("input[name$='-alt']") || { value: "" }).value;
    const file = item.querySelector("input[type=file]");
    const dropped = item.querySelector("input[name$='-drop_image']:checked");
    if (file && file.files && file.files[0]) {
      if (!file.previewUrl || file.previewFor !== file.files[0]) {
        file.previewUrl = URL.createObjectURL(file.files[0]);
        file.previewFor = file.files[0];
      }
      return { src: file.previewUrl, alt };
    }
    const kept = item.querySelector("img.thumb");
    return kept && !dropped ? { src: kept.src, alt } : null;
  }

  function previewPost(kind, who, part, position, total) {
    const post = document.createElement("article");
    post.className = `pv-post pv-${kind}`;
    const head = document.createElement("div");
    head.className = "pv-head";
    const avatar = document.createElement(who.avatar ? "img" : "span");
    avatar.className = "pv-avatar";
    if (who.avatar) { avatar.src = who.avatar; avatar.alt = ""; } else { avatar.textContent = who.name.slice(0, 1); avatar.setAttribute("aria-hidden", "true"); }
    const names = document.createElement("div");
    const name = document.createElement("strong");
    name.textContent = who.name;
    const handle = document.createElement("span");
    handle.className = "pv-handle";
    const own = who.handles[kind];
    handle.textContent = own ? `@${own.replace(/^@/, "")}` : kind === "feed" ? "Greenroom feed" : "handle not set in the bible";
    names.append(name, " ", handle);
    head.append(avatar, names);
    post.append(head, richText(part.text || " "));
    if (part.image) {
      const figure = document.createElement("figure");
      figure.className = "pv-image";
      const img = document.createElement("img");
      img.src = part.image.src;
      img.alt = part.image.alt;
      const badge = document.createElement("figcaption");
      badge.textContent = part.image.alt ? `ALT: ${part.image.alt}` : "No alt text yet";
      badge.classList.toggle("pv-missing-alt", !part.image.alt);
      figure.append(img, badge);
      post.append(figure);
    }
    const foot = document.createElement("p");
    foot.className = "pv-foot";
    if (kind in LIMITS) {
      const left = LIMITS[kind].max_chars - measure(kind, part.text);
      foot.textContent = left >= 0 ? `${left} left` : `${-left} over the limit`;
      foot.classList.toggle("pv-over", left < 0);
    }
    if (total > 1) foot.append(`${foot.textContent ? " · " : ""}${position + 1}/${total}`);
    post.append(foot);
    return post;
  }

  function renderPreviews() {
    previewFrame = 0;
    if (!previewSection) return;
    const who = persona();
    const items = Array.from(partsList.querySelectorAll("li.part"));
    const parts = items.map((item) => ({ text: item.querySelector("textarea").value, image: partImage(item) }));
    const kinds = [...new Set(selectedPlatforms())];
    const columns = kinds.length ? kinds : ["feed"];
    previewGrid.replaceChildren(...columns.map((kind) => {
      const column = document.createElement("section");
      column.className = "pv-column";
      column.setAttribute("aria-label", `${NETWORKS[kind] || "Feed"} preview`);
      const title = document.createElement("h3");
      title.textContent = NETWORKS[kind] || "Feed and webhooks";
      const thread = document.createElement("div");
      thread.className = parts.length > 1 ? "pv-thread" : "";
      thread.append(...parts.map((part, index) => previewPost(kind, who, part, index, parts.length)));
      column.append(title, thread);
      return column;
    }));
  }

  function schedulePreview() {
    if (!previewFrame) previewFrame = requestAnimationFrame(renderPreviews);
  }

  if (previewSection) {
    previewSection.hidden = false;
    form.addEventListener("input", schedulePreview);
    form.addEventListener("change", schedulePreview);
    form.addEventListener("click", (event) => { if (event.target.closest("button[name=op]")) schedulePreview(); });
    document.addEventListener("greenroom:insert-text", schedulePreview);
    renderPreviews();
  }

  textareas().forEach(updateCounter);
  renumber();
  if (textareas().some((area) => area.value.trim())) runCheck();
})();
