// The chat widget: one websocket to the desk, reconnected with backoff.
// Every text from the network is shown with textContent, never as HTML.
(function () {
  "use strict";

  var TOKEN_KEY = "agentdesk-webchat:" + location.pathname;
  var TYPING_REFRESH_MS = 2500; // tell the desk again while the visitor keeps typing
  var TYPING_IDLE_MS = 4000; // this long without a key press = stopped typing
  var AGENT_TYPING_MS = 10000; // hide the agent's "typing" if not refreshed
  var PING_MS = 30000;
  var MAX_BACKOFF_MS = 30000;
  var ACK_DELAY_MS = 50;

  var $ = function (id) { return document.getElementById(id); };
  var log = $("chat-log");
  var statusEl = $("chat-status");
  var typingEl = $("chat-typing");
  var composer = $("composer");
  var input = $("composer-text");
  var composerNote = $("composer-note");
  var contactForm = $("contact-form");
  var contactNote = $("contact-note");

  var ws = null;
  var welcomed = false;
  var lastSeq = 0; // highest sequence number shown
  var lastAgentSeq = 0;
  var readSeq = 0; // highest agent message reported as read
  var receivedSeq = 0; // highest agent message reported as received
  var ackTimer = null;
  var attempt = 0;
  var maxChars = 4000;
  var pending = new Map(); // client id -> {text, el}, until the desk confirms
  var typingSent = false;
  var typingSentAt = 0;
  var typingIdle = null;
  var agentTypingTimer = null;
  var pinger = null;
  var surveys = window.agentdeskSurveys(send); // from survey.js

  function storageGet() {
    try { return window.localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function storageSet(value) {
    try {
      if (value) { window.localStorage.setItem(TOKEN_KEY, value); }
      else { window.localStorage.removeItem(TOKEN_KEY); }
    } catch (e) { /* storage disabled: the session lasts as long as the page */ }
  }

  function socketUrl() {
    var url = new URL("ws", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.search = "";
    url.hash = "";
    return url.href;
  }

  function newId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function note(el, text, isError) {
    el.textContent = text || "";
    el.classList.toggle("error", Boolean(isError));
  }

  function send(frame) {
    if (ws && welcomed && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  // -- the conversation --------------------------------------------------

  function formatTime(at) {
    try {
      return new Date(at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } catch (e) { return ""; }
  }

  function makeMessage(sender, text) {
    var li = document.createElement("li");
    li.className = "msg msg-" + (sender === "agent" ? "agent" : "visitor");
    var p = document.createElement("p");
    p.className = "text";
    p.textContent = text;
    var meta = document.createElement("span");
    meta.className = "meta";
    li.appendChild(p);
    li.appendChild(meta);
    return li;
  }

  function setMeta(li, frame) {
    var parts = [];
    if (frame.from === "agent" && frame.agent) { parts.push(frame.agent); }
    if (frame.at) { parts.push(formatTime(frame.at)); }
    li.querySelector(".meta").textContent = parts.join(" · ");
  }

  function placeBySeq(li, seq) {
    // Confirmed messages stay in sequence order; unconfirmed ones stay last.
    var children = log.children;
    for (var i = 0; i < children.length; i++) {
      var other = Number(children[i].dataset.seq || 0);
      var unconfirmed = children[i].classList.contains("msg-pending");
      if ((other && other > seq) || unconfirmed) {
        log.insertBefore(li, children[i]);
        return;
      }
    }
    log.appendChild(li);
  }

  function scrollToEnd() { log.scrollTop = log.scrollHeight; }

  function showMessage(frame) {
    if (typeof frame.seq !== "number" || log.querySelector('[data-seq="' + frame.seq + '"]')) {
      return;
    }
    var mine = frame.from === "visitor" ? pending.get(frame.id) : null;
    var li;
    if (mine) {
      pending.delete(frame.id);
      li = mine.el;
      li.classList.remove("msg-pending");
      li.remove();
    } else {
      li = makeMessage(frame.from, String(frame.text));
      if (frame.from === "agent") { surveys.render(li, frame); }
    }
    li.dataset.seq = String(frame.seq);
    setMeta(li, frame);
    placeBySeq(li, frame.seq);
    lastSeq = Math.max(lastSeq, frame.seq);
    if (frame.from === "agent") {
      hideAgentTyping();
      lastAgentSeq = Math.max(lastAgentSeq, frame.seq);
      acknowledge();
    }
    scrollToEnd();
  }

  function acknowledge() {
    // One receipt for a burst of messages (a replay brings up to a few hundred).
    if (!ackTimer) { ackTimer = setTimeout(sendReceipt, ACK_DELAY_MS); }
  }

  function sendReceipt() {
    ackTimer = null;
    if (!lastAgentSeq) { return; }
    var visible = document.visibilityState === "visible";
    if (visible && lastAgentSeq > readSeq) {
      if (send({ type: "ack", seq: lastAgentSeq, read: true })) { readSeq = lastAgentSeq; }
    } else if (!visible && lastAgentSeq > receivedSeq) {
      if (send({ type: "ack", seq: lastAgentSeq, read: false })) { receivedSeq = lastAgentSeq; }
    }
  }

  function clearConversation() {
    Array.prototype.slice.call(log.querySelectorAll("[data-seq]")).forEach(function (li) {
      li.remove();
    });
    lastSeq = lastAgentSeq = readSeq = receivedSeq = 0;
    surveys.clear();
  }

  // -- typing ------------------------------------------------------------

  function showAgentTyping() {
    typingEl.hidden = false;
    clearTimeout(agentTypingTimer);
    agentTypingTimer = setTimeout(hideAgentTyping, AGENT_TYPING_MS);
  }

  function hideAgentTyping() {
    typingEl.hidden = true;
    clearTimeout(agentTypingTimer);
  }

  function visitorTyped() {
    var now = Date.now();
    if (input.value.trim() && (!typingSent || now - typingSentAt > TYPING_REFRESH_MS)) {
      if (send({ type: "typing", typing: true })) {
        typingSent = true;
        typingSentAt = now;
      }
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(visitorStopped, TYPING_IDLE_MS);
  }

  function visitorStopped() {
    clearTimeout(typingIdle);
    if (typingSent) {
      send({ type: "typing", typing: false });
      typingSent = false;
    }
  }

  // -- sending -----------------------------------------------------------

  function submitMessage(event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    if (text.length > maxChars) {
      note(composerNote, "That message is too long (" + text.length + " of " + maxChars +
        " characters).", true);
      return;
    }
    var id = newId();
    var li = makeMessage("visitor", text);
    li.classList.add("msg-pending");
    log.appendChild(li);
    pending.set(id, { text: text, el: li });
    input.value = "";
    typingSent = false; // the message itself ends the typing at the desk
    clearTimeout(typingIdle);
    note(composerNote, "");
    send({ type: "message", id: id, text: text });
    scrollToEnd();
  }

  function failPending(id, message) {
    var item = pending.get(id);
    if (!item) { return; }
    pending.delete(id);
    item.el.classList.remove("msg-pending");
    item.el.classList.add("msg-failed");
    item.el.querySelector(".meta").textContent = "Not sent: " + message;
    if (!input.value) { input.value = item.text; } // give the draft back
  }

  function submitContact(event) {
    event.preventDefault();
    var name = $("contact-name").value.trim();
    var email = $("contact-email").value.trim();
    if (!name && !email) {
      note(contactNote, "Give a name or an email address.", true);
      return;
    }
    if (!send({ type: "identify", name: name, email: email })) {
      note(contactNote, "Not connected; try again in a moment.", true);
      return;
    }
    note(contactNote, "Saving…");
  }

  // -- the connection ----------------------------------------------------

  function onFrame(frame) {
    switch (frame.type) {
      case "welcome": {
        welcomed = true;
        attempt = 0;
        storageSet(frame.token);
        if (typeof frame.max_chars === "number") {
          maxChars = frame.max_chars;
          input.maxLength = maxChars;
        }
        if (frame.seq < lastSeq) { clearConversation(); } // the desk's log starts over
        if (frame.name) { $("contact-name").value = frame.name; }
        if (frame.email) { $("contact-email").value = frame.email; }
        setStatus("online", "Online");
        readSeq = receivedSeq = 0; // receipts sent on a lost connection may not have arrived
        acknowledge();
        pending.forEach(function (item, id) { send({ type: "message", id: id, text: item.text }); });
        surveys.resend();
        break;
      }
      case "message":
        showMessage(frame);
        break;
      case "survey_answered":
        surveys.answered(frame);
        break;
      case "typing":
        if (frame.typing) { showAgentTyping(); } else { hideAgentTyping(); }
        break;
      case "identified": {
        var who = frame.email || frame.name;
        note(contactNote, "Thanks! We have " + who + ".");
        break;
      }
      case "error":
        if (frame.id && pending.has(frame.id)) {
          failPending(frame.id, frame.message);
        } else if (frame.survey && surveys.refused(frame)) {
          // shown under the survey's question
        } else if (frame.code === "bad_email" || frame.code === "bad_name") {
          note(contactNote, frame.message, true);
        } else {
          note(composerNote, frame.message, true);
        }
        break;
      default:
        break; // pong, or something newer than this page
    }
  }

  function connect() {
    setStatus("connecting", attempt ? "Reconnecting…" : "Connecting…");
    var socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = socket;
    welcomed = false;
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "hello", token: storageGet(), last_seq: lastSeq }));
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame && typeof frame === "object") { onFrame(frame); }
    };
    socket.onclose = function (event) {
      if (ws !== socket) { return; }
      ws = null;
      welcomed = false;
      hideAgentTyping();
      if (event.code === 4401) {
        // The desk does not know this token any more: start a new session.
        storageSet(null);
        clearConversation();
        scheduleReconnect(0);
        return;
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect(delay) {
    attempt += 1;
    if (delay === undefined) {
      var base = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, Math.min(attempt - 1, 10)));
      delay = base / 2 + Math.random() * base / 2; // jitter spreads a crowd of reconnects
    }
    setStatus("offline", "Offline, reconnecting…");
    setTimeout(connect, delay);
  }

  composer.addEventListener("submit", submitMessage);
  input.addEventListener("input", visitorTyped);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      submitMessage(event);
    }
  });
  input.addEventListener("blur", visitorStopped);
  contactForm.addEventListener("submit", submitContact);
  document.addEventListener("visibilitychange", acknowledge);
  pinger = setInterval(function () { send({ type: "ping" }); }, PING_MS);
  window.addEventListener("pagehide", function () { clearInterval(pinger); });

  connect();
})();
