/* sagaline console: live parts over server-sent events, and confirmations. No framework, no build step.
   Every page works without this file; it only adds live updates and confirmation dialogs. */
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  function say(text, kind) {
    if (status) { status.textContent = text; status.className = "live " + kind; }
  }
  var url = document.body.getAttribute("data-live");
  if (url && window.EventSource) {
    var source = new EventSource(url);
    source.onopen = function () { say("live", "on"); };
    source.onerror = function () { say("reconnecting…", "off"); };
    source.onmessage = function (event) {
      var parts = JSON.parse(event.data);
      Object.keys(parts).forEach(function (id) {
        var element = document.getElementById(id);
        if (element) { element.innerHTML = parts[id]; }  /* HTML rendered and escaped by the server */
      });
      document.body.setAttribute("data-updated", String(Date.now()));
    };
    source.addEventListener("end", function () { source.close(); say("final", "done"); });
    window.addEventListener("pagehide", function () { source.close(); });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var token = form.querySelector("input[name=token]");
    var meta = document.querySelector("meta[name=sagaline-token]");
    if (token && !token.value && meta) { token.value = meta.getAttribute("content"); }  /* parts pushed live carry none */
    var question = form.getAttribute("data-confirm");
    if (!question) { return; }
    if (!window.confirm(question)) { event.preventDefault(); return; }
    var confirmed = form.querySelector("input[name=confirmed]");
    if (confirmed) { confirmed.value = "yes"; }
  });
})();
