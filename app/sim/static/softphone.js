// The softphone: every action posts JSON to /sim/api/... and redraws the call from the answer.
// Text is always inserted with textContent, never as HTML.
(function () {
  "use strict";
  var callId = null;
  var $ = function (id) { return document.getElementById(id); };
  var api = "/sim/api/calls";

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.detail || ("HTTP " + r.status)); }
        return data;
      });
    });
  }

  function enable(waiting, ended) {
    var live = callId !== null && !ended;
    document.querySelectorAll(".key").forEach(function (b) { b.disabled = !live || !waiting; });
    $("text").disabled = $("say").disabled = $("silence").disabled = !live || !waiting;
    $("hangup").disabled = !live;
    $("call").disabled = live;
  }

  function line(entry) {
    var li = document.createElement("li");
    li.className = entry.kind;
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = entry.at.toFixed(1) + "s " + entry.kind + (entry.language ? " " + entry.language : "");
    li.appendChild(meta);
    li.appendChild(document.createTextNode(entry.text || "(no input)"));
    return li;
  }

  function show(state) {
    callId = state.id;
    var list = $("transcript");
    list.replaceChildren.apply(list, state.transcript.map(line));
    var problems = $("problems");
    problems.replaceChildren.apply(problems, state.problems.map(function (p) {
      var li = document.createElement("li");
      li.textContent = p.kind + ": " + p.detail;
      return li;
    }));
    var where = state.in_conference
      ? (state.talking_with ? " — talking in a conference" : " — in a conference, waiting for the other side")
      : (state.waiting_for ? " — waiting for you (" + state.waiting_for + ")" : "");
    $("status").textContent = state.ended
      ? "Call ended: " + state.status + " (" + state.end_reason + ")"
      : "In call " + state.sid + where;
    // In a conference the two people talk; keys and the say box are for the machine only.
    enable(state.waiting_for && !state.in_conference, state.ended);
    list.lastElementChild && list.lastElementChild.scrollIntoView({ block: "nearest" });
  }

  function fail(err) { $("status").textContent = "Error: " + err.message; }

  function act(action, body) {
    if (callId === null) { return; }
    post(api + "/" + encodeURIComponent(callId) + "/" + action, body).then(show).catch(fail);
  }

  $("dial").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("status").textContent = "Calling…";
    post(api, { from: $("from").value, to: $("to").value }).then(show).catch(fail);
  });
  $("hangup").addEventListener("click", function () { act("hangup"); });
  $("silence").addEventListener("click", function () { act("silence"); });
  $("speech").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = $("text").value.trim();
    if (text) { act("speak", { text: text }); $("text").value = ""; }
  });
  document.querySelectorAll(".key").forEach(function (button) {
    button.addEventListener("click", function () { act("press", { digits: button.dataset.key }); });
  });
  // Outbound calls the fake Twilio rang for us: listed while no call is live.
  var live = false;
  function answerButton(item) {
    var li = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "answer";
    button.textContent = "Answer";
    button.addEventListener("click", function () {
      fetch(api + "/" + encodeURIComponent(item.id)).then(function (r) { return r.json(); })
        .then(show).catch(fail);
    });
    li.appendChild(button);
    li.appendChild(document.createTextNode(" " + item.from + " → " + item.to + ": " + item.last_said));
    return li;
  }
  function pollIncoming() {
    live = callId !== null && !$("hangup").disabled;
    if (live) {  // the other side may have hung up, or the app updated the call: redraw it
      fetch(api + "/" + encodeURIComponent(callId)).then(function (r) { return r.json(); })
        .then(show).catch(function () { /* the next poll tries again */ });
      return;
    }
    fetch("/sim/api/incoming").then(function (r) { return r.json(); }).then(function (data) {
      var list = $("incoming");
      list.replaceChildren.apply(list, data.items.map(answerButton));
      $("incoming-box").hidden = data.items.length === 0;
    }).catch(function () { /* the next poll tries again */ });
  }
  setInterval(pollIncoming, 3000);
  pollIncoming();
  enable(false, true);
})();
