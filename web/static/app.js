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
