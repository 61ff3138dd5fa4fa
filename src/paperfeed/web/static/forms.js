/* paperfeed: forms that update part of the page in place. Progressive enhancement only: every
 * form works without JavaScript (a POST and a redirect).
 *
 * A form marked data-enhance="replace:#target" (or just "replace": the form itself) is sent with
 * fetch — the same body, its CSRF token field included — with "X-Requested-With: fetch". The
 * server answers with the HTML fragment to put in place of the target (response header
 * X-Paperfeed-Fragment: 1), also for errors (then with the error's status). The fragment's root
 * may carry data-status (announced in a polite live region), data-focus (a selector to focus,
 * looked up inside the fragment first) and data-hash (the #anchor to show in the address bar).
 * Anything else (network error, a redirect to the sign-in page, a CSRF error page) falls back to
 * the normal form submission. Math in the new fragment is typeset (site.js listens for
 * "paperfeed:fragment"). */
(function () {
  "use strict";
  if (window.paperfeedForms || !window.fetch || !window.FormData || !window.DOMParser) return;
  window.paperfeedForms = true;
  var live = null;

  function announce(text) {
    if (!live) {
      live = document.createElement("div");
      live.id = "fragment-status";
      live.className = "visually-hidden";
      live.setAttribute("role", "status");
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 30);
  }

  function targetOf(form) {
    var spec = form.getAttribute("data-enhance") || "";
    var colon = spec.indexOf(":");
    return colon >= 0 ? document.querySelector(spec.slice(colon + 1)) : form;
  }

  function settle(node) {
    document.dispatchEvent(new CustomEvent("paperfeed:fragment", { detail: { root: node } }));
    var hash = node.getAttribute("data-hash");
    if (hash && window.history && history.replaceState) history.replaceState(history.state, "", "#" + hash);
    var selector = node.getAttribute("data-focus");
    var focus = null;
    if (selector) {
      try { focus = node.querySelector(selector) || document.querySelector(selector); } catch (err) { focus = null; }
    }
    focus = focus || node;
    if (!focus.matches("a[href], button, input, select, textarea, [tabindex]")) focus.setAttribute("tabindex", "-1");
    focus.focus({ preventScroll: true });
    if (focus.scrollIntoView && focus !== node) focus.scrollIntoView({ block: "nearest" });
    var status = node.getAttribute("data-status");
    if (status) announce(status);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.hasAttribute || !form.hasAttribute("data-enhance")) return;
    var target = targetOf(form);
    if (!target) return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return; /* a double click sends once */
    form.setAttribute("aria-busy", "true");
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { "Accept": "text/html", "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (response.headers.get("X-Paperfeed-Fragment") !== "1") throw new Error(String(response.status));
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").body.firstElementChild;
      if (!fresh) throw new Error("empty fragment");
      var node = document.importNode(fresh, true);
      target.replaceWith(node);
      settle(node);
    }).catch(function () {
      form.removeAttribute("aria-busy");
      form.submit();
    });
  });
})();
