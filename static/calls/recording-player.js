/* The recording player: an HTML5 <audio> element and a waveform drawn from the peaks computed at
 * ingest. Reusable on any page (the recording's page, the quality-scoring form):
 *
 *   <div class="recording-player" data-src="/api/recordings/7/audio/" data-peaks='[12, 80, …]'
 *        data-masked='[{"start_ms": 23000, "end_ms": 29000, "reason": "password"}]'
 *        data-duration-ms="47317" data-labels='{"password": "已屏蔽（密码）"}'></div>
 *
 * Click (or drag on) the waveform to seek; ← / → move 5 s, space plays / pauses. Masked segments
 * (not recorded: a password was entered) are shaded and labelled.
 *
 * Events, dispatched on the .recording-player element (they bubble):
 *   recording:ready   {duration}              the audio's metadata is known
 *   recording:time    {currentTime, duration} while playing and after every seek
 *   recording:marker  {marker}                a marker was clicked (the player seeks to it too)
 * API: RecordingPlayer.get(element) → {addMarker({id, time, label, color}), removeMarker(id),
 *   clearMarkers(), markers(), seek(seconds), play(), pause(), currentTime(), duration(), audio};
 *   RecordingPlayer.initAll(root) initialises players inserted later (htmx).
 */
(function () {
  "use strict";

  var PLAYED = "#0b6e4f";
  var UNPLAYED = "#b8c4d1";
  var MASK_FILL = "rgba(240, 163, 52, 0.28)";
  var MASK_LINE = "#c77700";
  var CURSOR = "#b42318";

  function parse(text, fallback) {
    if (!text) return fallback;
    try { return JSON.parse(text); } catch (e) { return fallback; }
  }

  function clock(seconds) {
    if (!isFinite(seconds) || seconds < 0) seconds = 0;
    var s = Math.floor(seconds);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function Player(root) {
    this.root = root;
    this.peaks = parse(root.dataset.peaks, []);
    this.masked = parse(root.dataset.masked, []);
    this.labels = parse(root.dataset.labels, {});
    this.texts = parse(root.dataset.texts, {});
    this.fallbackDuration = (parseInt(root.dataset.durationMs, 10) || 0) / 1000;
    this._markers = [];
    this._build();
  }

  Player.prototype._build = function () {
    var root = this.root, self = this;
    root.classList.add("rp-ready");

    var wave = document.createElement("div");
    wave.className = "rp-wave";
    var canvas = document.createElement("canvas");
    canvas.className = "rp-canvas";
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "slider");
    canvas.setAttribute("aria-label", this.texts.seek || "Waveform: click to seek");
    canvas.setAttribute("aria-valuemin", "0");
    wave.appendChild(canvas);
    var overlay = document.createElement("div");
    overlay.className = "rp-overlay";
    wave.appendChild(overlay);
    if (!this.peaks.length) {
      var note = document.createElement("p");
      note.className = "rp-note muted";
      note.textContent = this.texts.no_waveform || "";
      wave.appendChild(note);
    }
    this.canvas = canvas;
    this.overlay = overlay;

    var audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "metadata";
    audio.className = "rp-audio";
    if (root.dataset.src && !root.dataset.purged) audio.src = root.dataset.src;
    this.audio = audio;

    var bar = document.createElement("div");
    bar.className = "rp-bar";
    var time = document.createElement("span");
    time.className = "rp-time";
    this.timeLabel = time;
    bar.appendChild(audio);
    bar.appendChild(time);
    var error = document.createElement("p");
    error.className = "rp-error error";
    error.hidden = true;
    error.textContent = this.texts.error || "The recording cannot be played.";
    this.errorLabel = error;

    var noscript = root.querySelector("noscript");
    if (noscript) noscript.remove();
    root.appendChild(wave);
    root.appendChild(bar);
    root.appendChild(error);

    audio.addEventListener("loadedmetadata", function () {
      self._layoutOverlay();
      self._tick();
      self._emit("recording:ready", { duration: self.duration() });
    });
    audio.addEventListener("timeupdate", function () { self._tick(); });
    audio.addEventListener("seeked", function () { self._tick(); });
    audio.addEventListener("error", function () { if (audio.getAttribute("src")) error.hidden = false; });

    var dragging = false;
    function seekAt(event) {
      var rect = canvas.getBoundingClientRect();
      if (!rect.width) return;
      var ratio = Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1);
      self.seek(ratio * self.duration());
    }
    canvas.addEventListener("pointerdown", function (event) {
      dragging = true;
      if (canvas.setPointerCapture) canvas.setPointerCapture(event.pointerId);
      seekAt(event);
    });
    canvas.addEventListener("pointermove", function (event) { if (dragging) seekAt(event); });
    canvas.addEventListener("pointerup", function () { dragging = false; });
    canvas.addEventListener("pointercancel", function () { dragging = false; });
    canvas.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") { self.seek(self.currentTime() - 5); event.preventDefault(); }
      else if (event.key === "ArrowRight") { self.seek(self.currentTime() + 5); event.preventDefault(); }
      else if (event.key === " ") { if (audio.paused) self.play(); else self.pause(); event.preventDefault(); }
    });

    if (window.ResizeObserver) {
      new ResizeObserver(function () { self.draw(); }).observe(wave);
    } else {
      window.addEventListener("resize", function () { self.draw(); });
    }
    this._layoutOverlay();
    this.draw();
  };

  Player.prototype.duration = function () {
    var d = this.audio.duration;
    return isFinite(d) && d > 0 ? d : this.fallbackDuration;
  };
  Player.prototype.currentTime = function () { return this.audio.currentTime || 0; };
  Player.prototype.play = function () { return this.audio.play(); };
  Player.prototype.pause = function () { this.audio.pause(); };
  Player.prototype.seek = function (seconds) {
    var duration = this.duration();
    var target = Math.min(Math.max(seconds || 0, 0), duration || 0);
    try { this.audio.currentTime = target; } catch (e) { /* no metadata yet */ }
    this._tick(target);
  };

  Player.prototype._emit = function (name, detail) {
    this.root.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true }));
  };

  Player.prototype._tick = function (override) {
    var now = typeof override === "number" ? override : this.currentTime();
    var duration = this.duration();
    this.timeLabel.textContent = clock(now) + " / " + clock(duration);
    this.canvas.setAttribute("aria-valuemax", String(Math.round(duration)));
    this.canvas.setAttribute("aria-valuenow", String(Math.round(now)));
    this.canvas.setAttribute("aria-valuetext", clock(now));
    this.draw(now);
    this._emit("recording:time", { currentTime: now, duration: duration });
  };

  Player.prototype._layoutOverlay = function () {
    var self = this, duration = this.duration();
    this.overlay.textContent = "";
    if (!duration) return;
    this.masked.forEach(function (segment) {
      var start = segment.start_ms / 1000, end = segment.end_ms / 1000;
      var el = document.createElement("div");
      el.className = "rp-masked";
      el.style.left = (100 * start / duration) + "%";
      el.style.width = Math.max(0.4, 100 * (end - start) / duration) + "%";
      var label = self.labels[segment.reason] || self.labels[""] || self.texts.masked || "Masked";
      el.textContent = label;
      el.title = label + " " + clock(start) + "–" + clock(end);
      el.dataset.startMs = segment.start_ms;
      el.dataset.endMs = segment.end_ms;
      self.overlay.appendChild(el);
    });
    this._markers.forEach(function (marker) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "rp-marker";
      button.style.left = (100 * marker.time / duration) + "%";
      if (marker.color) button.style.setProperty("--rp-marker", marker.color);
      button.title = clock(marker.time) + (marker.label ? " " + marker.label : "");
      button.setAttribute("aria-label", button.title);
      button.dataset.markerId = marker.id;
      button.addEventListener("click", function (event) {
        event.stopPropagation();
        self.seek(marker.time);
        self._emit("recording:marker", { marker: marker });
      });
      self.overlay.appendChild(button);
    });
  };

  Player.prototype.draw = function (now) {
    var canvas = this.canvas;
    var width = canvas.clientWidth, height = canvas.clientHeight;
    if (!width || !height) return;
    var ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      this._layoutOverlay();
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    var duration = this.duration();
    var current = typeof now === "number" ? now : this.currentTime();
    var playedX = duration ? width * current / duration : 0;

    this.masked.forEach(function (segment) {
      if (!duration) return;
      var x0 = width * (segment.start_ms / 1000) / duration;
      var x1 = width * (segment.end_ms / 1000) / duration;
      ctx.fillStyle = MASK_FILL;
      ctx.fillRect(x0, 0, Math.max(1, x1 - x0), height);
      ctx.strokeStyle = MASK_LINE;
      ctx.lineWidth = 1;
      ctx.strokeRect(x0 + 0.5, 0.5, Math.max(1, x1 - x0) - 1, height - 1);
    });

    var peaks = this.peaks, n = peaks.length, middle = height / 2;
    if (n) {
      var step = width / n;
      var barWidth = Math.max(1, step * 0.7);
      for (var i = 0; i < n; i++) {
        var x = i * step;
        var amplitude = Math.max(1, (peaks[i] / 255) * (middle - 2));
        ctx.fillStyle = x + barWidth / 2 <= playedX ? PLAYED : UNPLAYED;
        ctx.fillRect(x, middle - amplitude, barWidth, amplitude * 2);
      }
    } else {
      ctx.fillStyle = UNPLAYED;
      ctx.fillRect(0, middle - 0.5, width, 1);
      ctx.fillStyle = PLAYED;
      ctx.fillRect(0, middle - 0.5, playedX, 1);
    }
    this._markers.forEach(function (marker) {
      if (!duration) return;
      var x = width * marker.time / duration;
      ctx.fillStyle = marker.color || "#2f5fd0";
      ctx.fillRect(x - 1, 0, 2, height);
    });
    if (duration) {
      ctx.fillStyle = CURSOR;
      ctx.fillRect(Math.min(playedX, width - 2), 0, 2, height);
    }
    canvas.dataset.drawn = String(n);
  };

  Player.prototype.addMarker = function (marker) {
    var entry = {
      id: marker.id != null ? String(marker.id) : "m" + Date.now() + Math.random().toString(16).slice(2, 6),
      time: Math.max(0, Number(marker.time) || 0),
      label: marker.label || "",
      color: marker.color || "",
    };
    this.removeMarker(entry.id);
    this._markers.push(entry);
    this._markers.sort(function (a, b) { return a.time - b.time; });
    this._layoutOverlay();
    this.draw();
    return entry;
  };
  Player.prototype.removeMarker = function (id) {
    id = String(id);
    this._markers = this._markers.filter(function (m) { return m.id !== id; });
    this._layoutOverlay();
    this.draw();
  };
  Player.prototype.clearMarkers = function () { this._markers = []; this._layoutOverlay(); this.draw(); };
  Player.prototype.markers = function () { return this._markers.slice(); };

  function get(element) {
    if (!element) return null;
    if (!element.recordingPlayer) element.recordingPlayer = new Player(element);
    return element.recordingPlayer;
  }

  function initAll(root) {
    (root || document).querySelectorAll(".recording-player").forEach(get);
  }

  window.RecordingPlayer = { get: get, initAll: initAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  } else {
    initAll(document);
  }
  document.addEventListener("htmx:load", function (event) { initAll(event.target); });
})();
