// A displayed formula wider than its column scrolls sideways in its own box (reader.css).
// Such a box is made reachable from the keyboard (tabindex=0, with a name saying what it
// is), so that a reader without a mouse can scroll it too; a formula that fits is left alone.
// Runs again when the window changes size. Added to every page by book/_ext/local_katex.py.
(function () {
  function mark() {
    document.querySelectorAll(".bd-article .katex-display").forEach(function (box) {
      var wide = box.scrollWidth > box.clientWidth + 1;
      if (wide && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "group");
        box.setAttribute("aria-label", "formula, scrolls sideways");
      } else if (!wide && box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  var timer = null;
  window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(mark, 150); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mark);
  else mark();
})();
