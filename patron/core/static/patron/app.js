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
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { var results = document.getElementById("search-results"); if (results) results.innerHTML = ""; }
    if (event.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
      var box = document.getElementById("global-search"); if (box) { event.preventDefault(); box.focus(); }
    }
  });
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
