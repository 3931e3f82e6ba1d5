// record.js: an interpreter records a spoken text in the page. Each
// form.recorder gets a button that records from the microphone
// (MediaRecorder, Opus at 16 kbit/s) and a second click stops and sends
// the recording to the form's action with its hidden fields; the file
// field stays for browsers without a microphone. Messages come from the
// form's data-start, data-stop and data-denied attributes.
(function () {
  "use strict";
  if (!window.MediaRecorder || !navigator.mediaDevices) { return; }
  document.querySelectorAll("form.recorder").forEach(function (form) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = form.dataset.start;
    form.insertBefore(b, form.firstChild);
    var rec = null;
    b.addEventListener("click", function () {
      if (rec) { rec.stop(); return; }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var chunks = [];
        rec = new MediaRecorder(stream, { audioBitsPerSecond: 16000 });
        rec.addEventListener("dataavailable", function (ev) { chunks.push(ev.data); });
        rec.addEventListener("stop", function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          var type = rec.mimeType.split(";")[0] || "audio/webm";
          rec = null;
          b.textContent = form.dataset.start;
          var fd = new FormData();
          form.querySelectorAll("input[type=hidden]").forEach(function (i) { fd.append(i.name, i.value); });
          fd.append("audio", new Blob(chunks, { type: type }), "recording");
          fetch(form.action, { method: "POST", body: fd }).then(function (r) { location.href = r.url; });
        });
        rec.start();
        b.textContent = form.dataset.stop;
      }).catch(function () { b.textContent = form.dataset.denied; });
    });
  });
})();
