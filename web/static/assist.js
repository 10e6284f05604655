// The drafting panel beside the post editor: streams checked variants in, and hands text to the editor only
// when the writer presses "Use this" (the greenroom:insert-text event). Cancel aborts the request; the server
// then stops the model.
(() => {
  const panel = document.getElementById("assist");
  if (!panel) return;
  const urls = JSON.parse(panel.dataset.urls);
  const results = panel.querySelector(".assist-results");
  const message = panel.querySelector(".assist-message");
  const cancelButton = panel.querySelector('[data-assist="cancel"]');
  const promptBox = panel.querySelector(".assist-prompt");
  let controller = null;
  let prompts = [];

  const $ = (selector) => document.querySelector(selector);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // What the editor holds (docs/editor.md): the character picked in its switcher (an existing post's own
  // character otherwise) and the text of its thread parts.
  function character() {
    const select = $('select[name="character"]');
    return (select && select.value) || panel.dataset.character || "";
  }
  function draftParts() {
    return Array.from(document.querySelectorAll("#post-editor textarea.gr-post-text")).map((area) => area.value);
  }
  function draftText() {
    return draftParts().filter((text) => text.trim()).join("\n\n");
  }
  // The editor's insert-text API: replace or append in the part last focused, or in the part `target` names;
  // "new-part" adds a part first. Only ever called from a button the writer pressed.
  function insert(text, mode, target) {
    const detail = { text, mode };
    if (target) detail.target = target;
    document.dispatchEvent(new CustomEvent("greenroom:insert-text", { detail, bubbles: true }));
  }

  function say(text, kind) {
    message.textContent = text;
    message.className = "assist-message" + (kind ? ` assist-${kind}` : "");
  }
  function busy(on) {
    panel.setAttribute("aria-busy", on ? "true" : "false");
    cancelButton.hidden = !on;
    panel.querySelectorAll("[data-assist]").forEach((button) => {
      if (button !== cancelButton) button.toggleAttribute("data-busy", on);
    });
  }

  function body(extra) {
    return JSON.stringify({ character: character(), platform: $("#assist-platform").value, ...extra });
  }
  async function post(url, payload, signal) {
    const response = await fetch(url, {
      method: "POST", signal, body: payload,
      headers: { "Content-Type": "application/json", "X-CSRFToken": panel.dataset.csrf, Accept: "text/event-stream, application/json" },
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new Error(data.error || `The server answered ${response.status}. Nothing in your draft changed.`);
    }
    return response;
  }

  // ----- variants -----
  function card(index) {
    let item = results.querySelector(`[data-variant="${index}"]`);
    if (item) return item;
    item = el("li", "assist-card");
    item.dataset.variant = index;
    const head = el("div", "assist-card-head");
    head.append(el("span", "assist-label", `Variant ${index + 1}`), el("span", "assist-score"), el("span", "assist-note"));
    item.append(head, el("p", "assist-text"), el("ul", "assist-findings"), el("div", "assist-use"));
    results.append(item);
    return item;
  }
  // A finding and, once, how to fix it: its replacements when it has them, else its suggestion.
  function fixHint(f) {
    const words = (f.replacements || []).filter((r) => r !== "").map((r) => `‘${r}’`);
    if (!(f.replacements || []).length) return f.suggestion || "";
    if (f.start === null || f.start === undefined) return `Add ${words.join(" or ")} at the end.`;
    if (!words.length) return "Delete it.";
    return `Use ${words.join(" or ")}${f.replacements.includes("") ? ", or delete it" : ""}.`;
  }
  function showFindings(list, findings) {
    list.replaceChildren(...findings.filter((f) => f.severity !== "info").map((f) => {
      const li = el("li", `assist-finding-${f.severity}`, f.message);
      const hint = fixHint(f);
      if (hint) li.append(el("span", "muted", ` ${hint}`));
      return li;
    }));
  }
  function useButtons(item, text) {
    const replace = el("button", "btn btn-small btn-primary", "Use this");
    replace.type = "button";
    replace.addEventListener("click", () => { insert(text, "replace"); say("Replaced the draft with this variant.", "ok"); });
    const append = el("button", "btn btn-small", "Append");
    append.type = "button";
    append.addEventListener("click", () => { insert(text, "append"); say("Added this variant to the end of the draft.", "ok"); });
    item.querySelector(".assist-use").replaceChildren(replace, append);
  }
  const handlers = {
    prompt(data) {
      prompts.push(data);
      const first = prompts[0];
      promptBox.hidden = false;
      const dropped = first.dropped.length > 3
        ? `${first.dropped.slice(0, 3).join(", ")} and ${first.dropped.length - 3} more` : first.dropped.join(", ");
      promptBox.querySelector(".assist-prompt-meta").textContent =
        `About ${first.tokens} of ${first.budget} tokens` + (dropped ? `; left out for room: ${dropped}` : "") +
        (prompts.length > 1 ? `; plus ${prompts.length - 1} repair request(s)` : "");
      promptBox.querySelector(".assist-prompt-text").textContent = prompts.map((p, i) =>
        (i ? `\n===== repair of variant ${p.variant + 1} =====\n` : "") +
        p.messages.map((m) => `[${m.role}]\n${m.content}`).join("\n\n")).join("\n");
    },
    delta(data) {
      const text = card(data.variant).querySelector(".assist-text");
      text.textContent += data.text;
    },
    retrying(data) {
      const item = card(data.variant);
      item.querySelector(".assist-note").textContent = "The answer came back broken: asking again…";
      item.querySelector(".assist-text").textContent = "";
    },
    repairing(data) {
      const item = card(data.variant);
      item.querySelector(".assist-note").textContent = "Breaks a rule: fixing it…";
      item.querySelector(".assist-text").textContent = "";
      showFindings(item.querySelector(".assist-findings"), data.findings);
    },
    variant(data) {
      const item = card(data.variant);
      const check = data.check;
      item.classList.add(`assist-${check.verdict}`);
      item.querySelector(".assist-text").textContent = data.text;
      const score = item.querySelector(".assist-score");
      score.textContent = `${check.score} · ${check.verdict}`;
      score.className = `assist-score score-${check.verdict}`;
      score.title = "In-character score out of 100: how closely it matches the character's bible and canon";
      const how = data.repair === "rules" ? "Fixed by rule" : "Repaired by the model";
      item.querySelector(".assist-note").textContent = data.repaired
        ? `${how} (was ${data.before_repair.check.score} · ${data.before_repair.check.verdict})` : "";
      showFindings(item.querySelector(".assist-findings"), check.findings);
      useButtons(item, data.text);
    },
    variant_error(data) {
      const item = card(data.variant);
      item.classList.add("assist-failed");
      item.querySelector(".assist-note").textContent = data.message;
    },
    error(data) { say(data.message, "error"); },
    done(data) {
      if (!message.classList.contains("assist-error")) {
        say(data.variants ? `${data.variants} variant(s) ready. Nothing changes in your draft until you pick one.` : "No variant came back.");
      }
    },
  };

  async function runJob(kind, extra) {
    if (controller) controller.abort();
    controller = new AbortController();
    results.replaceChildren();
    prompts = [];
    promptBox.hidden = true;
    promptBox.open = false;
    busy(true);
    say("Asking the model…");
    try {
      const response = await post(urls[kind], body(extra), controller.signal);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (name && data && handlers[name[1]]) handlers[name[1]](JSON.parse(data[1]));
        }
      }
    } catch (error) {
      if (error.name === "AbortError") say("Cancelled. Variants that arrived are kept below.");
      else say(error.message || "The request failed. Nothing in your draft changed.", "error");
    } finally {
      busy(false);
      controller = null;
    }
  }

  // ----- tools that need no model -----
  async function runTool(kind) {
    const draft = draftText();
    if (!draft.trim()) { say("Write something in the draft first.", "error"); return; }
    try {
      const data = await (await post(urls[kind], body({ draft }))).json();
      results.replaceChildren();
      promptBox.hidden = true;
      const item = el("li", "assist-card");
      if (kind === "thread") {
        item.append(el("div", "assist-card-head", `${data.parts.length} part(s)`));
        const parts = el("ol", "assist-parts");
        data.parts.forEach((part) => parts.append(el("li", "", part)));
        const use = el("button", "btn btn-small btn-primary", "Use as thread");
        use.type = "button";
        use.addEventListener("click", () => {
          const areas = Array.from(document.querySelectorAll("#post-editor textarea.gr-post-text"));
          data.parts.forEach((part, index) => {
            if (areas[index]) insert(part, "replace", areas[index].id);
            else insert(part, "new-part");
          });
          // The thread came from all the parts' text: parts beyond it would repeat it, so they are emptied.
          areas.slice(data.parts.length).forEach((area) => insert("", "replace", area.id));
          say(areas.length > data.parts.length ? "The draft is now a thread; remove the empty parts left at the end."
            : "The draft is now a thread.", "ok");
        });
        const actions = el("div", "assist-use");
        actions.append(use);
        item.append(parts, actions);
        say(data.parts.length > 1 ? "Split on sentence and word boundaries." : "It already fits in one post.");
      } else {
        item.append(el("div", "assist-card-head", data.hashtags.length ? "Suggested hashtags" : "No hashtag to add"));
        const chips = el("div", "assist-chips");
        data.hashtags.forEach((tag) => {
          const chip = el("button", "btn btn-small assist-chip", tag);
          chip.type = "button";
          chip.addEventListener("click", () => { insert(tag, "append"); chip.disabled = true; });
          chips.append(chip);
        });
        item.append(chips);
        say(data.max ? `From the character's own list (at most ${data.max} per post).` : "This character uses no hashtags.");
      }
      results.append(item);
      // The result sits below the tools: bring it into view so the split is seen where it happened.
      item.scrollIntoView({ block: "nearest", behavior: "smooth" });
    } catch (error) {
      say(error.message, "error");
    }
  }

  panel.addEventListener("click", (event) => {
    const button = event.target.closest("[data-assist]");
    if (!button || button.closest("fieldset:disabled")) return;
    const action = button.dataset.assist;
    if (action === "cancel") { if (controller) controller.abort(); return; }
    if (!character()) { say("Pick a character first.", "error"); return; }
    if (action === "generate") {
      const brief = $("#assist-brief").value;
      if (!brief.trim()) { say("Write a brief first.", "error"); $("#assist-brief").focus(); return; }
      runJob("generate", { brief, n: Number($("#assist-n").value) });
    } else if (action === "rewrite") {
      const draft = draftText();
      if (!draft.trim()) { say("Write something in the draft first.", "error"); return; }
      runJob("rewrite", { draft, mode: button.dataset.mode });
    } else if (action === "reply") {
      const original = $("#assist-post").value;
      if (!original.trim()) { say("Paste the post to reply to first.", "error"); $("#assist-post").focus(); return; }
      runJob("reply", { post: original, brief: $("#assist-brief").value });
    } else {
      runTool(action);
    }
  });
})();
