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

  /* One refresh at a time; events that arrive meanwhile cause one more afterwards. */
  function refresher(load) {
    var busy = false, again = false;
    function run() {
      if (busy) { again = true; return; }
      busy = true;
      load().catch(function () { return null; }).then(function () {
        busy = false;
        if (again) { again = false; window.setTimeout(run, 150); }
      });
    }
    return run;
  }

  function history() {
    var box = document.getElementById("history");
    var refresh = refresher(function () {
      return fetch(box.dataset.src, { headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { box.innerHTML = html; } });
    });
    listen({ run: refresh });
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
    });
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
        var from = Math.max(0, start - chunk);
        part(from, start - from).then(function (res) {
          var text = new TextDecoder("utf-8").decode(res.buf);
          pre.insertBefore(document.createTextNode(text), pre.firstChild);
          start = from;
          if (start === 0) { earlier.remove(); } else {
            earlier.textContent = "Load earlier output (" + start + " bytes not shown)";
          }
        });
      });
    }
    if (body.dataset.follow !== "1") { return; }
    var decoder = new TextDecoder("utf-8");
    function tick() {
      part(end, null).then(function (res) {
        var atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
        if (res.buf.byteLength) {
          pre.appendChild(document.createTextNode(decoder.decode(res.buf, { stream: true })));
          end += res.buf.byteLength;
          if (atBottom) { pre.scrollTop = pre.scrollHeight; }
        }
        var state = res.headers.get("X-Wf-Attempt-State");
        if (state === "running" || res.buf.byteLength) {
          window.setTimeout(tick, 1000);
        } else {
          pre.appendChild(document.createTextNode(decoder.decode()));
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
