// Search results without raw TeX. Sphinx's search page makes each result's summary from the
// text of the page it found, and a formula's text holds its TeX source (KaTeX keeps it in the
// MathML annotation, for copying) next to the glyphs of its visual rendering. The summary
// takes the formula's MathML text instead: symbols, as a screen reader reads them.
// Loaded on search.html only (book/_ext/page_fixes.py), after Sphinx's searchtools.js.
(function () {
  if (typeof Search === "undefined" || !Search.htmlToText) return;
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll(".katex-mathml annotation, .katex-html").forEach((el) => el.remove());
    return htmlToText(doc.documentElement.outerHTML, anchor);
  };
})();
