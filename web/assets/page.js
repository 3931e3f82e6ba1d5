// baluchon's page works without this script; it only shows progress.
// A form with data-busy shows that message and disables its button while
// the server works (opening a file can take a while the first time). A
// form with data-upload sends its files with a progress bar.
(function () {
  "use strict";
  function status(form, text) {
    var p = form.querySelector(".busy");
    if (!p) {
      p = document.createElement("p");
      p.className = "busy";
      p.setAttribute("role", "status");
      form.appendChild(p);
    }
    p.textContent = text;
    return p;
  }
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      status(form, form.dataset.busy);
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });
  // files dropped anywhere on an upload form go into its first file field
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    if (!input) { return; }
    form.addEventListener("dragover", function (ev) { ev.preventDefault(); form.classList.add("dropping"); });
    form.addEventListener("dragleave", function () { form.classList.remove("dropping"); });
    form.addEventListener("drop", function (ev) {
      ev.preventDefault();
      form.classList.remove("dropping");
      if (ev.dataTransfer && ev.dataTransfer.files.length) { input.files = ev.dataTransfer.files; }
    });
  });
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      ev.preventDefault();
      var p = status(form, form.dataset.upload);
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      p.appendChild(document.createElement("br"));
      p.appendChild(bar);
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
      });
      xhr.addEventListener("load", function () {
        // show the page the server answered, as a normal submit would
        history.replaceState(null, "", xhr.responseURL || form.action);
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  });
  // a button with data-copy copies the text of the element it names
  // (the admin's diagnostic report) and says so
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) { return; }
    button.addEventListener("click", function () {
      var done = function () { status(button.parentNode, button.dataset.copied); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
      } else {
        source.select();
        if (document.execCommand && document.execCommand("copy")) { done(); }
      }
    });
  });
})();
