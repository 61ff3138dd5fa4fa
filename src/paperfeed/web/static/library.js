/* Save / Saved buttons (templates/_library.html): toggle in place through the library API
 * (PUT / DELETE /api/library/{id}) instead of reloading the page. The form's own CSRF token goes
 * in X-CSRF-Token; on any failure the normal form submission (which works without JS) happens. */
(function () {
  "use strict";
  if (window.paperfeedLibrary) return; // the button macro may include this file more than once
  window.paperfeedLibrary = true;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("save-form") || !window.fetch) return;
    event.preventDefault();
    var on = form.elements.action.value !== "remove";
    fetch("/api/library/" + form.dataset.arxivId, {
      method: on ? "PUT" : "DELETE",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": form.elements.csrf_token.value, "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      var button = form.querySelector("button");
      form.elements.action.value = data.saved ? "remove" : "save";
      form.classList.toggle("saved", data.saved);
      button.textContent = data.saved ? "Saved" : "Save";
      button.setAttribute("aria-pressed", data.saved ? "true" : "false");
      button.title = data.saved ? "Remove from your library" : "Save to your library";
    }).catch(function () { form.submit(); });
  });
})();
