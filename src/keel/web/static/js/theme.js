// The theme switch: a progressive enhancement (without it the system's
// prefers-color-scheme decides). The choice is kept in localStorage.
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("keel-theme"); } catch (e) { /* storage off */ }
  if (saved === "light" || saved === "dark") { root.setAttribute("data-theme", saved); }

  function current() {
    var set = root.getAttribute("data-theme");
    if (set) { return set; }
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme-toggle");
    if (!button) { return; }
    function label() {
      button.textContent = current() === "dark" ? "Switch to light theme" : "Switch to dark theme";
    }
    button.hidden = false;
    label();
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      label();
      try { localStorage.setItem("keel-theme", next); } catch (e) { /* storage off */ }
    });
  });
})();
