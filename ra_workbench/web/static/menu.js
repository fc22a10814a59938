// The top bar's folded menus (<details class="submenu">): they open and close without
// script (Enter, Space, a click on their summary); this only closes an open one when the
// operator presses Escape (focus, if it was inside, goes back to its summary) or clicks anywhere else.
(function () {
  "use strict";

  function openMenus() {
    return document.querySelectorAll(".topbar details.submenu[open]");
  }

  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      var inside = menu.contains(document.activeElement);
      menu.removeAttribute("open");
      if (inside) menu.querySelector("summary").focus();
    });
  });
})();
