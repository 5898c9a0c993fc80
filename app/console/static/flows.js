// Draw the flow diagram with the vendored Mermaid (strict: labels are text, links and HTML off).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (!window.mermaid) return; // the <pre> with the Mermaid source stays readable
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral", flowchart: { htmlLabels: false } });
  window.mermaid.run({ querySelector: "#flow-diagram" }).then(() => {
    document.body.dataset.diagram = "drawn";
  }).catch((error) => {
    document.body.dataset.diagram = "failed";
    console.error("mermaid:", error);
  });
});
