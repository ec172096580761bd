// A displayed formula wider than its column, or a wide figure on a phone, scrolls sideways in
// its own box (reader.css).
// Such a box is made reachable from the keyboard (tabindex=0, with a name saying what it
// is), so that a reader without a mouse can scroll it too; a formula that fits is left alone.
// A ResizeObserver re-checks a box whenever its width changes (the window's, a font's arrival).
// Added to every page by book/_ext/local_katex.py.
(function () {
  function mark(box) {
    var wide = box.clientWidth > 0 && box.scrollWidth > box.clientWidth + 1;
    if (wide && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", (box.classList.contains("bn-wide-figure") ? "figure" : "formula")
                       + ", scrolls sideways");
    } else if (!wide && box.getAttribute("tabindex") === "0") {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  }
  function start() {
    var boxes = document.querySelectorAll(".bd-article .katex-display, .bd-article .bn-wide-figure");
    if (!("ResizeObserver" in window)) { boxes.forEach(mark); return; }
    var observer = new ResizeObserver(function (entries) {
      entries.forEach(function (entry) { mark(entry.target); });
    });
    boxes.forEach(function (box) { observer.observe(box); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
