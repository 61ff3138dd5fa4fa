/* paperfeed: keyboard shortcuts, search-as-you-type, load more. Progressive enhancement only.
 *
 * Shortcuts (never while typing in a field, never with Ctrl/Alt/Meta):
 *   j / k  next / previous paper card      o or Enter  open the current paper
 *   u      upvote the current paper        /           focus the search box
 *   ?      show or hide this help           Esc         close help / suggestions
 *
 * Suggestions: the header search box becomes an ARIA combobox (WAI-ARIA APG "list autocomplete")
 * fed by GET /api/papers/suggest?q= (keyword index), debounced; arrows move, Enter opens.
 *
 * Load more: a listing's "Next page" link appends the next page's cards in place. */
(function () {
  "use strict";

  var current = -1;

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("main article.card")); }

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]");
  }

  function focusCard(index) {
    var list = cards();
    if (!list.length) return;
    index = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (c) { c.classList.remove("is-current"); });
    var card = list[index];
    current = index;
    card.classList.add("is-current");
    if (!card.hasAttribute("tabindex")) card.setAttribute("tabindex", "-1");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function currentCard() {
    var list = cards();
    var active = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("main article.card") : null;
    if (active) return active;
    return current >= 0 ? list[current] : null;
  }

  function upvote(card) {
    var form = card.querySelector("form.vote-form");
    if (form) {
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
      return;
    }
    var link = card.querySelector("a.votes"); /* signed out: go and sign in */
    if (link) window.location.href = link.href;
  }

  function open(card) {
    var link = card.querySelector("h2 a, h3 a");
    if (link) window.location.href = link.href;
  }

  var help = null;
  function toggleHelp() {
    if (!help) {
      help = document.createElement("dialog");
      help.className = "keys-help";
      help.setAttribute("aria-labelledby", "keys-help-title");
      help.innerHTML =
        '<h2 id="keys-help-title">Keyboard shortcuts</h2>' +
        "<dl>" +
        "<dt><kbd>j</kbd> / <kbd>k</kbd></dt><dd>Next / previous paper</dd>" +
        "<dt><kbd>o</kbd> or <kbd>Enter</kbd></dt><dd>Open the selected paper</dd>" +
        "<dt><kbd>u</kbd></dt><dd>Upvote the selected paper</dd>" +
        "<dt><kbd>/</kbd></dt><dd>Search</dd>" +
        "<dt><kbd>?</kbd></dt><dd>Show this help</dd>" +
        "</dl>" +
        '<form method="dialog"><button class="btn" type="submit">Close</button></form>';
      document.body.appendChild(help);
    }
    if (help.open) help.close(); else help.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    if (help && help.open && event.key !== "?") return; /* the dialog handles its own keys */
    var card;
    switch (event.key) {
      case "j": focusCard(current + 1); break;
      case "k": focusCard(current < 0 ? 0 : current - 1); break;
      case "u":
        card = currentCard();
        if (!card) return;
        upvote(card);
        break;
      case "o":
      case "Enter":
        card = currentCard();
        if (!card || document.activeElement !== card) return; /* Enter on a link keeps its meaning */
        open(card);
        break;
      case "/":
        var box = document.getElementById("header-q");
        if (!box) return;
        box.focus();
        box.select();
        break;
      case "?": toggleHelp(); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("focusin", function (event) {
    var card = event.target.closest ? event.target.closest("main article.card") : null;
    if (!card) return;
    var index = cards().indexOf(card);
    if (index >= 0 && index !== current) {
      cards().forEach(function (c) { c.classList.remove("is-current"); });
      current = index;
      card.classList.add("is-current");
    }
  });

  /* ---------------------------------------------------------------- search suggestions */
  function setupSuggest() {
    var input = document.getElementById("header-q");
    if (!input || !window.fetch) return;
    var form = input.form;
    var list = document.createElement("ul");
    list.id = "header-q-suggestions";
    list.className = "suggest-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggested papers");
    list.hidden = true;
    form.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    var timer = null;
    var pending = null;
    var items = [];
    var active = -1;

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function mark(index) {
      var options = list.querySelectorAll("[role=option]");
      active = index;
      options.forEach(function (el, i) { el.setAttribute("aria-selected", i === index ? "true" : "false"); });
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(data) {
      items = data;
      list.textContent = "";
      if (!data.length) { close(); return; }
      data.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = "header-q-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.href = "/papers/" + item.id;
        var title = document.createElement("span");
        title.className = "suggest-title";
        title.textContent = item.title;
        var by = document.createElement("span");
        by.className = "suggest-authors";
        by.textContent = item.authors.join(", ");
        li.appendChild(title);
        li.appendChild(by);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); /* keep focus in the box until we navigate */
          window.location.href = li.dataset.href;
        });
        list.appendChild(li);
      });
      list.hidden = false;
      active = -1;
      input.setAttribute("aria-expanded", "true");
    }

    function fetchSuggestions() {
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      if (pending) pending.abort();
      pending = window.AbortController ? new AbortController() : null;
      fetch("/api/papers/suggest?q=" + encodeURIComponent(q), {
        headers: { "Accept": "application/json" },
        signal: pending ? pending.signal : undefined
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      }).then(function (data) {
        if (document.activeElement === input && input.value.trim() === q) render(data);
      }).catch(function () { /* suggestions are optional */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        if (!list.hidden) { close(); event.preventDefault(); } else { input.blur(); }
        return;
      }
      if (list.hidden || !items.length) return;
      if (event.key === "ArrowDown") { mark(active + 1 >= items.length ? 0 : active + 1); event.preventDefault(); }
      else if (event.key === "ArrowUp") { mark(active <= 0 ? items.length - 1 : active - 1); event.preventDefault(); }
      else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        window.location.href = list.querySelectorAll("[role=option]")[active].dataset.href;
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  /* ---------------------------------------------------------------- load more */
  /* The pager's "Next page" link (a plain link without JavaScript) appends the next page's cards
   * to the list in place; the new pager replaces the old one; focus moves to the first new card. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".pager a[rel=next]") : null;
    if (!link || !window.fetch || !window.DOMParser || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var list = document.querySelector("main .cards");
    if (!list) return;
    event.preventDefault();
    link.setAttribute("aria-busy", "true");
    fetch(link.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelectorAll("main .cards > article.card");
        if (!fresh.length) throw new Error("no cards");
        var first = null;
        fresh.forEach(function (card) {
          var node = document.importNode(card, true);
          list.appendChild(node);
          first = first || node;
        });
        var oldPager = link.closest(".pager");
        var newPager = doc.querySelector("main .pager");
        var next = newPager ? newPager.querySelector("a[rel=next]") : null;
        if (next) {
          var prev = newPager.querySelector("a[rel=prev]");
          if (prev) prev.remove(); /* the earlier pages are already on screen */
          oldPager.replaceWith(document.importNode(newPager, true));
        } else {
          oldPager.remove();
        }
        first.setAttribute("tabindex", "-1");
        first.focus({ preventScroll: true });
        /* site.js typesets the math in the new cards */
        document.dispatchEvent(new CustomEvent("paperfeed:cards-added", { detail: { root: list } }));
      })
      .catch(function () { window.location.href = link.href; });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupSuggest);
  } else {
    setupSuggest();
  }
})();
