/* IVR simulator: a keypad driving a test call through the simulator endpoints, which call the
   same engine as the switch API. Plays the prompt WAVs in order, shows texts, state and data.
   No build step, no framework. */
(function () {
  "use strict";
  const root = document.getElementById("simulator");
  if (!root) return;
  const T = JSON.parse(document.getElementById("sim-texts").textContent);
  const $ = (id) => document.getElementById(id);
  const keys = Array.from(root.querySelectorAll(".key"));
  const display = $("sim-display");
  const log = $("sim-log");
  const audio = $("sim-audio");
  const audioQueue = [];
  let call = null; // {id, nextSeq, gather, buffer, secret, busy, queued}
  let poller = null; // a test call handed to a queue: its calls-side state is polled

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, (_, name) => (name in values ? values[name] : ""));
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    }).then((response) =>
      response.json().then((json) => ({ ok: response.ok, status: response.status, body: json }))
    );
  }

  function setButtons() {
    const live = call !== null && (!call.ended || call.queued);
    keys.forEach((button) => (button.disabled = !live || !call.gather || call.busy));
    $("sim-call").disabled = live;
    $("sim-hangup").disabled = !live;
    $("sim-timeout").disabled = !live || !call.gather || call.busy;
    $("sim-version").disabled = live || $("sim-version").options.length < 2;
  }

  function showDisplay() {
    if (!call) return;
    if (call.queued) {
      display.textContent = T.waiting_agent;
    } else if (call.ended) {
      display.textContent = T.ended;
    } else if (call.buffer) {
      display.textContent = call.secret ? "•".repeat(call.buffer.length) : call.buffer;
    } else if (call.gather) {
      display.textContent =
        call.gather.max_digits === 1 ? T.waiting_one : fmt(T.waiting, { n: call.gather.max_digits });
    } else {
      display.textContent = T.calling;
    }
  }

  function addLine(className, html) {
    const item = document.createElement("li");
    item.className = className;
    item.innerHTML = html;
    log.appendChild(item);
    item.scrollIntoView({ block: "nearest" });
    return item;
  }

  // Card and account numbers in the transcript: first 6 and last 4 of a card, last 4 otherwise.
  function maskNumber(digits) {
    if (digits.length < 7) return digits;
    if (digits.length >= 14) return digits.slice(0, 6) + "******" + digits.slice(-4);
    return "****" + digits.slice(-4);
  }

  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function playNext() {
    if (!audio.paused || audioQueue.length === 0) return;
    audio.src = audioQueue.shift();
    audio.play().catch(() => {
      audioQueue.length = 0;
    });
  }
  audio.addEventListener("ended", playNext);
  audio.addEventListener("error", () => playNext());

  function stopAudio() {
    audioQueue.length = 0;
    audio.pause();
    audio.removeAttribute("src");
  }

  function renderState(state, actions) {
    $("st-call").textContent = state.call_id;
    $("st-version").textContent =
      "v" + state.version + " (" + (T.statuses[state.version_status] || state.version_status) + ")";
    $("st-node").textContent = state.node || "—";
    $("st-step").textContent = state.step || "—";
    $("st-verified").textContent = state.verified ? T.verified : T.not_verified;
    $("st-path").textContent = state.path.join(" → ");
    $("st-outcome").textContent = state.outcome || "—";
    const data = actions.filter((a) => a.type === "say" && a.data && Object.keys(a.data).length);
    if (data.length) {
      $("st-data").textContent = JSON.stringify(
        Object.assign({}, ...data.map((a) => ({ [a.prompt]: a.data }))),
        null,
        2
      );
    }
  }

  function handle(result) {
    if (!result.ok) {
      const error = result.body.error || {};
      addLine("sim-error", escapeHtml(T.error + ": " + (error.code || result.status) + " " + (error.message || "")));
      call.busy = false;
      setButtons();
      return;
    }
    const { actions, state } = result.body;
    call.id = state.call_id;
    call.nextSeq = state.next_seq;
    call.gather = null;
    call.secret = false;
    call.busy = false;
    call.buffer = "";
    let lastPrompt = "";
    const play = $("sim-play").checked;
    // The banking write ran under the real rules and was rolled back: said right after what the
    // caller heard of it (the first prompt of the answer).
    let simulatedNotice = !!(state && state.simulated && state.simulated.length);
    actions.forEach((action) => {
      if (action.type === "say") {
        lastPrompt = action.prompt;
        const data = Object.keys(action.data || {}).length
          ? '<code class="sim-data">' + escapeHtml(JSON.stringify(action.data)) + "</code>"
          : "";
        const sound = action.audio_url ? "" : ' <span class="muted">' + escapeHtml(T.no_audio) + "</span>";
        addLine(
          "sim-say",
          '<span class="prompt-key">' + escapeHtml(action.prompt) + "</span> " + escapeHtml(action.text) + sound + data
        );
        if (play && action.audio_url) audioQueue.push(action.audio_url);
        if (simulatedNotice) {
          addLine("sim-simulated", escapeHtml(T.simulated));
          simulatedNotice = false;
        }
      } else if (action.type === "gather") {
        call.gather = action;
        call.secret = lastPrompt === "enter_password";
      } else if (action.type === "transfer") {
        addLine("sim-event", escapeHtml(fmt(T.to_agent, { queue: (T.queue_names || {})[action.queue] || action.queue })));
      } else if (action.type === "hangup") {
        addLine("sim-event", escapeHtml(T.hangup));
      }
    });
    if (simulatedNotice) addLine("sim-simulated", escapeHtml(T.simulated));
    renderState(state, actions);
    if (state.ended) {
      call.ended = true;
      call.gather = null;
      if (state.outcome === "agent" && state.is_test) followQueue();
    }
    showDisplay();
    setButtons();
    playNext();
  }

  // After the IVR: the test call waits in its queue, rings an agent, is answered, ends — as the
  // agent desktop sees it. Polls the call's status (GET /api/calls/{id}/) until it ends.
  function queueName(status) {
    return (T.queue_names || {})[status.queue] || status.queue || "";
  }

  function followQueue() {
    call.queued = true;
    call.seen = "";
    const url = root.dataset.callUrl.replace("CALL_ID", encodeURIComponent(call.id));
    const tick = () => {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : null))
        .then((status) => {
          if (!status || !call || !call.queued) return;
          const seen = status.state + "|" + (status.agent || "");
          if (seen !== call.seen) {
            call.seen = seen;
            const values = { queue: queueName(status), agent: status.agent || "" };
            const text = { queued: T.queued, offered: T.ringing, connected: T.connected, ended: T.call_over }[status.state];
            if (text) addLine("sim-event sim-queue", escapeHtml(fmt(text, values)));
            $("st-outcome").textContent = fmt(text || status.state, values);
            if (text && status.state !== "ended") display.textContent = fmt(text, values);
          }
          if (status.state === "ended") stopFollowing();
        })
        .catch(() => {});
    };
    tick();
    poller = window.setInterval(tick, 1500);
    setButtons();
  }

  function stopFollowing() {
    if (poller) window.clearInterval(poller);
    poller = null;
    if (call) call.queued = false;
    display.textContent = T.ended;
    setButtons();
  }

  function hangUp() {
    if (call && call.queued) {
      const url = root.dataset.testHangupUrl.replace("CALL_ID", encodeURIComponent(call.id));
      post(url, {}).then((result) => {
        if (!result.ok) {
          const error = result.body.error || {};
          addLine("sim-error", escapeHtml(T.error + ": " + (error.code || result.status) + " " + (error.message || "")));
        }
        addLine("sim-event sim-queue", escapeHtml(T.call_over));
        stopFollowing();
      });
      return;
    }
    send("hangup");
  }

  function send(type, digits) {
    if (!call || call.ended || call.busy) return;
    stopAudio();
    call.busy = true;
    setButtons();
    const body = { seq: call.nextSeq, type: type };
    if (type === "digits") {
      body.digits = digits;
      const shown = call.secret ? "•".repeat(digits.length) + " (" + T.password + ")" : maskNumber(digits) || "#";
      addLine("sim-keys", escapeHtml("☎ " + shown));
    } else {
      addLine("sim-keys", escapeHtml("☎ " + type));
    }
    const url = root.dataset.eventsUrl.replace("CALL_ID", encodeURIComponent(call.id));
    post(url, body).then(handle).catch((error) => {
      addLine("sim-error", escapeHtml(T.error + ": " + error));
      call.busy = false;
      setButtons();
    });
  }

  function press(key) {
    if (!call || call.ended || !call.gather || call.busy) return;
    stopAudio();
    if (key === "#") {
      send("digits", call.buffer);
      return;
    }
    call.buffer += key;
    showDisplay();
    if (call.buffer.length >= call.gather.max_digits) send("digits", call.buffer);
  }

  $("sim-call").addEventListener("click", () => {
    stopAudio();
    if (poller) window.clearInterval(poller);
    poller = null;
    log.innerHTML = "";
    $("st-data").textContent = "{}";
    call = { id: null, nextSeq: 1, gather: null, buffer: "", secret: false, busy: true, ended: false };
    display.textContent = T.calling;
    setButtons();
    const version = $("sim-version").value;
    post(root.dataset.startUrl, { version: version ? Number(version) : null }).then((result) => {
      if (!result.ok) {
        call.ended = true;
      }
      handle(result);
    });
  });
  $("sim-hangup").addEventListener("click", hangUp);
  $("sim-timeout").addEventListener("click", () => send("timeout"));
  keys.forEach((button) => button.addEventListener("click", () => press(button.dataset.key)));
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select")) return;
    if (/^[0-9*#]$/.test(event.key)) press(event.key);
    else if (event.key === "Enter") press("#");
  });
})();
