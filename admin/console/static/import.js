// The import page: a second click on "Import" is stopped; while the import runs on the server, its progress bar
// is read from the server every 0.4 s, and the page reloads (showing the result) when the import is over.
"use strict";
(function () {
  const form = document.getElementById("import-form");
  if (form) {
    form.addEventListener("submit", function () {
      document.getElementById("import").disabled = true;
    });
  }
  const running = document.getElementById("import-running");
  if (!running) return;
  const bar = document.getElementById("import-progress");
  const count = document.getElementById("import-count");
  const text = document.getElementById("import-count-text").content.textContent;
  function poll() {
    fetch(running.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (progress) {
        if (progress.finished || progress.status === "interrupted") {
          window.location.reload();
          return;
        }
        bar.max = Math.max(progress.total, 1);
        bar.value = progress.done;
        count.textContent = text.replace("{done}", progress.done).replace("{total}", progress.total);
        window.setTimeout(poll, 400);
      })
      .catch(function () {
        window.setTimeout(poll, 2000);
      });
  }
  window.setTimeout(poll, 400);
})();
