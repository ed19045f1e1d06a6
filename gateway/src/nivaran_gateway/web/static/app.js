// Nivaran web app: small enhancements only; every page works without them.
"use strict";
document.documentElement.classList.add("has-js");

document.addEventListener("DOMContentLoaded", function () {
  // A filing form submits once: the button is disabled after the first click (the Idempotency-Key guards the rest).
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[data-once]").forEach(function (button) { button.disabled = true; });
    });
  });

  // Category search: narrows the category list to the names that contain what is typed.
  document.querySelectorAll("input[data-filters]").forEach(function (search) {
    var select = document.getElementById(search.getAttribute("data-filters"));
    if (!select) { return; }
    search.addEventListener("input", function () {
      var words = search.value.trim().toLowerCase();
      Array.prototype.forEach.call(select.options, function (option, index) {
        option.hidden = index > 0 && words !== "" && option.text.toLowerCase().indexOf(words) === -1;
      });
    });
  });

  // Location pickers: choosing a district loads its sub-divisions, a sub-division its blocks (GET /v1/areas).
  var lang = document.documentElement.lang === "en" ? "en" : "hi";
  var chain = ["district_code", "subdivision_code", "block_code"];
  function picker(level) { return document.querySelector("select[data-level='" + level + "']"); }
  function clear(select) { while (select.options.length > 1) { select.remove(1); } }
  chain.forEach(function (level, index) {
    var select = picker(level);
    var child = picker(chain[index + 1]);
    if (!select || !child) { return; }
    select.addEventListener("change", function () {
      for (var i = index + 1; i < chain.length; i++) { var below = picker(chain[i]); if (below) { clear(below); } }
      if (!select.value) { return; }
      fetch("/v1/areas?parent_code=" + encodeURIComponent(select.value), { credentials: "omit" })
        .then(function (response) { return response.ok ? response.json() : { areas: [] }; })
        .then(function (body) {
          body.areas.forEach(function (area) {
            var name = (area.name && (area.name[lang] || area.name.en || area.name.hi)) || area.code;
            child.add(new Option(name, area.code));
          });
        })
        .catch(function () { /* the page still files with the district alone */ });
    });
  });
});
