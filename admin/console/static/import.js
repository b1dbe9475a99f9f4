// The import runs within the request: while the browser waits, say so and stop a second click.
"use strict";
(function () {
  const form = document.getElementById("import-form");
  if (!form) return;
  form.addEventListener("submit", function () {
    const button = document.getElementById("import");
    button.disabled = true;
    document.getElementById("importing").hidden = false;
  });
})();
