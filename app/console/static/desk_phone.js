// The desk's browser phone (/console/desk/phone): a Twilio.Device from the vendored Voice
// JavaScript SDK, registered with a token from the server, that only receives calls. The desk
// rings it like a phone; the operator answers, hears the summary, presses 1, talks, hangs up.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("browser-phone");
  if (!box || !window.Twilio || !window.Twilio.Device) return;
  const status = document.getElementById("phone-status");
  const answer = document.getElementById("phone-answer");
  const reject = document.getElementById("phone-reject");
  const hangup = document.getElementById("phone-hangup");
  const keys = Array.from(document.querySelectorAll("#phone-keypad button"));
  let current = null;

  const show = (text) => { status.textContent = text; };
  const failed = (error) => show(box.dataset.error.replace("{error}", error && error.message ? error.message : String(error)));
  const buttons = (ringing, talking) => {
    answer.disabled = reject.disabled = !ringing;
    hangup.disabled = !talking;
    keys.forEach((key) => { key.disabled = !talking; });
  };
  const token = () => fetch(box.dataset.tokenUrl, { credentials: "same-origin", cache: "no-store" })
    .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then((data) => data.token);
  const ended = () => { current = null; buttons(false, false); show(box.dataset.ready); };

  token().then((first) => {
    // closeProtection: closing the tab during a call asks first, so a caller is not cut off.
    const device = new window.Twilio.Device(first, { closeProtection: true });
    device.on("registered", () => show(box.dataset.ready));
    device.on("error", failed);
    device.on("tokenWillExpire", () => token().then((next) => device.updateToken(next)).catch(failed));
    device.on("incoming", (call) => {
      current = call;
      buttons(true, false);
      show(box.dataset.ringing);
      ["disconnect", "cancel", "reject"].forEach((name) => call.on(name, ended));
    });
    device.register();
  }).catch(failed);

  answer.addEventListener("click", () => {
    if (!current) return;
    current.accept();
    buttons(false, true);
    show(box.dataset.inCall);
  });
  reject.addEventListener("click", () => { if (current) current.reject(); });
  hangup.addEventListener("click", () => { if (current) current.disconnect(); });
  keys.forEach((key) => key.addEventListener("click", () => { if (current) current.sendDigits(key.dataset.key); }));
});
