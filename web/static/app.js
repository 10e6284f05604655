// Small progressive enhancements; every page works without JavaScript.

// Tell the server the browser's time zone, so every page (notifications included) shows times where the reader is.
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const current = (document.cookie.match(/(?:^|; )gr_tz=([^;]*)/) || [])[1];
  if (zone && decodeURIComponent(current || "") !== zone) {
    document.cookie = `gr_tz=${encodeURIComponent(zone)}; path=/; max-age=31536000; SameSite=Lax`;
    // Re-render a zone-dependent page once in the viewer's zone (never loop: the cookie is set now), unless
    // that would throw away a message the person has not read yet.
    const rendered = document.querySelector("[data-zone]");
    if (rendered && rendered.dataset.zone !== zone && !document.querySelector(".flash")
        && !new URLSearchParams(location.search).has("tz") && !sessionStorage.getItem("gr_tz_reloaded")) {
      sessionStorage.setItem("gr_tz_reloaded", "1");
      location.reload();
      return;
    }
  }

})();

document.addEventListener("click", (event) => {
  const copyButton = event.target.closest("[data-copy]");
  if (copyButton) {
    const field = document.querySelector(copyButton.dataset.copy);
    field.select();
    navigator.clipboard?.writeText(field.value).then(() => { copyButton.textContent = "Copied"; });
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// The header: a "More" list for what does not fit on a narrow desktop, a "Menu" button on phones.
// Without JavaScript every item simply wraps onto the bar, so nothing is ever out of reach.
document.documentElement.classList.add("js");
const phoneWidth = window.matchMedia("(max-width: 640px)");

function setOpen(toggle, open) {
  toggle.setAttribute("aria-expanded", String(open));
  document.getElementById(toggle.getAttribute("aria-controls")).classList.toggle("is-open", open);
}

function closeAll(except) {
  document.querySelectorAll(".topbar [aria-expanded='true']").forEach((toggle) => {
    if (toggle !== except) setOpen(toggle, false);
  });
}

function fitNav() {
  const list = document.querySelector(".mainnav-list");
  if (!list) return;
  const more = list.querySelector(".nav-more");
  const moreList = more.querySelector(".nav-more-list");
  const items = [...list.querySelectorAll(":scope > li:not(.nav-more)"), ...moreList.children];
  items.sort((a, b) => a.dataset.order - b.dataset.order).forEach((item) => list.insertBefore(item, more));
  more.hidden = true;
  if (phoneWidth.matches || list.scrollWidth <= list.clientWidth) return;
  more.hidden = false;
  for (let i = items.length - 1; i > 0 && list.scrollWidth > list.clientWidth; i--) moreList.prepend(items[i]);
  more.querySelector("button").classList.toggle("has-badge", Boolean(moreList.querySelector(".nav-badge")));
}

function setUpHeader() {
  const header = document.querySelector(".topbar");
  header.querySelectorAll(".mainnav-list > li:not(.nav-more)").forEach((item, index) => { item.dataset.order = index; });
  header.querySelectorAll(".menu-toggle, .account-toggle").forEach((toggle) => { toggle.hidden = false; });
  header.addEventListener("click", (event) => {
    const toggle = event.target.closest("[aria-controls][aria-expanded]");
    if (!toggle) return;
    const open = toggle.getAttribute("aria-expanded") !== "true";
    closeAll(toggle.classList.contains("menu-toggle") ? null : header.querySelector(".menu-toggle"));
    setOpen(toggle, open);
    const first = open && document.getElementById(toggle.getAttribute("aria-controls")).querySelector("a, button");
    if (first && !toggle.classList.contains("menu-toggle")) first.focus();
  });
  header.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = [...header.querySelectorAll("[aria-expanded='true']")].pop();
    if (open) { setOpen(open, false); open.focus(); }
  });
  document.addEventListener("click", (event) => { if (!header.contains(event.target)) closeAll(); });
  header.addEventListener("focusout", (event) => {
    // Tabbing out of a popup closes it, as a menu would (the phone menu stays open until asked).
    document.querySelectorAll(".topbar .popup.is-open").forEach((popup) => {
      const holder = popup.parentElement;
      if (!holder.contains(event.relatedTarget)) setOpen(holder.querySelector("[aria-expanded]"), false);
    });
  });
  new ResizeObserver(fitNav).observe(header);
  phoneWidth.addEventListener("change", () => { closeAll(); fitNav(); });
  fitNav();
}

if (document.querySelector(".topbar .site-menu")) setUpHeader();

// Keyboard shortcuts on the inbox and the posts list: j/k move, o or Enter opens, a approves, r rejects,
// ? lists them. Keys typed into a field are left alone; every action is also a plain link or button.
(() => {
  const items = () => Array.from(document.querySelectorAll("#main .inbox-item, #main [data-shortcuts] .post-list > .post-item"));
  if (!items().length) return;
  const SHORTCUTS = [["j", "Next item"], ["k", "Previous item"], ["o or Enter", "Open the item"],
    ["a", "Approve (inbox)"], ["r", "Reject: write why (inbox)"], ["?", "Show or hide these shortcuts"],
    ["Esc", "Close this help"]];
  let current = -1;
  let help = null;
  const heading = document.querySelector("#main h1");
  if (heading && window.matchMedia("(hover: hover)").matches) {
    const hint = document.createElement("p");
    hint.className = "shortcut-hint muted";
    hint.innerHTML = "Keyboard: <kbd>j</kbd> and <kbd>k</kbd> move through the list, <kbd>?</kbd> shows every shortcut.";
    (heading.closest(".page-head") || heading).after(hint);
  }

  function select(index) {
    const list = items();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((item, position) => item.classList.toggle("is-selected", position === current));
    const item = list[current];
    item.tabIndex = -1;
    item.focus();
    item.scrollIntoView({ block: "nearest" });
  }

  function toggleHelp() {
    if (!help) {
      help = document.createElement("dialog");
      help.className = "shortcut-help";
      help.setAttribute("aria-labelledby", "shortcut-title");
      const title = document.createElement("h2");
      title.id = "shortcut-title";
      title.textContent = "Keyboard shortcuts";
      const table = document.createElement("dl");
      SHORTCUTS.forEach(([keys, what]) => {
        const term = document.createElement("dt");
        term.append(...keys.split(" or ").flatMap((key, i) => {
          const kbd = document.createElement("kbd");
          kbd.textContent = key;
          return i ? [" or ", kbd] : [kbd];
        }));
        const description = document.createElement("dd");
        description.textContent = what;
        table.append(term, description);
      });
      const close = document.createElement("button");
      close.type = "button";
      close.className = "btn btn-small";
      close.textContent = "Close";
      close.addEventListener("click", () => help.close());
      help.append(title, table, close);
      document.body.append(help);
    }
    if (help.open) help.close(); else help.showModal();
  }

  function act(item, selector) {
    const target = item && item.querySelector(selector);
    if (!target) return false;
    if (target.matches("textarea, input")) target.focus(); else target.click();
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (help && help.open) return;
    const item = items()[current];
    const inList = item && (document.activeElement === item || item.contains(document.activeElement));
    let handled = true;
    if (event.key === "j") select(current + 1);
    else if (event.key === "k") select(current - 1);
    else if ((event.key === "o" || (event.key === "Enter" && document.activeElement === item)) && item) {
      handled = act(item, "a.post-link, .inbox-title a");
    } else if (event.key === "a" && inList) handled = act(item, "form[action$='/approve'] button[type=submit]");
    else if (event.key === "r" && inList) handled = act(item, "textarea[name=comment]");
    else handled = false;
    if (handled) event.preventDefault();
  });
})();
