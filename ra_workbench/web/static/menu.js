// The top bar's folded menus (<details class="submenu">): they open and close without
// script (Enter, Space, a click on their summary); this only closes an open one when the
// operator presses Escape (focus, if it was inside, goes back to its summary), clicks anywhere
// else or tabs out of it.
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

  // Tabbing out of an open menu folds it (the keyboard's equivalent of a click elsewhere).
  document.addEventListener("focusout", function (event) {
    openMenus().forEach(function (menu) {
      if (menu.contains(event.target) && event.relatedTarget && !menu.contains(event.relatedTarget)) {
        menu.removeAttribute("open");
      }
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
