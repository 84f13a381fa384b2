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
