// Town fields of the outage notice form: each field holds a list of towns (「、」 between them) and its
// <datalist> holds the ward's towns. A datalist suggests for the whole value, so once a town is typed its
// options are rewritten to "what is typed so far、town", and the next town can be picked from the list too.
// Typing a town ticks its ward. An external file because the console's pages allow no inline script.
(function () {
  "use strict";
  var separator = /[、,，;；\/／\s]+/;

  document.querySelectorAll("input[data-town-input]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    var towns = Array.prototype.map.call(list.options, function (option) { return option.value; });
    var shownPrefix = "";

    function refresh() {
      var value = input.value;
      var parts = value.split(separator);
      var prefix = parts.length > 1 ? value.slice(0, value.length - parts[parts.length - 1].length) : "";
      if (prefix === shownPrefix) { return; }
      shownPrefix = prefix;
      var fragment = document.createDocumentFragment();
      towns.forEach(function (town) {
        var option = document.createElement("option");
        option.value = prefix + town;
        fragment.appendChild(option);
      });
      list.replaceChildren(fragment);
    }

    input.addEventListener("input", function () {
      refresh();
      var box = document.getElementById(input.getAttribute("data-ward-box"));
      if (box && input.value.trim() && !box.checked) { box.checked = true; }
    });
    refresh();
  });
})();
