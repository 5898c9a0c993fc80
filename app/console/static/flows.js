// Draw the flow diagram with the vendored Mermaid (strict: labels are text, links and HTML off).
"use strict";

// A big flow drawn to the page's width is unreadably small on a phone: the operator zooms in
// and the diagram scrolls inside its own box, never the page.
function zoomable(box, controls) {
  const svg = box.querySelector("svg");
  if (!svg || !controls) return;
  const natural = (svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width) || svg.getBBox().width;
  let scale = null; // null: fit to the box
  const apply = () => {
    if (scale === null) {
      svg.style.width = "100%";
      svg.style.maxWidth = Math.round(natural) + "px";
    } else {
      svg.style.maxWidth = "none";
      svg.style.width = Math.round(natural * scale) + "px";
    }
    box.dataset.zoom = scale === null ? "fit" : String(scale);
  };
  controls.addEventListener("click", (event) => {
    const which = event.target.closest("button[data-zoom]");
    if (!which) return;
    const current = scale === null ? svg.getBoundingClientRect().width / natural : scale;
    if (which.dataset.zoom === "fit") scale = null;
    else scale = Math.min(4, Math.max(0.25, current * (which.dataset.zoom === "in" ? 1.5 : 1 / 1.5)));
    apply();
  });
  apply();
  controls.hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  if (!window.mermaid) return; // the <pre> with the Mermaid source stays readable
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral", flowchart: { htmlLabels: false } });
  window.mermaid.run({ querySelector: "#flow-diagram" }).then(() => {
    zoomable(document.getElementById("flow-diagram"), document.getElementById("diagram-zoom"));
    document.body.dataset.diagram = "drawn";
  }).catch((error) => {
    document.body.dataset.diagram = "failed";
    console.error("mermaid:", error);
  });
});
