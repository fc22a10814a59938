/* Document viewer: zoom and rotate images in the dossier page. No dependencies, no CDN
   (the CSP allows scripts from 'self' only). */
(function () {
  "use strict";
  var STEP = 1.25, MIN = 0.25, MAX = 6;

  function apply(viewer) {
    var img = viewer.querySelector("img");
    var zoom = parseFloat(viewer.dataset.zoom || "1");
    var angle = parseInt(viewer.dataset.angle || "0", 10);
    img.style.transform = "scale(" + zoom + ") rotate(" + angle + "deg)";
    viewer.classList.toggle("zoomed", zoom !== 1 || angle !== 0);
  }

  function act(viewer, action) {
    var zoom = parseFloat(viewer.dataset.zoom || "1");
    var angle = parseInt(viewer.dataset.angle || "0", 10);
    if (action === "zoom-in") { zoom = Math.min(MAX, zoom * STEP); }
    else if (action === "zoom-out") { zoom = Math.max(MIN, zoom / STEP); }
    else if (action === "rotate") { angle = (angle + 90) % 360; }
    else if (action === "reset") { zoom = 1; angle = 0; }
    viewer.dataset.zoom = String(zoom);
    viewer.dataset.angle = String(angle);
    apply(viewer);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-viewer] button[data-action]");
    if (!button) { return; }
    act(button.closest("[data-viewer]"), button.dataset.action);
  });

  document.addEventListener("wheel", function (event) {
    var frame = event.target.closest("[data-viewer] .viewer-frame");
    if (!frame || !event.ctrlKey) { return; }
    event.preventDefault();
    act(frame.closest("[data-viewer]"), event.deltaY < 0 ? "zoom-in" : "zoom-out");
  }, { passive: false });
})();
