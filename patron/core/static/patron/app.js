// Small behaviours htmx does not cover: closing menus, tabs, toasts, copy, removable rows.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target;
    var clear = target.closest("[data-clear]");
    if (clear) { var el = document.querySelector(clear.getAttribute("data-clear")); if (el) el.innerHTML = ""; }
    var remove = target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest(".row-inputs"), rows = row && row.parentElement;
      if (rows && rows.children.length > 1) row.remove(); else if (row) row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
    }
    var tab = target.closest("[data-tab]");
    if (tab) { tab.parentElement.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("active", t === tab); }); }
    var toastClose = target.closest(".toast-close");
    if (toastClose) toastClose.closest(".toast").remove();
    var copy = target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy"));
      if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent.trim()).then(function () { copy.textContent = "Copied"; });
    }
    // Close open menus and the search dropdown when clicking elsewhere.
    document.querySelectorAll("details.menu[open], details.more-filters[open]").forEach(function (d) { if (!d.contains(target)) d.removeAttribute("open"); });
    if (!target.closest(".search")) { var results = document.getElementById("search-results"); if (results) results.innerHTML = ""; }
    document.querySelectorAll(".picker-results").forEach(function (r) { if (!r.parentElement.contains(target)) closePicker(r); });
  });
  // Account picker (search-as-you-type): the lookup and the choice are htmx requests; this only
  // adds the keyboard. Enter picks the first match (never submits the form), arrows move
  // through the matches, Escape closes them.
  function closePicker(results) {
    if (!results.innerHTML) return;
    results.innerHTML = "";
    var box = results.parentElement.querySelector("input[role=combobox]"); if (box) box.setAttribute("aria-expanded", "false");
  }
  document.addEventListener("keydown", function (event) {
    var box = event.target.closest("[data-picker] input[role=combobox]");
    var option = event.target.closest("[data-picker] .picker-option");
    if (!box && !option) return;
    var results = event.target.closest("[data-picker]").querySelector(".picker-results");
    var options = Array.prototype.slice.call(results.querySelectorAll(".picker-option"));
    var at = options.indexOf(option);
    if (box && event.key === "Enter") { event.preventDefault(); if (options.length) options[0].click(); }
    else if (event.key === "ArrowDown" && options.length) { event.preventDefault(); options[Math.min(at + 1, options.length - 1)].focus(); }
    else if (option && event.key === "ArrowUp") { event.preventDefault(); if (at > 0) options[at - 1].focus(); else event.target.closest("[data-picker]").querySelector("input[role=combobox]").focus(); }
    else if (event.key === "Escape") { closePicker(results); event.target.closest("[data-picker]").querySelector("input[role=combobox]").focus(); }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var results = event.detail.target;
    if (!results.classList || !results.classList.contains("picker-results")) return;
    var box = results.parentElement.querySelector("input[role=combobox]");
    if (box) box.setAttribute("aria-expanded", results.querySelector(".picker-option") ? "true" : "false");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { var results = document.getElementById("search-results"); if (results) results.innerHTML = ""; }
    if (event.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
      var box = document.getElementById("global-search"); if (box) { event.preventDefault(); box.focus(); }
    }
  });
  // Import mapping: a column's options follow the kind of field it is mapped to (a date
  // format for dates, a phone country for phones); hidden ones are disabled, so not sent.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-target-select]");
    if (!select) return;
    var option = select.options[select.selectedIndex];
    var kind = option ? option.getAttribute("data-kind") : "";
    select.closest("tr").querySelectorAll("[data-for-kind]").forEach(function (el) {
      var shown = el.getAttribute("data-for-kind") === kind;
      el.hidden = !shown; el.disabled = !shown;
    });
  }, true);  // capture: before htmx reads the form for the preview
  // Toasts fade away on their own.
  setTimeout(function () { document.querySelectorAll(".toast").forEach(function (t) { t.style.transition = "opacity .4s"; t.style.opacity = "0"; setTimeout(function () { t.remove(); }, 450); }); }, 5000);
  // A refused htmx request (403, 409, 500) says so instead of silently doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("messages"); if (!box) return;
    var status = event.detail.xhr.status;
    var text = status === 403 ? "You are not allowed to do that." : status === 404 ? "That record is no longer available." : "Something went wrong (" + status + "). Please try again.";
    var toast = document.createElement("div"); toast.className = "toast toast-error"; toast.textContent = text; box.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 6000);
  });
})();
