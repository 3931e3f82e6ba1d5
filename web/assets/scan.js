// scan.js: open a person's file by showing their card to the camera.
//
// Contract with the page (no inline script; works under a CSP of
// script-src 'self'):
//
//   <form id="open-card" method="post" …>
//     <video id="scan-video" hidden muted playsinline></video>
//     <input id="card-text" name="…" autocomplete="off" …>
//     <button type="button" id="scan-start">…</button>
//     <p id="scan-status" role="status"              (optional)
//        data-looking="…" data-denied="…" data-unavailable="…"></p>
//   </form>
//   <script src="/assets/scan.js" defer></script>
//
// A click on #scan-start starts the rear camera (a second click stops it)
// and loads vendor/jsQR.js from beside this file the first time. Frames
// are read on a canvas and decoded with jsQR; when a code that looks like
// a card text (5 groups of 6 base58 characters, see vault/doc.go) is
// found, it goes into #card-text, the camera stops and the form is
// submitted. The card text is written nowhere else: not to storage, not
// to the URL, not to the console. The messages shown in #scan-status
// come from its data-* attributes, so that the page translates them.
// Cameras need a secure context (HTTPS, or http://127.0.0.1): elsewhere
// the button is disabled and data-unavailable is shown.
//
// vendor/jsQR.js is dist/jsQR.js of the npm package jsqr 1.4.0, unchanged
// (Apache-2.0, vendor/jsQR.LICENSE); tarball jsqr-1.4.0.tgz sha256
// b5299b37917a1fe7a8cab9dd5cc6b8accf82663add80abe5bf7761a921cc6602, file
// sha256 bc40c8a15196236b2314db0856f72ca0b49980cd5413b8c852a7349f5fee0859.
// Tested in Chromium with a fake camera: cardprint/cardprinttest.
(function () {
  "use strict";

  // The form is #open-card (a card: the file opens at once), or a form
  // with data-scan="code" (a pairing or invitation code, into its input
  // with data-scan-into; data-scan-submit="no": only filled in).
  var form = document.getElementById("open-card") || document.querySelector("form[data-scan]");
  var video = document.getElementById("scan-video");
  var input = form && (form.querySelector("input[data-scan-into]") || document.getElementById("card-text"));
  var button = document.getElementById("scan-start");
  var status = document.getElementById("scan-status");
  if (!form || !video || !input || !button) {
    return;
  }
  var jsqrURL = new URL("vendor/jsQR.js", document.currentScript.src).href;

  // Base58 (no 0, O, I, l); dashes, typographic dashes and spaces between.
  var base58 = /^[1-9A-HJ-NP-Za-km-z]{30}$/;
  var separators = /[\s\-\u2010-\u2015\u2212]/g;

  function looksLikeCard(text) {
    return typeof text === "string" && text.length <= 64 &&
      base58.test(text.replace(separators, ""));
  }

  // A code (proto/codes.go): 12 to 400 characters of the same alphabet.
  var codeChars = /^[1-9A-HJ-NP-Za-km-z]{12,400}$/;
  var wantsCode = form.dataset.scan === "code";
  var submitOnScan = form.dataset.scanSubmit !== "no";

  function looksRight(text) {
    if (wantsCode) {
      return typeof text === "string" && text.length <= 600 &&
        codeChars.test(text.replace(separators, ""));
    }
    return looksLikeCard(text);
  }

  function say(key) {
    if (status) {
      status.textContent = (key && status.dataset[key]) || "";
    }
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    button.disabled = true;
    say("unavailable");
    return;
  }

  var stream = null;
  var timer = 0;
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });

  function loadJsQR() {
    return new Promise(function (resolve, reject) {
      if (window.jsQR) {
        resolve(window.jsQR);
        return;
      }
      var s = document.createElement("script");
      s.src = jsqrURL;
      s.onload = function () {
        window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR"));
      };
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function stop() {
    if (timer) {
      clearTimeout(timer);
      timer = 0;
    }
    if (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
    }
    video.srcObject = null;
    video.hidden = true;
    button.setAttribute("aria-pressed", "false");
  }

  function scan(jsQR) {
    timer = 0;
    if (!stream) {
      return;
    }
    if (video.readyState >= 2 && video.videoWidth > 0) {
      // Decode at most 640 pixels wide: enough for a card held near the
      // camera, and fast on an old phone.
      var scale = Math.min(1, 640 / video.videoWidth);
      var w = Math.round(video.videoWidth * scale);
      var h = Math.round(video.videoHeight * scale);
      canvas.width = w;
      canvas.height = h;
      ctx.drawImage(video, 0, 0, w, h);
      var code = jsQR(ctx.getImageData(0, 0, w, h).data, w, h, {
        inversionAttempts: "dontInvert"
      });
      if (code && looksRight(code.data)) {
        input.value = code.data.trim();
        stop();
        say("");
        if (!submitOnScan) {
          input.focus();
        } else if (form.requestSubmit) {
          form.requestSubmit();
        } else {
          form.submit();
        }
        return;
      }
    }
    timer = setTimeout(scan, 150, jsQR);
  }

  function start() {
    say("looking");
    Promise.all([
      loadJsQR(),
      navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } }
      })
    ]).then(function (r) {
      stream = r[1];
      video.srcObject = stream;
      video.muted = true;
      video.setAttribute("playsinline", "");
      video.hidden = false;
      button.setAttribute("aria-pressed", "true");
      return video.play().then(function () { scan(r[0]); });
    }).catch(function (err) {
      stop();
      say(err && (err.name === "NotAllowedError" || err.name === "SecurityError") ? "denied" : "unavailable");
    });
  }

  button.addEventListener("click", function () {
    if (stream) {
      stop();
      say("");
    } else {
      start();
    }
  });
  // Never leave the camera on behind the person's back.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      stop();
    }
  });
  window.addEventListener("pagehide", stop);
})();
