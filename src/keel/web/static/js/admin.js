// The God dashboard's one enhancement: a range input shows its value as it moves. Without
// it the number beside the slider is the saved value, and the form still posts the new one.
(function () {
  "use strict";

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=range][data-output]")) { return; }
    var output = document.getElementById(input.getAttribute("data-output"));
    if (output) { output.textContent = input.value; }
  });
})();

// An htmx answer's notice (the HX-Trigger header's "keelNotice"): shown as a toast, which
// the toast region announces.
document.addEventListener("keelNotice", function (event) {
  if (window.keelToast && event.detail && event.detail.value) {
    window.keelToast(String(event.detail.value), { tone: "success" });
  }
});
