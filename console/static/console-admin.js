// Behaviour Flask-Admin wrote as inline event handlers and javascript: links, which the console's
// Content-Security-Policy blocks: bulk actions ("With selected" menu) and links that only exist for
// their click handlers (menu drop-downs, filters).
(function () {
  "use strict";
  // A javascript: link is a CSP violation the moment it is followed, even as a no-op: make it "#"
  // and keep its click from navigating; the jQuery handlers bound to it still run.
  var scriptLinks = document.querySelectorAll('a[href^="javascript:"]');
  for (var i = 0; i < scriptLinks.length; i++) {
    scriptLinks[i].setAttribute("href", "#");
    scriptLinks[i].setAttribute("data-script-link", "");
  }
  // Flask-Admin's list checkboxes carry only a title ("選択"); a screen reader needs a name, so give
  // each one an aria-label that says which row it selects.
  var boxes = document.querySelectorAll("input.action-rowtoggle[title], input.action-checkbox[title]");
  for (var j = 0; j < boxes.length; j++) {
    if (!boxes[j].hasAttribute("aria-label")) {
      var row = boxes[j].closest("tr");
      var cells = row ? row.querySelectorAll("td[class^=\"col-\"]") : [];
      var what = cells.length ? cells[0].textContent.trim() : "";
      boxes[j].setAttribute("aria-label", boxes[j].getAttribute("title") + (what ? "：" + what : ""));
    }
  }
  document.addEventListener("click", function (event) {
    var action = event.target.closest("[data-model-action]");
    if (action) {
      event.preventDefault();
      if (window.modelActions) {
        window.modelActions.execute(action.getAttribute("data-model-action"));
      }
      return;
    }
    if (event.target.closest("a[data-script-link]")) {
      event.preventDefault();
    }
  }, true);
})();
