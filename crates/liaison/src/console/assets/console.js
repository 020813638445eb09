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
// Import: follow the running job through /import/job.json and show the
// finished page when it ends (without script the page reloads itself).
(function () {
  var bar = document.getElementById("import-progress");
  if (!bar || bar.getAttribute("data-state") !== "running") {
    return;
  }
  var counts = document.getElementById("import-counts");
  var poll = function () {
    fetch(bar.getAttribute("data-poll"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (p) {
        bar.max = Math.max(p.total_bytes, 1);
        bar.value = p.read_bytes;
        var percent = Math.floor((p.read_bytes * 100) / Math.max(p.total_bytes, 1));
        counts.textContent = p.imported + " " + (counts.getAttribute("data-verb") || "imported") + ", " + p.already_present + " already present, " +
          p.rejected + " rejected, " + p.skipped + " skipped — " + percent + "% read";
        if (p.state === "running") {
          setTimeout(poll, 400);
        } else {
          location.reload();
        }
      })
      .catch(function () { setTimeout(poll, 2000); });
  };
  setTimeout(poll, 200);
})();
// Import: a file over the upload limit is refused here, before it is sent.
(function () {
  var file = document.getElementById("file");
  var warning = document.getElementById("file-too-large");
  if (!file || !warning || !file.form) {
    return;
  }
  file.form.addEventListener("submit", function (event) {
    var limit = Number(file.getAttribute("data-limit"));
    if (file.files.length && limit && file.files[0].size > limit) {
      event.preventDefault();
      warning.hidden = false;
    }
  });
})();
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
