// Keyboard use on every console page (no inline script: the Content-Security-Policy allows none).
// "/" focuses the lookup box (data-lookup-search), or opens the lookup page, whose box is focused on
// load, when the page has none; a "/" typed into a field is left alone.
(function () {
  "use strict";
  var NOT_TYPING = ["button", "checkbox", "color", "file", "image", "radio", "range", "reset", "submit"];

  function typing(element) {
    if (!element || element === document.body) {
      return false;
    }
    if (element.isContentEditable) {
      return true;
    }
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") {
      return true;
    }
    return tag === "INPUT" && NOT_TYPING.indexOf((element.type || "").toLowerCase()) === -1;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.isComposing
        || event.defaultPrevented || typing(event.target)) {
      return;
    }
    var box = document.querySelector("[data-lookup-search]");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
      return;
    }
    var url = document.body.getAttribute("data-lookup-url");
    if (url) {
      event.preventDefault();
      window.location.assign(url);
    }
  });
})();
