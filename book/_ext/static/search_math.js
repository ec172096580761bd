// Search results that read as text. Sphinx's search page makes each result's summary from the
// text of the page's [role=main] element, which in this theme holds the page's chrome as well
// (the launch buttons, "Contents" and its list, previous/next), and from its formulas, whose
// text is their TeX source (KaTeX keeps it in the MathML annotation, for copying) next to the
// glyphs of their visual rendering, each read flat ("∂J∂x", "σ2"). The summary here is made
// from the article alone, each formula written out in one line from its MathML: σ², x̂,
// (∂J)/(∂x), √(σ² + ε).
// Loaded on search.html only (book/_ext/page_fixes.py), after Sphinx's searchtools.js.
(function () {
  if (typeof Search === "undefined" || !Search.htmlToText) {
    console.error("search_math.js: Sphinx's Search.htmlToText is gone; the search summaries are not fixed");
    return;
  }
  const SUP = { "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷",
                "8": "⁸", "9": "⁹", "-": "⁻", "−": "⁻", "+": "⁺", "T": "ᵀ", "⊤": "ᵀ" };
  const grouped = (s) => (s.length > 1 ? "(" + s + ")" : s);
  function linear(el) {
    const parts = [...el.children].map(linear);
    switch (el.localName) {
      case "mi": case "mn": case "mo": case "mtext": return el.textContent;
      case "msup": {
        const exp = parts[1];
        return [...exp].every((c) => c in SUP) ? parts[0] + [...exp].map((c) => SUP[c]).join("")
                                               : parts[0] + "^" + grouped(exp);
      }
      case "msub": return parts[0] + "_" + grouped(parts[1]);
      case "msubsup": return parts[0] + "_" + grouped(parts[1]) + "^" + grouped(parts[2]);
      case "mfrac": return grouped(parts[0]) + "/" + grouped(parts[1]);
      case "msqrt": return "√" + grouped(parts.join(""));
      case "mover": {
        const accent = { "^": "\u0302", "ˆ": "\u0302", "~": "\u0303", "˜": "\u0303", "‾": "\u0304",
                         "ˉ": "\u0304", "¯": "\u0304" }[parts[1]];
        return accent ? parts[0] + accent : parts.join("");
      }
      case "annotation": return "";
      default: return el.children.length ? parts.join("") : el.textContent;
    }
  }
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    const main = doc.querySelector('[role="main"]');
    const article = main && main.querySelector("article.bd-article");
    if (!article) {
      console.error("search_math.js: no article.bd-article in the page's [role=main]; summaries hold its chrome");
    } else {
      main.replaceChildren(article);
    }
    // An index entry's target is an empty <span> before its section's heading (the answer to
    // "exploding"): the summary is then its section's text.
    const target = anchor && main && main.querySelector(anchor);
    if (target && !target.textContent.trim() && target.parentElement.localName === "section") {
      target.removeAttribute("id");
      target.parentElement.id = anchor.slice(1);
    }
    doc.querySelectorAll(".katex").forEach((el) => {
      const math = el.querySelector(".katex-mathml math");
      el.replaceWith(" " + (math ? linear(math) : "").replace(/\s+/g, " ").trim() + " ");
    });
    return htmlToText(doc.documentElement.outerHTML, anchor);
  };
})();
