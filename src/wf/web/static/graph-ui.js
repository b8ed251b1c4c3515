/* The html graph inside the web UI: recolour nodes by state, click a task to open its log. */
(function () {
  "use strict";
  var TRAP = "__GLOBAL_FAILURE_TRAP__";
  var ICONS = { success: "\u2713", failed: "\u2717", running: "\u27f3", pending: "\u2299",
    ready: "\u2192", skipped: "\u2298", cancelled: "\u2297", cached: "\u2261" };
  // An up-to-date node (docs/caching.md) ran no attempt: it has no log to open.
  function hasLog(state) { return !!state && state !== "cached"; }
  var data = JSON.parse(document.getElementById("wf-data").textContent);
  var match = /^\/runs\/([^/]+)\/graph$/.exec(window.location.pathname);
  var runId = match ? decodeURIComponent(match[1]) : null;
  var svg = document.getElementById("graph");
  var states = {};

  function nodeOf(el) {
    return el.dataset.i === "trap" ? data.trap : data.nodes[Number(el.dataset.i)];
  }
  function keyOf(el) {
    var n = nodeOf(el);
    return el.dataset.i === "trap" ? TRAP : n.id;
  }
  svg.querySelectorAll(".node").forEach(function (el) {
    var n = nodeOf(el);
    if (n && n.state) { states[keyOf(el)] = n.state.split(" ").pop(); }
  });

  /* The legend's per-state counts were true when the page was drawn; once states change
     live they would not be, so they are dropped (the colours stay explained by the nodes). */
  function dropStateCounts() {
    document.querySelectorAll(".legend i.sw").forEach(function (swatch) {
      if (/(^|\s)st-/.test(swatch.className)) { swatch.parentNode.remove(); }
    });
  }

  function setStates(next) {
    var changed = false;
    svg.querySelectorAll(".node").forEach(function (el) {
      var key = keyOf(el), state = next[key], n = nodeOf(el);
      if (!state || states[key] === state) { return; }
      states[key] = state;
      changed = true;
      Array.prototype.slice.call(el.classList).forEach(function (c) {
        if (c.indexOf("st-") === 0) { el.classList.remove(c); }
      });
      el.classList.add(ICONS[state] ? "st-" + state : "st-unknown");
      el.classList.toggle("has-log", hasLog(state));
      var label = (ICONS[state] || "?") + " " + state;
      if (n) { n.state = label; }
      var sub = el.querySelector(".sub");
      if (sub) { sub.textContent = label; }
    });
    if (changed) { dropStateCounts(); }
  }
  window.wfSetStates = setStates;

  svg.querySelectorAll(".node").forEach(function (el) {
    if (hasLog(states[keyOf(el)])) { el.classList.add("has-log"); }
  });
  var down = null;
  svg.addEventListener("pointerdown", function (e) { down = { x: e.clientX, y: e.clientY }; });
  svg.addEventListener("click", function (e) {
    if (!runId || !down || Math.abs(e.clientX - down.x) + Math.abs(e.clientY - down.y) > 4) {
      return;
    }
    var el = e.target.closest ? e.target.closest(".node") : null;
    if (!el) { return; }
    var key = keyOf(el);
    if (!hasLog(states[key])) { return; }
    var href = "/runs/" + encodeURIComponent(runId) + "/logs/" + encodeURIComponent(key);
    window.top.location.href = href;
  });
})();
