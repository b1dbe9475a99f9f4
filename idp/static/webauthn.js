// The browser's half of a WebAuthn ceremony: the server's options (py_webauthn's JSON) go to
// navigator.credentials, and credential.toJSON() goes back in the form's "credential" field.
// A cancelled or timed-out ceremony is said on the page; nothing is posted then.
(function () {
  "use strict";
  var form = document.querySelector("form[data-webauthn]");
  if (!form) return;
  var status = document.getElementById("webauthn-status");

  function say(message) {
    status.textContent = message;
    status.hidden = false;
    status.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      say(form.dataset.unsupported);
      return;
    }
    var options = JSON.parse(form.dataset.options);
    var ceremony = form.dataset.webauthn === "create"
      ? navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
      : navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    ceremony.then(function (credential) {
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();
    }, function () {
      say(form.dataset.cancelled);
    });
  });
})();
