/* wf ui: live updates (server-sent events), log paging and following. No inline code. */
(function () {
  "use strict";
  var body = document.body;
  var page = body.dataset.page;

  function listen(handlers) {
    if (!window.EventSource) { return; }
    var source = new EventSource("/api/events");
    var dot = document.getElementById("live-dot");
    source.onopen = function () { if (dot) { dot.hidden = false; } };
    source.onerror = function () { if (dot) { dot.hidden = true; } };
    Object.keys(handlers).forEach(function (kind) {
      source.addEventListener(kind, function (e) { handlers[kind](JSON.parse(e.data)); });
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  /* One refresh at a time, at most one per MIN_GAP ms: events that arrive meanwhile cause one
     more afterwards. The pages' own reads of the database stay bounded however busy a run is. */
  function refresher(load, minGap) {
    var busy = false, again = false, last = 0;
    function run() {
      if (busy) { again = true; return; }
      var wait = last + minGap - Date.now();
      if (wait > 0) {
        busy = true;
        window.setTimeout(function () { busy = false; run(); }, wait);
        return;
      }
      busy = true;
      last = Date.now();
      load().catch(function () { return null; }).then(function () {
        busy = false;
        if (again) { again = false; run(); }
      });
    }
    return run;
  }

  var RUN_LABELS = { success: ["\u2713", "SUCCESS"], failed: ["\u2717", "FAILED"],
    running: ["\u27f3", "RUNNING"], pending: ["\u2299", "PENDING"],
    cancelled: ["\u2297", "CANCELLED"], resuming: ["\u21bb", "RESUMING"],
    interrupted: ["\u26a0", "INTERRUPTED"] };

  function duration(ms) {
    if (ms === null || ms === undefined) { return "-"; }
    var s = ms / 1000;
    if (s < 60) { return s.toFixed(1) + "s"; }
    var whole = Math.floor(s), h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60);
    return h ? h + "h " + m + "m " + (whole % 60) + "s" : m + "m " + (whole % 60) + "s";
  }

  function badge(status) {
    var el = document.createElement("span");
    var label = RUN_LABELS[status] || ["?", String(status).toUpperCase()];
    el.className = "badge s-" + status;
    el.textContent = label[0] + " " + label[1];
    return el;
  }

  /* A run event updates that run's row in place, from the event's own data. */
  function updateRow(box, run) {
    var row = null;
    box.querySelectorAll("tr[data-key]").forEach(function (tr) {
      if (tr.dataset.key === run.id) { row = tr; }
    });
    if (!row) { return false; }
    var cells = row.children;
    cells[2].replaceChildren(badge(run.status));
    cells[4].textContent = duration(run.duration_ms);
    cells[5].textContent = String(run.total_tasks);
    cells[6].textContent = String(run.tasks_success);
    cells[7].textContent = String(run.tasks_failed);
    cells[8].textContent = String(run.tasks_skipped);
    return true;
  }

  function history() {
    var box = document.getElementById("history");
    var refresh = refresher(function () {
      return fetch(box.dataset.src, { headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { box.innerHTML = html; } });
    }, 2000);
    listen({
      run: function (run) {
        updateRow(box, run);
        refresh(); /* new runs and the summary: a throttled reload of the table */
      }
    });
  }

  function graphStates(states) {
    var frame = document.getElementById("graph-frame");
    var win = frame && frame.contentWindow;
    if (win && win.wfSetStates) { win.wfSetStates(states); }
  }

  function run() {
    var runId = body.dataset.run;
    var head = document.getElementById("run-head");
    var main = document.getElementById("run-body");
    var refresh = refresher(function () {
      return fetch(body.dataset.src, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (doc) {
          if (!doc) { return; }
          var details = head.querySelector("details");
          var open = details ? details.open : true;
          head.innerHTML = doc.head;
          details = head.querySelector("details");
          if (details) { details.open = open; }
          main.innerHTML = doc.body;
          graphStates(doc.states);
          body.dataset.terminal = doc.terminal ? "1" : "0";
        });
    }, 1000);
    var frame = document.getElementById("graph-frame");
    if (frame) { frame.addEventListener("load", function () { refresh(); }); }
    listen({
      run: function (r) { if (r.id === runId) { refresh(); } },
      tasks: function (t) {
        if (t.run_id !== runId) { return; }
        graphStates(t.states);
        refresh();
      }
    });
  }

  function log() {
    var pre = document.getElementById("log");
    var status = document.getElementById("log-status");
    var api = body.dataset.api;
    var start = Number(body.dataset.start), end = Number(body.dataset.end);
    var chunk = Number(body.dataset.chunk);
    var earlier = document.getElementById("log-earlier");
    function part(offset, length) {
      var sep = api.indexOf("?") === -1 ? "?" : "&";
      var href = api + sep + "offset=" + offset + (length === null ? "" : "&length=" + length);
      return fetch(href).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.arrayBuffer().then(function (buf) { return { buf: buf, headers: r.headers }; });
      });
    }
    if (earlier) {
      earlier.addEventListener("click", function () {
        if (earlier.disabled) { return; }
        earlier.disabled = true;
        var from = Math.max(0, start - chunk);
        part(from, start - from).then(function (res) {
          earlier.disabled = false;
          var text = new TextDecoder("utf-8").decode(res.buf);
          pre.insertBefore(document.createTextNode(text), pre.firstChild);
          start = from;
          if (start === 0) { earlier.remove(); } else {
            earlier.textContent = "Load earlier output (" + start + " bytes not shown)";
          }
        }).catch(function () { earlier.disabled = false; });
      });
    }
    if (body.dataset.follow !== "1") { return; }
    /* Follow: read at most one chunk per request; far behind, jump to the tail; keep at most
       LIMIT characters in the page (the oldest are dropped, and can be read again). */
    var LIMIT = 1024 * 1024;
    var decoder = new TextDecoder("utf-8");
    function append(text) {
      var atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
      pre.appendChild(document.createTextNode(text));
      var excess = pre.textContent.length - LIMIT;
      if (excess > 0) {
        pre.textContent = pre.textContent.slice(excess);
        status.textContent = "Following live output (older output dropped from this view)…";
      }
      if (atBottom) { pre.scrollTop = pre.scrollHeight; }
    }
    function tick() {
      part(end, chunk).then(function (res) {
        var size = Number(res.headers.get("X-Wf-Log-Size"));
        var got = res.buf.byteLength;
        if (got) {
          append(decoder.decode(res.buf, { stream: true }));
          end += got;
        }
        if (size - end > 4 * chunk) {
          append("\n\u2026 " + (size - chunk - end) + " bytes skipped \u2026\n");
          decoder = new TextDecoder("utf-8");
          end = size - chunk;
        }
        var state = res.headers.get("X-Wf-Attempt-State");
        if (end < size) {
          window.setTimeout(tick, 50);
        } else if (state === "running") {
          window.setTimeout(tick, 1000);
        } else {
          append(decoder.decode());
          status.textContent = "The attempt ended (" + state + ").";
        }
      }).catch(function () {
        status.textContent = "Lost contact with wf ui; reload to continue.";
      });
    }
    window.setTimeout(tick, 1000);
  }

  if (page === "history") { history(); }
  else if (page === "run") { run(); }
  else if (page === "log") { log(); }
})();
