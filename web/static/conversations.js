// The reply box of a conversation: a counter in the network's own units, the post editor's live in-character
// check (the same endpoint), and "Draft a reply" through the drafting help with the thread as context.
// Without JavaScript the form still works: the server checks length and character when it saves.
(() => {
  "use strict";
  const form = document.getElementById("reply");
  if (!form) return;
  const area = document.getElementById("reply-text");
  const counter = document.getElementById("reply-count");
  const summary = document.getElementById("check-summary");
  const findings = document.getElementById("check-findings");
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const LIMITS = JSON.parse(document.getElementById("platform-limits").textContent);
  const network = LIMITS[form.dataset.network];
  const segmenter = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  const VERDICT_WORDS = { pass: "in character", warn: "worth a second look", fail: "fails the check" };
  let timer = null;
  let inFlight = null;

  function length(text) {
    if (network && network.counting === "graphemes") return segmenter ? Array.from(segmenter.segment(text)).length : Array.from(text).length;
    return Array.from(text).length;
  }
  function updateCounter() {
    const limit = Number(form.dataset.limit);
    const count = length(area.value);
    counter.textContent = `${count} / ${limit}`;
    counter.classList.toggle("over", count > limit);
  }

  async function postJson(url, payload, signal) {
    const response = await fetch(url, {
      method: "POST", signal, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(payload),
    });
    return { response, data: await response.json().catch(() => ({})) };
  }

  function showFindings(list, items) {
    list.replaceChildren(...items.map((finding) => {
      const item = document.createElement("li");
      item.className = `finding sev-${finding.severity}`;
      const badge = document.createElement("span");
      badge.className = "sev-badge";
      badge.textContent = finding.severity;
      item.append(badge, ` ${finding.message}`);
      if (finding.suggestion) item.append(` ${finding.suggestion}`);
      return item;
    }));
  }

  async function runCheck() {
    const text = area.value;
    if (!text.trim()) {
      summary.textContent = "Start typing: the check runs as you write.";
      findings.replaceChildren();
      return;
    }
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    try {
      const channels = form.dataset.channel ? [form.dataset.channel] : [];
      const { response, data } = await postJson(form.dataset.checkUrl,
        { character: form.dataset.character, parts: [text], channels }, controller.signal);
      if (!response.ok) throw new Error(data.error || response.statusText);
      if (area.value !== text) return; // a newer check is on its way
      const problems = data.findings.filter((f) => f.severity !== "info");
      summary.textContent = `Score ${data.headline || `${data.score}/100 — ${VERDICT_WORDS[data.verdict]}`}. ` +
        (problems.length ? `${problems.length} finding${problems.length === 1 ? "" : "s"}.` : "No problems found.");
      summary.className = `verdict-${data.verdict}`;
      showFindings(findings, data.findings);
    } catch (error) {
      if (error.name !== "AbortError") summary.textContent = `The check is unavailable right now (${error.message}).`;
    } finally {
      if (inFlight === controller) inFlight = null;
    }
  }

  area.addEventListener("input", () => {
    updateCounter();
    clearTimeout(timer);
    timer = setTimeout(runCheck, 450);
  });
  updateCounter();
  if (area.value.trim()) runCheck();

  // ----- "Draft a reply": checked variants from the model, the thread as what it answers -----
  const draftButton = document.getElementById("draft-reply");
  if (!draftButton || !form.dataset.draftUrl) return;
  const box = form.querySelector(".convo-drafts");
  const status = document.getElementById("draft-status");
  const results = document.getElementById("draft-results");
  const context = JSON.parse(document.getElementById("reply-context").textContent);

  function variantCard(variant, index) {
    const item = document.createElement("li");
    item.className = `assist-card assist-${variant.check.verdict}`;
    const head = document.createElement("div");
    head.className = "assist-card-head";
    head.textContent = `Variant ${index + 1} · ${variant.check.score}/100 — ${VERDICT_WORDS[variant.check.verdict] || variant.check.verdict}`;
    const text = document.createElement("p");
    text.className = "assist-text";
    text.textContent = variant.text;
    const use = document.createElement("button");
    use.type = "button";
    use.className = "btn btn-small btn-primary";
    use.textContent = "Use this";
    use.setAttribute("aria-label", `Use variant ${index + 1}`);
    use.addEventListener("click", () => {
      area.value = variant.text;
      area.dispatchEvent(new Event("input", { bubbles: true }));
      area.focus();
      status.textContent = `Variant ${index + 1} is in the reply box: change it as you like before saving.`;
    });
    item.append(head, text, use);
    return item;
  }

  draftButton.addEventListener("click", async () => {
    box.hidden = false;
    results.replaceChildren();
    draftButton.disabled = true;
    status.textContent = "Asking the model for replies in character…";
    try {
      const { response, data } = await postJson(form.dataset.draftUrl, {
        character: form.dataset.character, post: context, platform: form.dataset.network, n: 3,
        brief: area.value.trim() ? `Build on this start: ${area.value.trim()}` : "",
      });
      if (!response.ok && !(data.variants || []).length) throw new Error(data.error || response.statusText);
      const variants = data.variants || [];
      results.replaceChildren(...variants.map(variantCard));
      status.textContent = variants.length
        ? `${variants.length} variant${variants.length === 1 ? "" : "s"} ready, each checked. Nothing changes in the reply box until you pick one.`
        : "No variant came back; write the reply by hand.";
    } catch (error) {
      status.textContent = `The drafting help is unavailable (${error.message}). Write the reply by hand.`;
    } finally {
      draftButton.disabled = false;
    }
  });
})();
