// Progress of a report build: polls the run's status URL and updates the bar until it is finished.
// An external file because the console's Content-Security-Policy forbids inline script.
(function () {
  "use strict";
  var box = document.getElementById("report-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  function part(role) { return box.querySelector('[data-role="' + role + '"]'); }
  function number(n) { return (n || 0).toLocaleString("ja-JP"); }
  function show(state) {
    part("label").textContent = state.label;
    part("rows").textContent = number(state.rows_done) +
      (state.rows_total === null || state.rows_total === undefined ? "" : " / " + number(state.rows_total)) + " 行";
    var bar = part("bar");
    if (state.percent === null || state.percent === undefined) { bar.removeAttribute("value"); }
    else { bar.value = state.percent; bar.textContent = state.percent + "%"; }
    if (state.error) { part("error").textContent = state.error; part("error").hidden = false; }
    if (state.download_url) { part("link").href = state.download_url; part("download").hidden = false; }
  }
  function poll(delay) {
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
        .then(function (state) { show(state); if (!state.finished) { poll(1000); } })
        .catch(function () { poll(Math.min(delay * 2, 10000)); });
    }, delay);
  }
  poll(500);
})();
