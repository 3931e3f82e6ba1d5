// person.js: the person's view reads its lines aloud. A button with
// data-audio (one or more addresses, separated by spaces) plays them one
// after the other; a second click stops. A kiosk's page (body
// data-forget="milliseconds") goes back to the empty kiosk when the server has
// forgotten the card. Works under script-src 'self'.
(function () {
  "use strict";
  var forget = Number(document.body.dataset.forget);
  if (forget > 0) {
    setTimeout(function () { location.replace("/kiosk"); }, forget + 500);
  }
  var playing = null;
  function stop() {
    if (playing) { playing.pause(); playing = null; }
  }
  document.querySelectorAll("button.hear[data-audio]").forEach(function (b) {
    b.addEventListener("click", function () {
      var was = playing && playing.button === b;
      stop();
      if (was) { return; }
      var list = b.dataset.audio.split(" ").filter(Boolean), i = 0;
      function next() {
        if (i >= list.length) { playing = null; b.removeAttribute("aria-pressed"); return; }
        var a = new Audio(list[i++]);
        a.button = b;
        playing = a;
        a.addEventListener("ended", next);
        a.play().catch(function () { playing = null; });
      }
      b.setAttribute("aria-pressed", "true");
      next();
    });
  });
})();
