// The contact form: while the operator chooses a category, show that category's FAQ questions and answers
// (all are rendered by the server, hidden; the chosen one is already shown without script).
// An external file because the console's Content-Security-Policy forbids inline script.
(function () {
  "use strict";
  var select = document.querySelector("[data-faq-select]");
  var panel = document.getElementById("contact-faq");
  if (!select || !panel) { return; }
  function show() {
    var code = select.value;
    Array.prototype.forEach.call(panel.querySelectorAll("[data-faq-for]"), function (block) {
      block.hidden = block.getAttribute("data-faq-for") !== code;
    });
  }
  select.addEventListener("change", show);
  select.addEventListener("input", show);
  select.addEventListener("keyup", show);
  show();
})();
