// The web UI's only script: upload progress (XHR, so the bytes going up can be counted) and live
// refresh of server-rendered fragments. Everything else is plain forms.
"use strict";

(function () {
  function announce(text) {
    var el = document.getElementById("announce");
    if (el) { el.textContent = ""; setTimeout(function () { el.textContent = text; }, 50); }
  }

  // Words a person understands for the API's refusals; the API's own message follows.
  function refusal(status, body) {
    var e = (body && body.error) || {};
    var lead = {
      FILE_TOO_LARGE: "Too large.",
      PAYLOAD_TOO_LARGE: "Too large.",
      UNSUPPORTED_MEDIA_TYPE: "This type of file is not accepted.",
      VALIDATION_ERROR: "Not accepted.",
      INVALID_MULTIPART: "The upload was cut off.",
      TOO_MANY_FILES: "Too many files at once.",
      INSUFFICIENT_STORAGE: "No space left on the server; try again later.",
      UNAUTHORIZED: "Your session has ended: sign in again.",
      CSRF_REFUSED: "This page is stale: reload it."
    }[e.code] || ("The upload failed (" + status + ").");
    return lead + (e.message ? " " + e.message : "");
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function refreshFragment(container) {
    var url = container.getAttribute("data-live-url");
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) { container.innerHTML = html; return container; });
  }

  // ---- Campaign page: many files, one manifest each, progress per file and overall.
  var form = document.getElementById("upload");
  if (form) {
    var campaign = form.getAttribute("data-campaign");
    var csrf = form.getAttribute("data-csrf");
    var input = document.getElementById("files");
    var zone = document.getElementById("dropzone");
    var list = document.getElementById("uploads");
    var overallBox = document.getElementById("upload-overall");
    var overall = document.getElementById("overall-progress");
    var live = document.getElementById("campaign-live");
    var batch = { total: 0, loaded: {}, left: 0, queue: [], rows: [] };
    var PARALLEL = 3;

    function updateOverall() {
      var sum = 0;
      Object.keys(batch.loaded).forEach(function (k) { sum += batch.loaded[k]; });
      overall.value = batch.total ? Math.round(sum * 100 / batch.total) : 100;
    }

    function metadataFor(file) {
      var name = (form.elements.name.value || "").trim();
      var md = { name: name || file.name, assets: [{ filename: file.name }] };
      var click = (form.elements.clickthrough.value || "").trim();
      if (click) md.url_asset = { url: click };
      var fmt = form.elements.format.value;
      if (fmt) {
        var i = fmt.indexOf("|");
        md.format_id = { agent_url: fmt.slice(0, i), id: fmt.slice(i + 1) };
      }
      return md;
    }

    function describe(m) {
      var a = (m.assets || []).find(function (x) { return x.asset_source === "upload"; }) || {};
      var parts = [a.asset_type, a.content_type];
      if (a.file_size != null) parts.push(Math.round(a.file_size / 102.4) / 10 + " kB");
      if (a.width) parts.push(a.width + "×" + a.height);
      if (a.duration_ms) parts.push(a.duration_ms / 1000 + " s");
      var text = parts.filter(Boolean).join(" · ");
      var warnings = (a.warnings || []).concat(m.warnings || []).map(function (w) { return w.message || w; });
      return { text: text, warnings: warnings };
    }

    function row(file) {
      var li = el("li");
      li.setAttribute("data-file", file.name);
      var label = el("span", "file-name", file.name);
      var bar = el("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", "Upload of " + file.name);
      var status = el("p", "file-status", "Waiting…");
      li.appendChild(label); li.appendChild(bar); li.appendChild(status);
      list.appendChild(li);
      return li;
    }

    function uploadOne(file, idx) {
      var li = batch.rows[idx];
      var bar = li.querySelector("progress");
      var status = li.querySelector(".file-status");
      status.textContent = "Starting…";
      var key = idx + ":" + file.name;
      batch.loaded[key] = 0;

      var fd = new FormData();
      fd.append("metadata", JSON.stringify(metadataFor(file)));
      fd.append("files", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/ui/api/buyer/campaigns/" + encodeURIComponent(campaign) + "/creatives/create");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.responseType = "json";
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round(e.loaded * 100 / e.total);
          batch.loaded[key] = file.size * e.loaded / e.total;
          updateOverall();
          status.textContent = "Uploading… " + bar.value + "%";
        }
      };
      xhr.upload.onload = function () { status.textContent = "Processing…"; };
      xhr.onload = function () {
        bar.value = 100;
        batch.loaded[key] = file.size;
        updateOverall();
        var body = xhr.response;
        if (xhr.status >= 200 && xhr.status < 300) {
          var d = describe(body || {});
          li.className = "done";
          status.textContent = "Done: " + d.text;
          if (d.warnings.length) {
            var w = el("p", "warning-inline", "Warnings: " + d.warnings.join("; "));
            li.appendChild(w);
          }
          li.setAttribute("data-state", "done");
        } else {
          li.className = "failed";
          status.textContent = refusal(xhr.status, body);
          li.setAttribute("data-state", "failed");
        }
        finished();
      };
      xhr.onerror = function () {
        li.className = "failed";
        // The service cuts off a file as it passes the limit, so the browser may see only a
        // dropped connection: say why when the size explains it.
        var max = Number(form.getAttribute("data-max-file-bytes")) || 0;
        status.textContent = max && file.size > max
          ? "Too large: " + Math.round(file.size / 1048576) + " MB, the limit is " + Math.round(max / 1048576) + " MB per file."
          : "The connection failed before the file was sent.";
        li.setAttribute("data-state", "failed");
        finished();
      };
      xhr.send(fd);
    }

    function finished() {
      batch.left -= 1;
      if (batch.queue.length) { var next = batch.queue.shift(); uploadOne(next[0], next[1]); }
      if (batch.left > 0) return;
      var failed = list.querySelectorAll("li[data-state=failed]").length;
      refreshFragment(live).then(function () {
        var s = document.getElementById("coverage-summary");
        announce("Uploads finished" + (failed ? ", " + failed + " failed" : "") + ". " + (s ? s.textContent : ""));
      }).catch(function () { announce("Uploads finished; reload the page to see the coverage."); });
    }

    function start(files) {
      if (!files || !files.length) return;
      list.innerHTML = "";
      overallBox.hidden = false;
      batch = { total: 0, loaded: {}, left: files.length, queue: [], rows: [] };
      for (var r = 0; r < files.length; r++) batch.rows.push(row(files[r]));
      for (var i = 0; i < files.length; i++) batch.total += files[i].size;
      updateOverall();
      announce("Uploading " + files.length + " file" + (files.length > 1 ? "s" : ""));
      // Every file gets its row and bar at once; the bytes go up PARALLEL files at a time (the
      // server takes concurrent uploads), so a batch is quicker than one by one while the first
      // manifests are still ready soon and the browser's connections are not all taken.
      for (var j = 0; j < files.length; j++) {
        if (j < PARALLEL) uploadOne(files[j], j); else batch.queue.push([files[j], j]);
      }
    }

    form.addEventListener("submit", function (e) { e.preventDefault(); start(input.files); });
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) { start(e.dataTransfer.files); });
  }

  // ---- Manifest page: add or replace a file through the API's update.
  Array.prototype.forEach.call(document.querySelectorAll("form.js-asset-upload"), function (f) {
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      var file = f.elements.file.files[0];
      if (!file) return;
      var md = { new_assets: [{ filename: file.name }] };
      if (f.elements.replace.value) md.delete_asset_ids = [f.elements.replace.value];
      var fd = new FormData();
      fd.append("metadata", JSON.stringify(md));
      fd.append("files", file, file.name);
      var bar = f.querySelector("progress");
      var out = f.querySelector(".result");
      bar.hidden = false;
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", f.getAttribute("data-url"));
      xhr.setRequestHeader("X-CSRF-Token", f.getAttribute("data-csrf"));
      xhr.responseType = "json";
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) bar.value = Math.round(ev.loaded * 100 / ev.total); };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) { out.textContent = "Saved."; location.reload(); }
        else { out.textContent = refusal(xhr.status, xhr.response); out.className = "result error-inline"; }
      };
      xhr.onerror = function () { out.textContent = "The connection failed."; };
      xhr.send(fd);
    });
  });

  // ---- Live fragments (propagation): refresh while jobs run, then stop.
  Array.prototype.forEach.call(document.querySelectorAll("[data-live=on]"), function (c) {
    var timer = setInterval(function () {
      refreshFragment(c).then(function () {
        var s = c.querySelector("#live-state");
        if (s && s.getAttribute("data-settled") === "yes") {
          clearInterval(timer);
          announce("All jobs have finished.");
        }
      }).catch(function () { clearInterval(timer); });
    }, 2000);
  });
})();
