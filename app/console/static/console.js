// cortese console: small progressive enhancements only; every page works without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Confirm destructive actions (cancel a callback, stop a campaign, erase a contact).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Pages with live figures (campaign progress) reload themselves every few seconds.
  // Never while the operator is typing or has typed into a form: a reload would lose it.
  const live = document.querySelector("[data-refresh-seconds]");
  if (live) {
    const seconds = Math.max(2, parseInt(live.dataset.refreshSeconds, 10) || 5);
    let edited = false;
    document.addEventListener("input", () => { edited = true; });
    const typing = () => {
      const el = document.activeElement;
      return el && ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
    };
    const tick = () => {
      if (edited || typing()) {
        live.dataset.refreshPaused = "true";
        window.setTimeout(tick, seconds * 1000);
      } else {
        window.location.reload();
      }
    };
    window.setTimeout(tick, seconds * 1000);
  }
  // Progress bars: width from data-value (CSP forbids inline style attributes).
  document.querySelectorAll(".progress[data-value]").forEach((bar) => {
    const inner = bar.querySelector("span");
    const value = Math.min(100, Math.max(0, parseFloat(bar.dataset.value) || 0));
    if (inner) inner.style.width = value + "%";
  });
});
