// Keyboard shortcuts of the dossier page and the queue (the cheat-sheet is the page's
// <dialog id="shortcuts">, opened with ?). Keys act only when the operator is not typing in
// a field and presses no modifier; every key has a visible button or link doing the same.
// No inline script: the CSP is script-src 'self'.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function documents() {
    return Array.prototype.slice.call(document.querySelectorAll(".case-docs figure.doc"));
  }

  var current = -1;

  function showDocument(index) {
    var docs = documents();
    if (!docs.length) return;
    current = (index + docs.length) % docs.length;
    var doc = docs[current];
    doc.scrollIntoView({ block: "start" });
    var frame = doc.querySelector(".viewer-frame");
    (frame || doc).focus({ preventScroll: true });
    document.querySelectorAll("[data-doc-link]").forEach(function (link) {
      var target = document.querySelector(link.getAttribute("href"));
      link.classList.toggle("current", Boolean(target && target.contains(doc)));
    });
  }

  function currentDocument() {
    var docs = documents();
    if (!docs.length) return null;
    var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("figure.doc");
    if (focused) return focused;
    return docs[Math.max(current, 0)];
  }

  function viewerAction(action) {
    var doc = currentDocument();
    var button = doc && doc.querySelector('[data-action="' + action + '"]');
    if (button) button.click();
  }

  function chooseDecision(value, focusSelector) {
    var radio = document.getElementById("dt-" + value);
    if (!radio) return false;
    radio.checked = true;
    var target = document.querySelector(focusSelector);
    if (target) {
      target.scrollIntoView({ block: "nearest" });
      target.focus();
    }
    return true;
  }

  function click(selector) {
    var element = document.querySelector(selector);
    if (element) element.click();
    return Boolean(element);
  }

  function toggleHelp() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  var KEYS = {
    "?": toggleHelp,
    j: function () { showDocument(current + 1); },
    k: function () { showDocument(current - 1); },
    "+": function () { viewerAction("zoom-in"); },
    "=": function () { viewerAction("zoom-in"); },
    "-": function () { viewerAction("zoom-out"); },
    "0": function () { viewerAction("fit-width"); },
    r: function () { viewerAction("rotate"); },
    c: function () { click("#claim-button"); },
    v: function () { chooseDecision("approve", "#approve-next-button"); },
    d: function () { chooseDecision("request", "#request-form input[type=checkbox], #request-comment"); },
    x: function () { chooseDecision("reject", "#reject-form select"); },
    s: function () { click("#next-button"); },
    q: function () { click("[data-shortcut-queue]"); },
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open && event.key !== "?") return;
    var action = KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!action) return;
    // The viewer's own keys (+, −, 0, R, arrows) when a document frame has the focus.
    if (event.target.closest && event.target.closest(".viewer-frame") && "+=-0r".indexOf(event.key.toLowerCase()) >= 0) return;
    event.preventDefault();
    action();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-open]")) toggleHelp();
  });
  document.documentElement.setAttribute("data-shortcuts", "ready");
})();
