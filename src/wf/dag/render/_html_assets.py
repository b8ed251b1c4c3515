"""Inline stylesheet and script of the html graph; static text, no data and no external resource."""

from __future__ import annotations

STYLE = """
:root {
  color-scheme: light;
  --fg: #0f172a; --muted: #64748b; --bg: #f8fafc; --panel: #ffffff; --line: #e2e8f0;
  --accent: #c026d3; --edge: #94a3b8; --fail: #be123c;
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body {
  display: flex; flex-direction: column; color: var(--fg); background: var(--bg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
}
header {
  display: flex; flex-wrap: wrap; align-items: center; gap: 6px 24px; padding: 12px 20px;
  background: var(--panel); border-bottom: 1px solid var(--line);
}
h1 { margin: 0; font-size: 18px; font-weight: 650; }
.meta, .desc { margin: 0; color: var(--muted); font-size: 13px; }
.legend {
  display: flex; flex-wrap: wrap; align-items: center; gap: 4px 14px; margin-left: auto;
  font-size: 12px; color: var(--muted);
}
.sw {
  display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -2px;
  border: 1.5px solid var(--muted); border-radius: 3px; background: #fff;
}
.sw.cond { border-style: dashed; }
.ln { display: inline-block; width: 22px; margin-right: 5px; vertical-align: 3px;
  border-top: 2px solid var(--edge); }
.ln.cond { border-top-style: dashed; }
.ln.failure { border-top: 2px dotted var(--fail); }
.tools { display: flex; gap: 6px; align-items: center; }
.tools input, .tools button {
  font: inherit; font-size: 12px; padding: 3px 8px; color: var(--fg); background: #fff;
  border: 1px solid var(--line); border-radius: 6px;
}
.tools button { cursor: pointer; }
.tools button:hover { border-color: var(--muted); }
main { position: relative; flex: 1; min-height: 0; overflow: hidden; }
#graph { display: block; width: 100%; height: 100%; cursor: grab; user-select: none;
  touch-action: none; }
#graph.dragging { cursor: grabbing; }
.col-label { font-size: 11px; fill: var(--muted); letter-spacing: .06em; }
.edge { fill: none; stroke: var(--edge); stroke-width: 1.3; marker-end: url(#arrow); }
.edge.cond { stroke-dasharray: 6 4; }
.edge.failure { stroke: var(--fail); stroke-dasharray: 1.5 4; stroke-linecap: round;
  opacity: .55; marker-end: url(#arrow-fail); }
.node { cursor: pointer; }
.node rect { fill: #fff; stroke: #64748b; stroke-width: 1.2; }
.node.matrix rect { fill: #f5f3ff; stroke: #7c3aed; }
.node.cond rect { stroke-dasharray: 5 3; }
.node.trap rect { fill: #fff1f2; stroke: var(--fail); }
.node:hover rect { stroke-width: 2.2; }
.node .nid { font-size: 13px; font-weight: 600; fill: var(--fg); }
.node .sub { font-size: 11px; fill: var(--muted);
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
#graph.focus .node, #graph.focus .edge { opacity: .18; }
#graph.focus .node.lit, #graph.focus .edge.lit { opacity: 1; }
#graph .node.lit rect { stroke: var(--accent); stroke-width: 2; }
#graph .node.target rect { stroke-width: 3.2; }
.edge.lit { stroke: var(--accent); stroke-width: 2; marker-end: url(#arrow-lit); }
#tip {
  position: fixed; z-index: 10; max-width: 440px; padding: 10px 12px; font-size: 12px;
  background: #fff; border: 1px solid var(--line); border-radius: 8px;
  box-shadow: 0 8px 28px rgba(15, 23, 42, .16); pointer-events: none;
}
#tip h2 { margin: 0 0 6px; font-size: 13px; }
#tip dl { display: grid; grid-template-columns: auto 1fr; gap: 3px 10px; margin: 0; }
#tip dt { color: var(--muted); }
#tip dd { margin: 0; overflow-wrap: anywhere; }
#tip pre {
  margin: 0; max-height: 180px; overflow: hidden; padding: 4px 6px; white-space: pre-wrap;
  overflow-wrap: anywhere; background: #f1f5f9; border-radius: 4px;
  font: 11px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
footer {
  padding: 6px 20px; font-size: 12px; color: var(--muted); background: var(--panel);
  border-top: 1px solid var(--line);
}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("wf-data").textContent);
  var svg = document.getElementById("graph");
  var view = document.getElementById("viewport");
  var tip = document.getElementById("tip");
  var nodes = data.nodes;
  var nodeEls = {};
  svg.querySelectorAll(".node").forEach(function (el) { nodeEls[el.dataset.i] = el; });
  var edgeEls = Array.prototype.slice.call(svg.querySelectorAll(".edge"));
  var pos = { x: 0, y: 0, k: 1 };

  function apply() {
    var t = "translate(" + pos.x.toFixed(1) + "," + pos.y.toFixed(1) + ")";
    view.setAttribute("transform", t + " scale(" + pos.k.toFixed(4) + ")");
  }
  function fit() {
    var r = svg.getBoundingClientRect();
    var k = Math.min(r.width / data.width, r.height / data.height, 1.25);
    pos.k = Math.max(k, 0.02);
    pos.x = (r.width - data.width * pos.k) / 2;
    pos.y = Math.max((r.height - data.height * pos.k) / 2, 0);
    apply();
  }
  function zoomAt(factor, cx, cy) {
    var k = Math.min(Math.max(pos.k * factor, 0.02), 6);
    factor = k / pos.k;
    pos.x = cx - (cx - pos.x) * factor;
    pos.y = cy - (cy - pos.y) * factor;
    pos.k = k;
    apply();
  }

  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = svg.getBoundingClientRect();
    var factor = Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.0015));
    zoomAt(factor, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });

  var drag = null;
  svg.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) { return; }
    drag = { x: e.clientX, y: e.clientY, px: pos.x, py: pos.y, moved: false, id: e.pointerId };
  });
  svg.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
      drag.moved = true;
      svg.setPointerCapture(drag.id);
      svg.classList.add("dragging");
      hideTip();
    }
    if (drag.moved) { pos.x = drag.px + dx; pos.y = drag.py + dy; apply(); }
  });
  function endDrag(e) {
    if (!drag) { return; }
    var wasDrag = drag.moved;
    drag = null;
    svg.classList.remove("dragging");
    if (wasDrag) { return; }
    var el = e.target.closest ? e.target.closest(".node") : null;
    if (el && el.dataset.i !== "trap") { focusNode(Number(el.dataset.i)); } else { clearFocus(); }
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", function () {
    drag = null;
    svg.classList.remove("dragging");
  });

  function walk(start, key) {
    var seen = {}, stack = [start];
    while (stack.length) {
      var next = nodes[stack.pop()][key];
      for (var i = 0; i < next.length; i++) {
        if (!seen[next[i]]) { seen[next[i]] = true; stack.push(next[i]); }
      }
    }
    return seen;
  }
  function clearFocus() {
    svg.classList.remove("focus");
    svg.querySelectorAll(".lit, .target").forEach(function (el) {
      el.classList.remove("lit", "target");
    });
  }
  function focusNode(i) { focusNodes([i]); }
  function focusNodes(targets) {
    clearFocus();
    var lit = {};
    targets.forEach(function (i) {
      Object.assign(lit, walk(i, "deps"), walk(i, "dependents"));
      lit[i] = true;
    });
    Object.keys(lit).forEach(function (k) { nodeEls[k].classList.add("lit"); });
    targets.forEach(function (i) { nodeEls[i].classList.add("target"); });
    edgeEls.forEach(function (el) {
      if (lit[el.dataset.s] && lit[el.dataset.t]) { el.classList.add("lit"); }
    });
    svg.classList.add("focus");
  }

  function row(dl, label, value, pre) {
    if (value === null || value === undefined || value === "") { return; }
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    if (pre) {
      var p = document.createElement("pre");
      p.textContent = value;
      dd.appendChild(p);
    } else {
      dd.textContent = value;
    }
    dl.appendChild(dt);
    dl.appendChild(dd);
  }
  function names(list) {
    return list.map(function (j) { return nodes[j].id; }).join(", ");
  }
  function showTip(el, e) {
    var n = el.dataset.i === "trap" ? data.trap : nodes[Number(el.dataset.i)];
    tip.textContent = "";
    var h = document.createElement("h2");
    h.textContent = n.name === n.id ? n.id : n.id + " \u2014 " + n.name;
    tip.appendChild(h);
    var dl = document.createElement("dl");
    row(dl, "state", n.state);
    row(dl, "level", n.level === undefined ? "" : String(n.level));
    row(dl, "command", n.cmd, true);
    row(dl, "depends on", n.deps ? names(n.deps) : "");
    row(dl, "condition", n.condition);
    row(dl, "matrix", n.matrix);
    row(dl, "retries", n.retries);
    row(dl, "timeout", n.timeout);
    row(dl, "on failure", n.on_failure);
    row(dl, "about", n.description);
    tip.appendChild(dl);
    tip.hidden = false;
    moveTip(e);
  }
  function moveTip(e) {
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var x = e.clientX + 16, y = e.clientY + 16;
    if (x + w > window.innerWidth - 8) { x = Math.max(8, e.clientX - w - 16); }
    if (y + h > window.innerHeight - 8) { y = Math.max(8, e.clientY - h - 16); }
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hideTip() { tip.hidden = true; }
  svg.addEventListener("mouseover", function (e) {
    var el = e.target.closest ? e.target.closest(".node") : null;
    if (el && !drag) { showTip(el, e); }
  });
  svg.addEventListener("mousemove", function (e) { if (!tip.hidden) { moveTip(e); } });
  svg.addEventListener("mouseout", function (e) {
    var el = e.target.closest ? e.target.closest(".node") : null;
    if (el && !(e.relatedTarget && el.contains(e.relatedTarget))) { hideTip(); }
  });

  function centreOn(i) {
    var el = nodeEls[i], r = svg.getBoundingClientRect();
    var box = el.getBBox(), t = el.transform.baseVal.consolidate().matrix;
    pos.k = Math.max(pos.k, 0.8);
    pos.x = r.width / 2 - (t.e + box.width / 2) * pos.k;
    pos.y = r.height / 2 - (t.f + box.height / 2) * pos.k;
    apply();
  }
  var find = document.getElementById("find");
  find.addEventListener("keydown", function (e) {
    if (e.key !== "Enter") { return; }
    var q = find.value.trim().toLowerCase();
    if (!q) { clearFocus(); return; }
    for (var i = 0; i < nodes.length; i++) {
      var hay = (nodes[i].id + " " + nodes[i].name).toLowerCase();
      if (hay.indexOf(q) !== -1) {
        focusNode(i);
        centreOn(i);
        return;
      }
    }
  });
  document.getElementById("fit").addEventListener("click", fit);
  document.addEventListener("keydown", function (e) {
    if (e.target === find) { return; }
    var r = svg.getBoundingClientRect();
    if (e.key === "Escape") {
      clearFocus();
      hideTip();
    } else if (e.key === "f" || e.key === "0") {
      fit();
    } else if (e.key === "+" || e.key === "=") {
      zoomAt(1.2, r.width / 2, r.height / 2);
    } else if (e.key === "-") {
      zoomAt(1 / 1.2, r.width / 2, r.height / 2);
    }
  });
  function start() {
    // A huge graph fitted to the window is unreadable: start at a legible zoom, top left,
    // and leave the overview to the Fit button.
    var r = svg.getBoundingClientRect();
    if (Math.min(r.width / data.width, r.height / data.height) >= 0.5) { fit(); return; }
    pos = { x: 0, y: 0, k: 0.75 };
    apply();
  }
  start();
  if (data.highlight.length) { focusNodes(data.highlight); }
})();
"""
