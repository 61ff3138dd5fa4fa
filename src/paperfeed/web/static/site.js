/* paperfeed: progressive enhancement only; every page works without it.
 *
 * Typesets LaTeX inside elements with class "math" (titles, abstracts) with the vendored KaTeX,
 * loaded on demand only when a page contains something that looks like math. Delimiters:
 * $$...$$ and \[...\] (display), $...$ and \(...\) (inline). Inline $ follows pandoc's rules —
 * the opening $ is followed by a non-space, the closing $ is preceded by a non-space and not
 * followed by a digit — so prices like "$25 per paper ... $15" stay plain text. */
(function () {
  "use strict";
  var script = document.currentScript;
  var MATH = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|(?<!\\)\$(?=[^\s$])((?:\\\$|[^$])+?)(?<=[^\s\\])\$(?!\d)/g;

  function load(tag, attrs) {
    return new Promise(function (resolve, reject) {
      var el = document.createElement(tag);
      Object.keys(attrs).forEach(function (k) { el[k] = attrs[k]; });
      el.onload = resolve;
      el.onerror = reject;
      document.head.appendChild(el);
    });
  }

  function textNodes(root) {
    var out = [];
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        var parent = node.parentNode;
        if (parent.closest("code, pre, script, style, .katex")) return NodeFilter.FILTER_REJECT;
        MATH.lastIndex = 0;
        return MATH.test(node.nodeValue) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
      }
    });
    while (walker.nextNode()) out.push(walker.currentNode);
    return out;
  }

  function typeset(node) {
    var text = node.nodeValue;
    var frag = document.createDocumentFragment();
    var last = 0;
    var match;
    MATH.lastIndex = 0;
    while ((match = MATH.exec(text)) !== null) {
      var display = match[1] !== undefined || match[2] !== undefined;
      var tex = match[1] || match[2] || match[3] || match[4];
      var span = document.createElement("span");
      try {
        window.katex.render(tex, span, { displayMode: display, throwOnError: false, strict: "ignore" });
      } catch (err) {
        continue; /* leave this piece as text */
      }
      frag.appendChild(document.createTextNode(text.slice(last, match.index)));
      frag.appendChild(span);
      last = match.index + match[0].length;
    }
    if (last === 0) return;
    frag.appendChild(document.createTextNode(text.slice(last)));
    node.parentNode.replaceChild(frag, node);
  }

  var katexLoaded = null; /* KaTeX is fetched once, the first time some math needs it */

  /* Typeset the .math elements in (or at) root; safe to call again on the same nodes. */
  function typesetIn(root) {
    if (!script || !root) return;
    var nodes = [];
    var els = Array.prototype.slice.call(root.querySelectorAll(".math"));
    if (root.matches && root.matches(".math")) els.unshift(root);
    els.forEach(function (el) { nodes = nodes.concat(textNodes(el)); });
    if (!nodes.length) return;
    if (!katexLoaded) {
      var data = script.dataset;
      load("link", { rel: "stylesheet", href: data.katexCss });
      katexLoaded = window.katex ? Promise.resolve() : load("script", { src: data.katexJs });
    }
    katexLoaded
      .then(function () { nodes.forEach(function (n) { if (n.parentNode) typeset(n); }); })
      .catch(function () { /* math stays as TeX source */ });
  }
  window.paperfeedTypeset = typesetIn;

  function run() { typesetIn(document); }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
  /* content added later: "load more" cards (keys.js), swapped form fragments (forms.js) */
  ["paperfeed:cards-added", "paperfeed:fragment"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      typesetIn((event.detail && event.detail.root) || document.querySelector("main") || document);
    });
  });

  /* Upvote forms: vote in place through the JSON API instead of reloading the page. The form's own
   * CSRF token goes in X-CSRF-Token; on any failure the normal form submission happens. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("vote-form") || !window.fetch) return;
    event.preventDefault();
    var on = form.elements.action.value !== "down";
    fetch("/api/papers/" + form.dataset.arxivId + "/upvote", {
      method: on ? "POST" : "DELETE",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": form.elements.csrf_token.value, "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      form.querySelector(".votes-count").textContent = data.upvotes;
      form.elements.action.value = data.upvoted ? "down" : "up";
      form.classList.toggle("voted", data.upvoted);
      form.querySelector("button").setAttribute("aria-pressed", data.upvoted ? "true" : "false");
    }).catch(function () { form.submit(); });
  });
})();
