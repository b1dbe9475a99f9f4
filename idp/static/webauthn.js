// The browser's half of a WebAuthn ceremony: the server's options (py_webauthn's JSON) go to
// navigator.credentials, and credential.toJSON() goes back in the form's "credential" field.
// A cancelled or timed-out ceremony is said on the page; nothing is posted then.
// On the login page (data-conditional) the passkeys are also offered in the username field's autofill
// (conditional UI), until the button starts the ordinary ceremony.
(function () {
  "use strict";
  var form = document.querySelector("form[data-webauthn]");
  if (!form) return;
  var status = document.getElementById("webauthn-status");
  var conditional = null;
  var conditionalDone = Promise.resolve();  // a new ceremony waits until the autofill one has let go

  function say(message) {
    status.textContent = message;
    status.hidden = false;
    status.focus();
  }

  function send(credential) {
    form.elements.credential.value = JSON.stringify(credential.toJSON());
    form.submit();
  }

  function requestOptions() {
    return PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(form.dataset.options));
  }

  var supported = window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON;

  if (supported && form.dataset.conditional && document.querySelector('input[autocomplete~="webauthn"]') &&
      PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available) return;
      conditional = new AbortController();
      conditionalDone = navigator.credentials
        .get({ mediation: "conditional", signal: conditional.signal, publicKey: requestOptions() })
        .then(send, function () { /* aborted by the button, or dismissed: the password form stays */ });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!supported) {
      say(form.dataset.unsupported);
      return;
    }
    if (conditional) {
      conditional.abort();
      conditional = null;
    }
    conditionalDone.then(function () {
      return form.dataset.webauthn === "create"
        ? navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(JSON.parse(form.dataset.options)),
        })
        : navigator.credentials.get({ publicKey: requestOptions() });
    }).then(send, function () {
      say(form.dataset.cancelled);
    });
  });
  form.dataset.ready = "";  // the button is handled from here on (tests wait for it: a click before posts nothing)
})();
