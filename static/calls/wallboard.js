/* The wallboard: queues, alerts and every agent's state, from /ws/wallboard/ (coalesced snapshots,
 * at most two a second) with local clocks in between; team leads change an agent's state or
 * skills through the agents API. Reconnects by itself; the first snapshot is in the page. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("wb-config").textContent);
  var T = config.texts;
  var csrf = document.getElementById("wallboard").dataset.csrf;
  var snapshot = JSON.parse(document.getElementById("wb-snapshot").textContent);
  var receivedAt = Date.now();
  var skew = 0;
  var socket = null, retries = 0, reconnectTimer = null;
  var rows = {};

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (!child) continue;
      if (Array.isArray(child)) child.forEach(function (c) { if (c) node.appendChild(c); });
      else node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function fill(node, children) {
    while (node.firstChild) node.removeChild(node.firstChild);
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
  }

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
  }

  function percent(value) { return value === null || value === undefined ? "—" : Math.round(value * 1000) / 10 + "%"; }

  function elapsedSinceSnapshot() { return (Date.now() - receivedAt) / 1000; }

  function secondsSince(iso) { return iso ? (Date.now() - skew - Date.parse(iso)) / 1000 : 0; }

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  // --- socket ---------------------------------------------------------------------------------

  function setLink(kind, text) {
    $("link").className = "link link-" + kind;
    $("link").textContent = text;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.ws);
    socket.onopen = function () { retries = 0; setLink("up", T.connected); };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "wallboard") apply(message);
    };
    socket.onclose = function (event) {
      socket = null;
      if (event.code === 4401) { window.location.href = config.urls.login + "?next=" + encodeURIComponent(location.pathname); return; }
      if (event.code === 4403) { setLink("down", T.error); return; }
      setLink("down", T.reconnecting);
      reconnectTimer = setTimeout(connect, Math.min(1000 * Math.pow(2, retries++), 15000) + Math.random() * 500);
    };
  }

  function apply(message) {
    snapshot = message;
    receivedAt = Date.now();
    skew = receivedAt - Date.parse(message.at);
    render();
  }

  // --- rendering ------------------------------------------------------------------------------

  function render() {
    renderQueues();
    renderAgents();
    renderAlerts();
    var at = new Date(Date.parse(snapshot.at));
    $("updated").textContent = fmt(T.updated, { time: pad(at.getHours()) + ":" + pad(at.getMinutes()) + ":" + pad(at.getSeconds()) });
  }

  function renderQueues() {
    fill($("queues"), snapshot.queues.map(function (q) {
      var longest = q.waiting ? q.longest_wait_s + elapsedSinceSnapshot() : 0;
      var low = q.service_level_today !== null && q.service_level_today < config.service_level_target;
      return el("article", { className: "card tile" + (q.alerts.length ? " tile-alert" : ""), "data-queue": q.code },
        el("h2", { text: queueName(q.code, q.name) }),
        el("div", { className: "tile-main" },
          el("div", {}, el("div", { className: "big", text: String(q.waiting) }), el("div", { className: "muted", text: T.waiting })),
          el("div", {}, el("div", { className: "big timer", "data-longest": q.code, text: duration(longest) }),
            el("div", { className: "muted", text: T.longest_wait }))),
        el("dl", { className: "tile-kpis" },
          el("dt", { text: T.service_level }), el("dd", { className: low ? "bad" : "", text: percent(q.service_level_today) }),
          el("dt", { text: T.answered + " / " + T.offered }), el("dd", { text: q.answered_today + " / " + q.offered_today }),
          el("dt", { text: T.abandoned }), el("dd", { text: String(q.abandoned_today) }),
          el("dt", { text: T.asa }), el("dd", { text: q.asa_s_today === null ? "—" : q.asa_s_today + " s" })));
    }));
  }

  function agentAlert(agent) {
    var t = secondsSince(agent.since);
    if (agent.state === "acw" && t > config.alert_acw_s) return fmt(T.alert_acw, { agent: agent.name, t: duration(t) });
    if (agent.state === "not_ready" && t > config.alert_not_ready_s) return fmt(T.alert_not_ready, { agent: agent.name, t: duration(t) });
    return "";
  }

  function renderAlerts() {
    var items = [];
    snapshot.queues.forEach(function (q) {
      q.alerts.forEach(function (code) {
        var name = queueName(q.code, q.name);
        var text = code === "waiting" ? fmt(T.alert_waiting, { queue: name, n: q.waiting })
          : code === "longest_wait" ? fmt(T.alert_longest_wait, { queue: name, t: duration(q.longest_wait_s + elapsedSinceSnapshot()) })
          : fmt(T.alert_service_level, { queue: name, sl: percent(q.service_level_today) });
        items.push(el("li", { className: "alert alert-" + code, text: text }));
      });
    });
    snapshot.agents.forEach(function (a) {
      var text = agentAlert(a);
      if (text) items.push(el("li", { className: "alert alert-agent", text: text }));
    });
    fill($("alerts"), items.length ? items : [el("li", { className: "muted", text: T.no_alerts })]);
  }

  function stateText(agent) {
    var label = config.state_labels[agent.state] || agent.state;
    if (agent.state === "on_call" && agent.held) label += " ⏸";
    return label;
  }

  function renderAgents() {
    var body = $("agents");
    if (!body.dataset.keyed) { fill(body, []); body.dataset.keyed = "1"; }
    var totals = {};
    var seen = {};
    snapshot.agents.forEach(function (agent) {
      seen[agent.username] = true;
      totals[agent.state] = (totals[agent.state] || 0) + 1;
      var row = rows[agent.username];
      if (!row) {
        row = rows[agent.username] = el("tr", { "data-agent": agent.username },
          el("td", {}, el("strong", { text: agent.name }), " ", el("span", { className: "muted", text: agent.username })),
          el("td"), el("td", { className: "timer" }), el("td"));
        if (config.can_edit) row.appendChild(controls(agent));
        body.appendChild(row);
      }
      row.agent = agent;
      var stateCell = row.children[1];
      fill(stateCell, [el("span", { className: "state-badge state-" + agent.state, text: stateText(agent) }),
        (agent.state === "not_ready" || agent.state === "offline") && agent.reason ? el("span", { className: "muted", text: " " + (config.reason_labels[agent.reason] || agent.reason) }) : null,
        // A seat nobody sits at gets no calls, and a lead cannot set it ready (agents.presence).
        agent.connected === false && agent.state !== "offline" ? el("span", { className: "muted no-desktop", text: " · " + T.no_desktop }) : null]);
      row.children[2].textContent = agent.since ? duration(secondsSince(agent.since)) : "—";
      row.children[3].textContent = agent.call_id ? queueName(agent.queue) + " · " + agent.call_id : "";
      row.className = agentAlert(agent) ? "row-alert" : "";
    });
    Object.keys(rows).forEach(function (username) {
      if (!seen[username]) { rows[username].remove(); delete rows[username]; }
    });
    $("agent-totals").textContent = Object.keys(totals).sort().map(function (s) {
      return (config.state_labels[s] || s) + " " + totals[s];
    }).join(" · ");
  }

  // Queue names in the page's language (the pushed snapshot is built without one).
  function queueName(code, fallback) {
    for (var i = 0; i < config.queues.length; i++) if (config.queues[i].value === code) return config.queues[i].label;
    return fallback || code || "";
  }

  function url(template, username) { return template.replace("USERNAME", encodeURIComponent(username)); }

  function controls(agent) {
    var select = el("select", { "aria-label": T.set_state });
    [["ready", ""], ["not_ready", "supervisor"], ["offline", ""]].forEach(function (pair) {
      select.appendChild(el("option", { value: pair[0], text: config.state_labels[pair[0]] }));
    });
    var message = el("span", { className: "muted" });
    var setButton = el("button", { type: "button", className: "btn btn-small", text: T.set_state, onclick: function () {
      api("POST", url(config.urls.state, agent.username), { state: select.value, reason: "" }).then(function (r) {
        message.textContent = r.ok ? T.saved : (r.data && r.data.error ? r.data.error.message : T.error);
      });
    } });
    var editor = el("div", { className: "skills-editor", hidden: true });
    var skillsButton = el("button", { type: "button", className: "btn btn-small btn-quiet", text: T.skills, onclick: function () {
      if (!editor.hidden) { editor.hidden = true; return; }
      api("GET", url(config.urls.skills, agent.username)).then(function (r) {
        if (!r.ok) { message.textContent = T.error; return; }
        var levels = {};
        r.data.skills.forEach(function (s) { levels[s.queue] = s.level; });
        var inputs = config.queues.map(function (q) {
          var input = el("select", { "data-queue": q.value, "aria-label": q.label + " " + T.level });
          ["", "1", "2", "3", "4", "5"].forEach(function (v) { input.appendChild(el("option", { value: v, text: v || T.none })); });
          input.value = levels[q.value] ? String(levels[q.value]) : "";
          return el("label", {}, q.label + " ", input);
        });
        var save = el("button", { type: "button", className: "btn btn-small btn-ready", text: T.save, onclick: function () {
          var skills = [];
          editor.querySelectorAll("select[data-queue]").forEach(function (s) {
            if (s.value) skills.push({ queue: s.dataset.queue, level: Number(s.value) });
          });
          api("PUT", url(config.urls.skills, agent.username), { skills: skills }).then(function (res) {
            message.textContent = res.ok ? T.saved : (res.data && res.data.error ? res.data.error.message : T.error);
            if (res.ok) editor.hidden = true;
          });
        } });
        fill(editor, inputs.concat([save]));
        editor.hidden = false;
      });
    } });
    return el("td", { className: "controls" }, select, setButton, skillsButton, message, editor);
  }

  setInterval(function () {
    snapshot.queues.forEach(function (q) {
      var node = document.querySelector('[data-longest="' + q.code + '"]');
      if (node) node.textContent = duration(q.waiting ? q.longest_wait_s + elapsedSinceSnapshot() : 0);
    });
    Object.keys(rows).forEach(function (username) {
      var row = rows[username];
      if (row.agent && row.agent.since) row.children[2].textContent = duration(secondsSince(row.agent.since));
    });
  }, 1000);
  setInterval(renderAlerts, 5000);

  render();
  connect();
})();
