// Behaviour Flask-Admin wrote as inline event handlers, which the console's Content-Security-Policy
// blocks: bulk actions ("With selected" menu) and links that only exist for their click handlers.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var action = event.target.closest("[data-model-action]");
    if (action) {
      event.preventDefault();
      if (window.modelActions) {
        window.modelActions.execute(action.getAttribute("data-model-action"));
      }
      return;
    }
    var scriptLink = event.target.closest('a[href^="javascript:"]');
    if (scriptLink) {
      event.preventDefault(); // javascript: URLs are blocked by the policy; the jQuery handlers still run
    }
  });
})();
