// Puts the chat on any page with one script tag:
//   <script src="https://desk.example.com/channels/webchat/embed.js" async></script>
// It adds a button in the corner that opens the widget in an iframe served by
// the desk. Optional attributes: data-label="Chat with us", data-open="true".
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var widgetUrl = new URL(".", script.src).href;
  var label = script.getAttribute("data-label") || "Chat with us";
  var frame = null;
  var button = document.createElement("button");

  function styleButton() {
    var s = button.style;
    s.position = "fixed";
    s.right = "1.25rem";
    s.bottom = "1.25rem";
    s.zIndex = "2147483000";
    s.padding = "0.7rem 1.1rem";
    s.border = "0";
    s.borderRadius = "999px";
    s.background = "#1f6feb";
    s.color = "#ffffff";
    s.font = "600 15px system-ui, sans-serif";
    s.boxShadow = "0 4px 14px rgba(0,0,0,.25)";
    s.cursor = "pointer";
  }

  function makeFrame() {
    frame = document.createElement("iframe");
    frame.src = widgetUrl;
    frame.title = label;
    var s = frame.style;
    s.position = "fixed";
    s.right = "1.25rem";
    s.bottom = "4.75rem";
    s.zIndex = "2147483000";
    s.width = "min(24rem, calc(100vw - 2.5rem))";
    s.height = "min(36rem, calc(100vh - 6.5rem))";
    s.border = "1px solid #d0d7de";
    s.borderRadius = "0.75rem";
    s.boxShadow = "0 8px 28px rgba(0,0,0,.25)";
    s.background = "#ffffff";
    document.body.appendChild(frame);
  }

  function toggle() {
    if (!frame) {
      makeFrame();
    } else {
      frame.style.display = frame.style.display === "none" ? "" : "none";
    }
    button.setAttribute("aria-expanded", frame.style.display === "none" ? "false" : "true");
  }

  function mount() {
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-expanded", "false");
    styleButton();
    button.addEventListener("click", toggle);
    document.body.appendChild(button);
    if (script.getAttribute("data-open") === "true") { toggle(); }
  }

  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
