/* Quality scoring pages: the comments of an evaluation as markers on the recording player's
 * waveform (static/calls/recording-player.js), "add a comment at the current position" on the
 * scoring form, and comment times that seek the player. No build step, no framework. */
(function () {
  "use strict";

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds || 0));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function seconds(text) {
    var m = /^\s*(?:(\d{1,2}):)?(\d{1,4})(?:\.(\d{1,3}))?\s*$/.exec(text || "");
    if (!m) return null;
    return (parseInt(m[1] || "0", 10) * 60) + parseInt(m[2], 10) + (m[3] ? parseInt(m[3], 10) / Math.pow(10, m[3].length) : 0);
  }

  function player() {
    var el = document.getElementById("qa-player");
    return el && window.RecordingPlayer ? window.RecordingPlayer.get(el) : null;
  }

  function syncMarkers(form) {
    var p = player();
    if (!p) return;
    p.clearMarkers();
    form.querySelectorAll("#qa-comments tr.qa-comment").forEach(function (row, n) {
      var at = seconds(row.querySelector("input[name=comment_at]").value);
      var text = row.querySelector("input[name=comment_text]").value;
      if (at !== null && text) p.addMarker({ id: "c" + n, time: at, label: text.slice(0, 60) });
    });
  }

  function newRow(at) {
    var template = document.querySelector("#qa-comments tbody tr.qa-comment:last-child");
    var last = template.querySelector("input[name=comment_text]");
    if (!last.value) {  // the empty row at the end takes it
      template.querySelector("input[name=comment_at]").value = at;
      return template;
    }
    var row = template.cloneNode(true);
    row.querySelector("input[name=comment_at]").value = at;
    row.querySelector("input[name=comment_text]").value = "";
    template.parentNode.appendChild(row);
    return row;
  }

  function init() {
    var el = document.getElementById("qa-player");
    var p = player();
    if (p && el.dataset.markers) {
      try {
        JSON.parse(el.dataset.markers).forEach(function (m) { p.addMarker(m); });
      } catch (e) { /* no markers */ }
    }
    document.querySelectorAll(".qa-seek").forEach(function (button) {
      button.addEventListener("click", function () {
        var q = player();
        if (q) { q.seek(parseInt(button.dataset.time, 10) / 1000); q.play(); }
      });
    });
    var form = document.getElementById("qa-form");
    if (!form) return;
    var add = document.getElementById("qa-add-comment");
    add.addEventListener("click", function () {
      var q = player();
      var row = newRow(clock(q ? q.currentTime() : 0));
      row.querySelector("input[name=comment_text]").focus();
    });
    form.addEventListener("click", function (event) {
      if (!event.target.classList.contains("qa-remove")) return;
      var rows = form.querySelectorAll("#qa-comments tr.qa-comment");
      var row = event.target.closest("tr");
      if (rows.length > 1) row.remove();
      else row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      syncMarkers(form);
    });
    form.addEventListener("input", function (event) {
      if (event.target.name === "comment_at" || event.target.name === "comment_text") syncMarkers(form);
    });
    if (el) {
      el.addEventListener("recording:marker", function (event) {
        var id = event.detail && event.detail.marker && event.detail.marker.id;
        var rows = form.querySelectorAll("#qa-comments tr.qa-comment");
        var n = id ? parseInt(String(id).slice(1), 10) : -1;
        if (rows[n]) rows[n].querySelector("input[name=comment_text]").focus();
      });
    }
    syncMarkers(form);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
