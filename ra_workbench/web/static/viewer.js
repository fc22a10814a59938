/* Document viewer (templates/review/_macros.html, macro `viewer`): the pages of one document
   one after the other in a scrolling frame; zoom anchored where the operator points (Ctrl +
   wheel, trackpad or touch pinch), drag to pan, keyboard, fit to width or page, 1:1, rotate.
   No dependencies, no CDN (the CSP allows scripts from 'self' only).

   Zooming sizes the images themselves (width and height in px) inside an `overflow: auto`
   frame: the scrollable area is always the whole page, so its top-left stays reachable at
   every zoom. (A transform: scale() around a centred box overflows to the left and the top,
   where no scrollbar reaches.) Rotation turns an inner sheet and swaps the outer box's
   dimensions, for the same reason. */
(function () {
  "use strict";
  var STEP = 1.25, MIN = 0.05, MAX = 8, ARROW = 48;
  var TRANSFORMS = {
    0: function () { return "none"; },
    90: function (w, h) { return "translate(" + h + "px, 0) rotate(90deg)"; },
    180: function (w, h) { return "translate(" + w + "px, " + h + "px) rotate(180deg)"; },
    270: function (w, h) { return "translate(0, " + w + "px) rotate(270deg)"; }
  };

  function state(viewer) {
    if (!viewer.viewerState) {
      viewer.viewerState = { scale: null, angle: 0, fit: viewer.dataset.defaultFit || "page" };
    }
    return viewer.viewerState;
  }

  function frameOf(viewer) { return viewer.querySelector(".viewer-frame"); }
  function pagesOf(viewer) { return Array.prototype.slice.call(viewer.querySelectorAll(".viewer-page")); }

  function natural(page) {
    var img = page.querySelector("img");
    return img && img.naturalWidth ? { w: img.naturalWidth, h: img.naturalHeight } : null;
  }

  function turned(s) { return s.angle % 180 !== 0; }

  /* The room a fitted page may take: the frame's width, and the height it may grow to (its
     max-height, border-box) rather than the height its current content gives it. */
  function room(frame) {
    var style = getComputedStyle(frame);
    var padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    var padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    var max = parseFloat(style.maxHeight);
    var height = isNaN(max) ? frame.clientHeight : max - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
    return { w: frame.clientWidth - padX, h: height - padY };
  }

  /* One scale for every page: the widest page fits (and, to fit the page, the tallest). */
  function fitScale(viewer, mode) {
    var s = state(viewer), space = room(frameOf(viewer)), best = null;
    pagesOf(viewer).forEach(function (page) {
      var n = natural(page);
      if (!n) { return; }
      var w = turned(s) ? n.h : n.w, h = turned(s) ? n.w : n.h;
      var k = space.w / w;
      if (mode === "page") { k = Math.min(k, space.h / h); }
      best = best === null ? k : Math.min(best, k);
    });
    return best === null ? null : Math.max(MIN, Math.min(MAX, best));
  }

  function layout(viewer) {
    var s = state(viewer);
    if (s.fit) {
      var fitted = fitScale(viewer, s.fit);
      if (fitted) { s.scale = fitted; }
    }
    if (!s.scale) { return; }  // nothing loaded yet: the CSS placeholders stand
    var reference = null;
    pagesOf(viewer).forEach(function (page) {
      var n = natural(page);
      if (!n) { return; }
      var w = Math.floor(n.w * s.scale), h = Math.floor(n.h * s.scale);
      var outer = turned(s) ? { w: h, h: w } : { w: w, h: h };
      reference = reference || outer;
      page.style.width = outer.w + "px";
      page.style.height = outer.h + "px";
      page.style.aspectRatio = "auto";
      var sheet = page.querySelector(".viewer-sheet");
      sheet.style.width = w + "px";
      sheet.style.height = h + "px";
      sheet.style.transform = TRANSFORMS[s.angle](w, h);
    });
    if (reference) {  // pages not loaded yet (lazy) keep a page-sized place
      pagesOf(viewer).forEach(function (page) {
        if (natural(page)) { return; }
        page.style.width = reference.w + "px";
        page.style.height = reference.h + "px";
      });
    }
    viewer.dataset.zoom = String(s.scale);
    viewer.dataset.angle = String(s.angle);
    viewer.dataset.fit = s.fit || "";
    var output = viewer.querySelector(".viewer-zoom");
    if (output) { output.textContent = Math.round(s.scale * 100) + " %"; }
  }

  /* The page under the point, or the one nearest to it vertically. */
  function pageAt(viewer, y) {
    var best = null, distance = Infinity;
    pagesOf(viewer).forEach(function (page) {
      var r = page.getBoundingClientRect();
      var d = y < r.top ? r.top - y : (y > r.bottom ? y - r.bottom : 0);
      if (d < distance) { best = page; distance = d; }
    });
    return best;
  }

  function centre(frame) {
    var r = frame.getBoundingClientRect();
    return { x: r.left + frame.clientLeft + frame.clientWidth / 2, y: r.top + frame.clientTop + frame.clientHeight / 2 };
  }

  /* Zoom to `scale`, keeping the point (x, y) of the screen over the same spot of the page. */
  function zoomTo(viewer, scale, x, y) {
    var s = state(viewer), frame = frameOf(viewer);
    if (!s.scale) { return; }
    if (x === undefined) { var c = centre(frame); x = c.x; y = c.y; }
    var anchor = pageAt(viewer, y);
    if (!anchor) { return; }
    var before = anchor.getBoundingClientRect();
    var fx = before.width ? (x - before.left) / before.width : 0;
    var fy = before.height ? (y - before.top) / before.height : 0;
    s.fit = null;
    s.scale = Math.max(MIN, Math.min(MAX, scale));
    layout(viewer);
    var after = anchor.getBoundingClientRect();
    frame.scrollLeft += after.left + fx * after.width - x;
    frame.scrollTop += after.top + fy * after.height - y;
  }

  function fit(viewer, mode) {
    var s = state(viewer);
    s.fit = mode;
    layout(viewer);
    var frame = frameOf(viewer);
    frame.scrollLeft = 0;
    frame.scrollTop = 0;
  }

  function act(viewer, action) {
    var s = state(viewer);
    if (action === "zoom-in") { zoomTo(viewer, (s.scale || 1) * STEP); }
    else if (action === "zoom-out") { zoomTo(viewer, (s.scale || 1) / STEP); }
    else if (action === "actual") { zoomTo(viewer, 1); }
    else if (action === "fit-width") { fit(viewer, "width"); }
    else if (action === "fit-page") { fit(viewer, "page"); }
    else if (action === "reset") { fit(viewer, viewer.dataset.defaultFit || "page"); }
    else if (action === "rotate") { s.angle = (s.angle + 90) % 360; layout(viewer); }
  }

  /* « Voir la bande MRZ sur la pièce »: scroll the band read into the middle of the frame. */
  function showBand(figure) {
    var band = figure.querySelector("[data-viewer] .mrz-band");
    if (!band) { return; }
    var frame = band.closest(".viewer-frame"), seen = frame.getBoundingClientRect(), r = band.getBoundingClientRect();
    frame.scrollLeft += r.left - seen.left - frame.clientLeft - Math.max(0, (frame.clientWidth - r.width) / 2);
    frame.scrollTop += r.top - seen.top - frame.clientTop - Math.max(0, (frame.clientHeight - r.height) / 2);
    frame.closest("[data-viewer]").scrollIntoView({ block: "nearest" });
    frame.focus({ preventScroll: true });
    band.classList.remove("flash");
    void band.offsetWidth;  // restart the animation
    band.classList.add("flash");
  }

  document.addEventListener("click", function (event) {
    var show = event.target.closest("[data-show-mrz]");
    if (show) { showBand(show.closest("figure") || document); return; }
    var button = event.target.closest("[data-viewer] button[data-action]");
    if (!button) { return; }
    act(button.closest("[data-viewer]"), button.dataset.action);
  });

  var KEYS = { "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "_": "zoom-out", "0": "reset", "1": "actual", "r": "rotate", "R": "rotate" };
  var ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  document.addEventListener("keydown", function (event) {
    var frame = event.target.closest && event.target.closest("[data-viewer] .viewer-frame");
    if (!frame || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var viewer = frame.closest("[data-viewer]");
    if (KEYS[event.key]) {
      event.preventDefault();
      act(viewer, KEYS[event.key]);
    } else if (ARROWS[event.key]) {
      event.preventDefault();
      frame.scrollBy(ARROWS[event.key][0] * ARROW, ARROWS[event.key][1] * ARROW);
    }
  });

  /* Ctrl + wheel, and the trackpad's pinch (which Chromium and Firefox send as a Ctrl +
     wheel): zoom around the pointer. A plain wheel scrolls the frame as usual. */
  document.addEventListener("wheel", function (event) {
    var frame = event.target.closest && event.target.closest("[data-viewer] .viewer-frame");
    if (!frame || !event.ctrlKey) { return; }
    event.preventDefault();
    var viewer = frame.closest("[data-viewer]"), s = state(viewer);
    var delta = event.deltaY * (event.deltaMode === 1 ? 16 : 1);
    var factor = Math.pow(STEP, Math.max(-2, Math.min(2, -delta / 100)));
    zoomTo(viewer, (s.scale || 1) * factor, event.clientX, event.clientY);
  }, { passive: false });

  /* Drag to pan (mouse, pen, one finger); two fingers pinch around their midpoint. */
  function bindPointers(viewer) {
    var frame = frameOf(viewer), pointers = {}, pan = null, pinch = null;

    function points() { return Object.keys(pointers).map(function (id) { return pointers[id]; }); }
    function start() {
      var p = points();
      pan = pinch = null;
      if (p.length === 1) {
        pan = { x: p[0].x, y: p[0].y, left: frame.scrollLeft, top: frame.scrollTop };
      } else if (p.length === 2) {
        pinch = { distance: Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y) || 1, scale: state(viewer).scale };
      }
    }

    frame.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse" && event.button !== 0) { return; }
      var r = frame.getBoundingClientRect();  // the frame's own scrollbars keep working
      if (event.clientX - r.left - frame.clientLeft >= frame.clientWidth ||
          event.clientY - r.top - frame.clientTop >= frame.clientHeight) { return; }
      frame.focus({ preventScroll: true });
      pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
      frame.setPointerCapture(event.pointerId);
      start();
      event.preventDefault();
    });
    // No text selection (whose drag would scroll the whole page) when dragging the document.
    frame.addEventListener("mousedown", function (event) { event.preventDefault(); });
    frame.addEventListener("pointermove", function (event) {
      if (!pointers[event.pointerId]) { return; }
      pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
      var p = points();
      if (pan && p.length === 1) {
        frame.classList.add("dragging");
        frame.scrollLeft = pan.left - (p[0].x - pan.x);
        frame.scrollTop = pan.top - (p[0].y - pan.y);
      } else if (pinch && p.length === 2 && pinch.scale) {
        var distance = Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y);
        zoomTo(viewer, pinch.scale * distance / pinch.distance, (p[0].x + p[1].x) / 2, (p[0].y + p[1].y) / 2);
      }
    });
    function end(event) {
      if (!pointers[event.pointerId]) { return; }
      delete pointers[event.pointerId];
      frame.classList.remove("dragging");
      start();
    }
    frame.addEventListener("pointerup", end);
    frame.addEventListener("pointercancel", end);
  }

  function init(viewer) {
    if (viewer.viewerState) { return; }
    state(viewer);
    bindPointers(viewer);
    if (window.ResizeObserver) {
      var pending = false;
      new ResizeObserver(function () {
        if (pending || !state(viewer).fit) { return; }
        pending = true;
        window.requestAnimationFrame(function () { pending = false; layout(viewer); });
      }).observe(frameOf(viewer));
    }
    layout(viewer);
  }

  // An image loading (lazily, or after this script) sizes its page; load does not bubble.
  document.addEventListener("load", function (event) {
    var viewer = event.target.closest && event.target.tagName === "IMG" && event.target.closest("[data-viewer]");
    if (!viewer) { return; }
    init(viewer);
    layout(viewer);
  }, true);

  Array.prototype.forEach.call(document.querySelectorAll("[data-viewer]"), init);
})();
