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
// "Copy as STIX": the record's /stix download, fetched with the session cookie
// and put on the clipboard. Without script the STIX link still downloads it.
document.querySelectorAll("button.copy-stix[data-stix]").forEach(function (button) {
  if (!navigator.clipboard) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    fetch(button.getAttribute("data-stix"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status + " " + response.statusText);
        }
        return response.text();
      })
      .then(function (text) {
        return navigator.clipboard.writeText(text);
      })
      .then(function () {
        button.textContent = "Copied";
      })
      .catch(function (error) {
        button.textContent = "Copy failed (" + error.message + ")";
      });
  });
});
