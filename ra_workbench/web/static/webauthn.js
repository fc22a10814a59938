// Security keys (WebAuthn): the sign-in ceremony on /connexion/verification and adding a
// key on « Mon compte — sécurité ». The server sends py_webauthn's JSON options (binary
// fields in base64url) and expects the credential back in the same form; the CSRF token
// travels in the X-CSRFToken header. No inline script: the CSP is script-src 'self'.
(function () {
  "use strict";

  function fromBase64url(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var out = { type: item.type, id: fromBase64url(item.id) };
      if (item.transports) { out.transports = item.transports; }
      return out;
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.user = Object.assign({}, json.user, { id: fromBase64url(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    }
    if (r.authenticatorData) {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) { response.userHandle = toBase64url(r.userHandle); }
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          throw new Error(data.error || "Le serveur a refusé la demande (" + response.status + ").");
        }
        return data;
      });
    });
  }

  function explain(error) {
    switch (error && error.name) {
      case "NotAllowedError":
        return "Opération annulée, ou délai dépassé. Réessayez.";
      case "InvalidStateError":
        return "Cette clé de sécurité est déjà enregistrée pour votre compte.";
      case "SecurityError":
        return "Les clés de sécurité exigent le nom d'hôte de l'application (démo : http://localhost:5000), pas une adresse IP.";
      case "NotSupportedError":
        return "Cette clé de sécurité n'est pas prise en charge.";
      default:
        return (error && error.message) || "Erreur inattendue avec la clé de sécurité.";
    }
  }

  function supported(status) {
    if (window.PublicKeyCredential && navigator.credentials) { return true; }
    status.textContent = "Ce navigateur ne permet pas d'utiliser une clé de sécurité sur cette adresse (il faut HTTPS, ou http://localhost).";
    return false;
  }

  function setUpSignIn(box) {
    var button = document.getElementById("use-security-key");
    var status = document.getElementById("security-key-status");
    var busy = false;
    function run() {
      if (busy || !supported(status)) { return; }
      busy = true;
      button.disabled = true;
      status.textContent = "Touchez votre clé de sécurité…";
      post(box.dataset.optionsUrl, box.dataset.csrf)
        .then(function (json) { return navigator.credentials.get({ publicKey: requestOptions(json) }); })
        .then(function (credential) {
          status.textContent = "Vérification…";
          return post(box.dataset.verifyUrl, box.dataset.csrf, { credential: credentialJSON(credential) });
        })
        .then(function (data) {
          status.textContent = "Clé acceptée, connexion…";
          window.location.assign(data.redirect);
        })
        .catch(function (error) {
          status.textContent = explain(error);
          busy = false;
          button.disabled = false;
        });
    }
    button.addEventListener("click", run);
    // An account whose only second factor is a key: the ceremony starts by itself.
    if (box.dataset.autostart) { run(); }
  }

  function setUpRegistration(box) {
    var button = document.getElementById("add-security-key");
    var label = document.getElementById("security-key-label");
    var status = document.getElementById("security-key-status");
    button.addEventListener("click", function () {
      if (!supported(status)) { return; }
      var name = label.value.trim();
      if (!name) {
        status.textContent = "Donnez un nom à la clé (ex. « YubiKey bleue »).";
        label.focus();
        return;
      }
      button.disabled = true;
      status.textContent = "Touchez votre nouvelle clé de sécurité…";
      post(box.dataset.optionsUrl, box.dataset.csrf)
        .then(function (json) { return navigator.credentials.create({ publicKey: creationOptions(json) }); })
        .then(function (credential) {
          status.textContent = "Enregistrement…";
          return post(box.dataset.registerUrl, box.dataset.csrf, { label: name, credential: credentialJSON(credential) });
        })
        .then(function (data) { window.location.assign(data.redirect); })
        .catch(function (error) {
          status.textContent = explain(error);
          button.disabled = false;
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var signIn = document.getElementById("security-key-login");
    if (signIn) { setUpSignIn(signIn); }
    var add = document.getElementById("security-key-add");
    if (add) { setUpRegistration(add); }
  });
})();
