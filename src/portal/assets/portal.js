// Marks the current page in the navigation. Page scripts for deposits and the crisis cell
// live beside this one and check for their own elements before doing anything.
(function () {
  "use strict";
  var here = window.location.pathname;
  document.querySelectorAll("nav a").forEach(function (link) {
    if (link.getAttribute("href") === here) {
      link.setAttribute("aria-current", "page");
    }
  });
})();
