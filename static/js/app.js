// Passerelle's page behaviour, kept out of the templates so the Content-Security-Policy
// needs no 'unsafe-inline' or 'unsafe-eval': templates mark elements with data-*
// attributes and these listeners, attached once to the document, act on them (also on
// elements htmx swaps in later).
(function () {
  "use strict";

  // Inbox "Mark as read": once the server has accepted it, the item stops looking unread
  // and the button goes. On an error the item stays as it was, so the click can be retried.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (!(elt instanceof Element) || !elt.matches("[data-mark-read]")) return;
    if (!event.detail.successful) return;
    var item = elt.closest("li");
    if (item) item.classList.remove("is-unread");
    elt.remove();
  });

  // "Older notifications": the answer brings its own link to the next page, so this one
  // goes as soon as it is followed (no double click loading the same page twice).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt instanceof Element && elt.matches("[data-remove-on-request]")) elt.remove();
  });

  // data-refresh-on-change="<selector>": when a field matching the selector changes, the
  // element receives a "refresh" event (its hx-trigger listens for it). Delegated from the
  // document because inline checks swap those fields for new ones; it replaces an
  // hx-trigger filter such as change[target.id=='…'], which htmx can only run with eval.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof Element) || !window.htmx) return;
    document.querySelectorAll("[data-refresh-on-change]").forEach(function (elt) {
      if (target.matches(elt.getAttribute("data-refresh-on-change"))) {
        window.htmx.trigger(elt, "refresh");
      }
    });
  });
})();
