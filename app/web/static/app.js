// Small progressive enhancements; every page works without this file.
// Drag and drop onto the describe form's drop zone: the dropped file becomes the
// file input's value and a "change" event lets htmx send the form.
(function () {
  "use strict";
  function hasFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0;
  }
  // A file dropped anywhere else would make the browser leave the page to open it.
  ["dragover", "drop"].forEach(function (type) {
    window.addEventListener(type, function (event) {
      if (hasFiles(event) && !event.target.closest(".dropzone")) event.preventDefault();
    });
  });
  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest(".dropzone");
    if (zone && hasFiles(event)) {
      event.preventDefault();
      zone.classList.add("over");
    }
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest(".dropzone");
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("over");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest(".dropzone");
    if (!zone || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    zone.classList.remove("over");
    var input = zone.querySelector("input[type=file]");
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  // Back/Forward: htmx puts back the snapshot it took when the page was left, and an
  // input's typed text is not part of a snapshot, so the box would show the first
  // page's query (or what was typed since) over these results. The URL is the truth.
  // The tag chips and their hidden inputs are inside the results, so they already match.
  document.addEventListener("htmx:historyRestore", function () {
    var box = document.getElementById("q");
    if (box) box.value = new URLSearchParams(window.location.search).get("q") || "";
  });
  // Show which file was chosen (textContent: a file name is never HTML).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches(".dropzone input[type=file]")) return;
    var chosen = input.closest(".dropzone").querySelector(".chosen");
    if (chosen) chosen.textContent = input.files.length ? input.files[0].name : "";
  });
})();
