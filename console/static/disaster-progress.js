// Live mail progress on a notice's page: polls the progress endpoint while mails are pending.
// An external file because the public and console pages allow no inline script.
(function () {
  "use strict";
  var box = document.getElementById("delivery-progress");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-progress-url");
  var delay = 3000;

  function update(data) {
    var pending = false;
    Object.keys(data.versions || {}).forEach(function (versionId) {
      var counts = data.versions[versionId];
      var row = document.querySelector('[data-version-progress="' + versionId + '"]');
      if (!row) { return; }
      ["sent", "failed", "remaining", "total"].forEach(function (field) {
        var cell = row.querySelector('[data-field="' + field + '"]');
        if (cell) { cell.textContent = String(counts[field]); }
      });
      if (counts.remaining > 0) { pending = true; }
    });
    return pending;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && update(data)) { window.setTimeout(poll, delay); }
      })
      .catch(function () { window.setTimeout(poll, delay * 3); });
  }
  poll();
})();
