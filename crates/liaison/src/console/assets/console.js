// Liaison console: optional enhancements; every page works without it.
// "/" focuses the search box; times are shown in local time, UTC on hover.
"use strict";
document.addEventListener("keydown", function (event) {
  var box = document.getElementById("q");
  var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (event.key === "/" && box && !typing) {
    event.preventDefault();
    box.focus();
    box.select();
  }
});
document.querySelectorAll("time[datetime]").forEach(function (node) {
  var when = new Date(node.getAttribute("datetime"));
  if (!isNaN(when)) {
    node.title = node.getAttribute("datetime") + " (UTC)";
    node.textContent = when.toLocaleString();
  }
});
