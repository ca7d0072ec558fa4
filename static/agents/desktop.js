/* The agent desktop: state bar, call controls, screen-pop, wrap-up, verbal loss report, callbacks.
 *
 * One source of truth, the server: the page renders what /ws/agent/ pushes ("desk" on every
 * (re)connect, then "agent.state", "call.offered", "call.updated", "callbacks.changed") and what
 * the REST API answers. After a network drop the socket reconnects with backoff and the "desk"
 * message resyncs everything; a REST resync every 20 s covers a socket that looks alive but is not.
 * Vanilla JS, no build step; every value goes into the page as text, never as HTML.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("desk-config").textContent);
  var T = config.texts;
  var smsTexts = document.getElementById("sms-texts");
  var S = smsTexts ? smsTexts.dataset : {};
  var smsKinds = {};
  var smsStatuses = {};
  if (smsTexts) {
    Array.prototype.forEach.call(smsTexts.querySelectorAll("[data-kind]"), function (node) { smsKinds[node.dataset.kind] = node.textContent; });
    Array.prototype.forEach.call(smsTexts.querySelectorAll("[data-status]"), function (node) { smsStatuses[node.dataset.status] = node.textContent; });
  }
  var root = document.getElementById("desk");
  var csrf = root.dataset.csrf;

  var model = { status: null, current: null, pop: null, acw: null, outbound: null, clockSkewMs: 0 };
  var socket = null;
  var retries = 0;
  var reconnectTimer = null;
  var pingTimer = null;
  var lastMessageAt = 0;

  // --- small helpers --------------------------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "text") node.textContent = value;
        else if (key === "className") node.className = value;
        else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : value);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) child.forEach(function (c) { if (c) node.appendChild(c); });
      else node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function fill(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (!child) continue;
      if (Array.isArray(child)) child.forEach(function (c) { if (c) node.appendChild(c); });
      else node.appendChild(child);
    }
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

  function now() { return Date.now() - model.clockSkewMs; }

  function since(iso) { return iso ? (now() - Date.parse(iso)) / 1000 : 0; }

  function when(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    var today = new Date();
    var time = pad(d.getHours()) + ":" + pad(d.getMinutes());
    if (d.toDateString() === today.toDateString()) return time + ":" + pad(d.getSeconds());
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + time;
  }

  function money(value) {
    if (value === null || value === undefined) return "—";
    var negative = String(value).charAt(0) === "-";
    var parts = String(value).replace("-", "").split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-¥" : "¥") + whole + "." + (parts[1] || "00");
  }

  function label(list, value) {
    for (var i = 0; i < (list || []).length; i++) if (list[i].value === value) return list[i].label;
    return value || "";
  }

  // Queue names in the page's language (a push is built in whatever language the sender had).
  function queueLabel(code, fallback) {
    for (var i = 0; i < config.queues.length; i++) if (config.queues[i].value === code) return config.queues[i].label;
    return fallback || code || "";
  }

  function api(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (response.status === 401) loginAgain();
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function errorText(result) {
    var error = result && result.data && result.data.error;
    return error ? error.message : T.error + " (" + (result ? result.status : "?") + ")";
  }

  function callUrl(callId, action) {
    return config.urls.call.replace("CALL_ID", encodeURIComponent(callId)) + (action ? action + "/" : "");
  }

  function loginAgain() {
    setLink("down", T.login_again);
    window.location.href = config.urls.login + "?next=" + encodeURIComponent(window.location.pathname);
  }

  // --- the socket -----------------------------------------------------------------------------

  function setLink(kind, text) {
    var link = $("link");
    link.className = "link link-" + kind;
    link.textContent = text;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.ws);
    socket.onopen = function () {
      retries = 0;
      setLink("up", T.connected);
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
      }, 20000);
    };
    socket.onmessage = function (event) {
      lastMessageAt = Date.now();
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      handle(message);
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      socket = null;
      if (event.code === 4401) { loginAgain(); return; }
      if (event.code === 4403) { setLink("down", T.error); return; }
      setLink("down", T.reconnecting);
      var delay = Math.min(1000 * Math.pow(2, retries), 15000) + Math.random() * 500;
      retries += 1;
      reconnectTimer = setTimeout(connect, delay);
    };
  }

  window.addEventListener("online", function () {
    if (!socket) { retries = 0; connect(); }
  });

  function resync() {
    return api("GET", config.urls.me).then(function (result) {
      if (result.ok) handle(result.data);
    });
  }

  setInterval(function () {
    if (document.visibilityState === "visible") resync();
  }, 20000);

  // --- messages -------------------------------------------------------------------------------

  function handle(message) {
    switch (message.type) {
      case "desk":
        model.status = message.status;
        model.current = message.current;
        if (message.current) model.pop = message.current;
        model.acw = message.acw_call;
        if (!message.current && !message.acw_call && model.pop && model.pop.call && model.pop.call.state !== "ended") {
          model.pop = null;
        }
        renderAll();
        loadCallbacks();
        loadOutbound();
        break;
      case "agent.state":
        var before = model.status;
        model.status = message;
        var knownCall = model.current ? model.current.call_id : null;
        var knownAcw = model.acw ? model.acw.call_id : null;
        if ((message.call_id || null) !== knownCall || (message.acw_call_id || null) !== knownAcw) {
          resync();
        }
        renderStatus();
        renderCall();
        if (!before || before.state !== message.state) { loadCallbacks(); loadOutbound(); }
        break;
      case "call.offered":
        model.withdrawn = null;
        model.current = message;
        model.pop = message;
        renderAll();
        flashTitle();
        break;
      case "call.updated":
        var call = message.call;
        if (model.current && model.current.call_id === call.call_id) {
          model.current.call = call;
          if (call.agent !== model.status.username || call.state === "ended" || call.state === "queued") {
            model.current = null;
          }
        }
        if (model.pop && model.pop.call_id === call.call_id) model.pop.call = call;
        if (call.state === "ended" && model.acw && model.acw.call_id === call.call_id) model.acw = call;
        renderAll();
        break;
      case "call.withdrawn":
        // The offer ringing this desk was taken back (timeout, caller hung up, moved on, the
        // agent went not ready): the caller panel clears and says why.
        if (model.current && model.current.call_id === message.call_id) model.current = null;
        if (model.pop && model.pop.call_id === message.call_id) model.pop = null;
        model.withdrawn = (T.withdrawn && T.withdrawn[message.reason]) || (T.withdrawn && T.withdrawn.moved) || "";
        renderAll();
        break;
      case "callbacks.changed":
        loadCallbacks();
        break;
      case "outbound.changed":
        loadOutbound();
        break;
      default:
        break;
    }
  }

  function flashTitle() {
    var original = document.title;
    var on = false, n = 0;
    var timer = setInterval(function () {
      on = !on;
      document.title = on ? "● " + T.incoming : original;
      n += 1;
      if (n > 12 || !model.current || model.status.state !== "ringing") {
        clearInterval(timer);
        document.title = original;
      }
    }, 700);
  }

  // --- state bar ------------------------------------------------------------------------------

  function renderStatus() {
    var status = model.status;
    if (!status) return;
    var badge = $("state-badge");
    var state = status.state;
    var text = config.state_labels[state] || state;
    if (state === "on_call" && model.current && model.current.call && model.current.call.held) text = T.on_hold;
    badge.textContent = text;
    badge.className = "state-badge state-" + state;
    $("state-reason").textContent = state === "not_ready" ? (config.reason_labels[status.reason] || status.reason) : "";
    var busy = state === "ringing" || state === "on_call" || state === "acw";
    $("btn-ready").disabled = state === "ready" || busy;
    $("btn-notready").disabled = state === "on_call" || state === "acw";
    $("btn-offline").disabled = state === "offline" || state === "on_call" || state === "acw";
    $("reason-select").disabled = state === "on_call" || state === "acw";
    $("btn-ready").textContent = state === "offline" ? T.login_shift : $("btn-ready").dataset.label;
  }

  function setState(state, reason) {
    var error = $("state-error");
    error.hidden = true;
    return api("POST", config.urls.state, { state: state, reason: reason || "" }).then(function (result) {
      if (!result.ok) {
        error.textContent = errorText(result);
        error.hidden = false;
        return;
      }
      model.status = result.data;
      renderStatus();
      renderCall();
    });
  }

  $("btn-ready").dataset.label = $("btn-ready").textContent;
  $("btn-ready").addEventListener("click", function () { setState("ready"); });
  $("btn-notready").addEventListener("click", function () { setState("not_ready", $("reason-select").value); });
  $("btn-offline").addEventListener("click", function () { setState("offline"); });

  // --- the call panel -------------------------------------------------------------------------

  function callAction(action, body) {
    var call = model.current || model.acw;
    if (!call) return Promise.resolve();
    var id = call.call_id;
    return api("POST", callUrl(id, action), body).then(function (result) {
      if (!result.ok) {
        showCallError(errorText(result));
        return result;
      }
      var detail = result.data;
      if (model.current && model.current.call_id === id) model.current.call = detail;
      if (model.pop && model.pop.call_id === id) model.pop.call = detail;
      if (detail.state === "ended" && detail.agent === model.status.username && !detail.wrapup_at) {
        model.acw = detail;
        model.current = null;
      }
      renderAll();
      return result;
    });
  }

  function showCallError(text) {
    var box = $("call-error");
    if (box) { box.textContent = text; box.hidden = false; }
  }

  function button(text, className, onclick, id) {
    return el("button", { type: "button", className: "btn " + className, onclick: onclick, id: id, text: text });
  }

  var callPanelKey = "";
  var popKey = "";

  function renderCall() {
    var body = $("call-body");
    var status = model.status;
    if (!status) return;
    var current = model.current;
    var call = current && current.call;
    // Re-render only when what the panel shows changed: a push must not wipe a half-typed note.
    var outboundKey = model.outbound && model.outbound.dial ? model.outbound.dial.id + ":" + model.outbound.dial.status + ":" + model.outbound.dial.awaiting_outcome : "";
    var key = [status.state, current ? current.call_id : "", call ? call.held : "", model.acw ? model.acw.call_id : "", model.withdrawn || "", outboundKey].join("|");
    if (key === callPanelKey && body.firstChild) return;
    callPanelKey = key;
    if (status.state === "ringing" && current) {
      var countdown = el("span", { className: "countdown", id: "offer-countdown" });
      fill(body,
        el("div", { className: "ringing-banner" },
          isTest(current) ? testBadge() : null,
          el("strong", { text: T.incoming }), " ",
          el("span", { className: "ani", text: current.ani || "—" }), " · ",
          el("span", { text: queueLabel(call ? call.queue : current.queue, call && call.queue_name) })),
        el("p", { className: "muted" }, countdown),
        el("div", { className: "actions" }, button(T.answer, "btn-answer", function () { callAction("answer"); }, "btn-answer")),
        el("p", { id: "call-error", className: "error", hidden: true }));
      tickCountdown();
      return;
    }
    if (status.state === "on_call" && current && call) {
      var held = call.held;
      var targets = el("select", { id: "transfer-target", "aria-label": T.transfer_to });
      var queues = el("optgroup", { label: T.queue });
      config.queues.forEach(function (q) { queues.appendChild(el("option", { value: "queue:" + q.value, text: q.label })); });
      targets.appendChild(queues);
      var agents = el("optgroup", { label: T.agent, id: "transfer-agents" });
      targets.appendChild(agents);
      loadReadyAgents(agents);
      fill(body,
        el("div", { className: "connected-banner" + (held ? " held" : "") },
          el("strong", { text: held ? T.on_hold : T.on_call }), " ",
          el("span", { className: "ani", text: current.ani || "—" }), " · ",
          el("span", { text: queueLabel(call.queue, call.queue_name) }), " · ",
          el("span", { className: "timer", id: "talk-timer", text: duration(since(call.answered_at)) })),
        el("div", { className: "actions" },
          held ? button(T.retrieve, "btn-ready", function () { callAction("retrieve"); }, "btn-retrieve")
               : button(T.hold, "btn-quiet", function () { callAction("hold"); }, "btn-hold"),
          button(T.hangup, "btn-hangup", function () { callAction("hangup"); }, "btn-hangup")),
        el("div", { className: "actions transfer" },
          el("label", { "for": "transfer-target", text: T.transfer_to }), targets,
          button(T.transfer, "btn-quiet", function () {
            var value = targets.value.split(":");
            var payload = value[0] === "queue" ? { queue: value[1] } : { agent: value[1] };
            callAction("transfer", payload).then(function (result) {
              if (result && result.ok) { model.acw = result.data; model.current = null; renderAll(); }
            });
          }, "btn-transfer")),
        el("p", { id: "call-error", className: "error", hidden: true }));
      return;
    }
    var dial = model.outbound && model.outbound.dial;
    if (status.state === "acw" && model.acw) {
      if (dial && dial.awaiting_outcome && dial.call_id === model.acw.call_id) {
        fill(body, el("p", { className: "notice", id: "outbound-outcome-below", text: T.outbound_outcome_below }));
        return;
      }
      fill(body, wrapupForm(model.acw));
      return;
    }
    if (status.state === "ringing" && !current && dial) {
      // Reserved for an outbound dial: the switch is calling the customer for this agent.
      fill(body, el("div", { className: "ringing-banner", id: "outbound-dialing" },
        el("strong", { text: fmt(T.outbound_dialing, { phone: dial.contact.phone, campaign: dial.contact.campaign.name }) }),
        " ", el("span", { className: "muted", text: dial.status_label })));
      return;
    }
    fill(body,
      model.withdrawn ? el("p", { className: "notice", id: "offer-withdrawn", text: model.withdrawn }) : null,
      el("p", { className: "muted", text: status.state === "ready" ? T.waiting : T.no_call }));
  }

  function loadReadyAgents(group) {
    api("GET", config.urls.agents + "?state=ready&page_size=200").then(function (result) {
      if (!result.ok) return;
      result.data.results.forEach(function (agent) {
        if (agent.username === model.status.username) return;
        group.appendChild(el("option", { value: "agent:" + agent.username, text: agent.name + " (" + agent.username + ")" }));
      });
    });
  }

  function tickCountdown() {
    var node = $("offer-countdown");
    var call = model.current && model.current.call;
    if (!node || !call || !call.offer_expires_at) return;
    var left = Math.max(0, Math.ceil((Date.parse(call.offer_expires_at) - now()) / 1000));
    node.textContent = fmt(T.answer_within, { s: left });
  }

  function wrapupForm(call) {
    var disposition = el("select", { name: "disposition", id: "wrapup-disposition", required: true });
    config.dispositions.forEach(function (d) { disposition.appendChild(el("option", { value: d.value, text: d.label })); });
    var note = el("textarea", { name: "note", id: "wrapup-note", rows: 3, maxlength: 2000 });
    var ticketBox = null, ticketToggle = null;
    if (config.tickets) {
      var kind = el("select", { name: "kind" });
      config.tickets.kinds.forEach(function (k) { kind.appendChild(el("option", { value: k.value, text: k.label })); });
      var category = el("select", { name: "category" });
      config.tickets.categories.forEach(function (c) { category.appendChild(el("option", { value: c.value, text: c.label })); });
      ticketBox = el("fieldset", { className: "ticket-fields", hidden: true },
        el("label", {}, T.kind, kind),
        el("label", {}, T.category, category),
        el("label", { className: "wide" }, T.description, el("textarea", { name: "description", rows: 2, maxlength: 4000 })));
      ticketToggle = el("label", { className: "check" },
        el("input", { type: "checkbox", name: "with_ticket", onchange: function (e) { ticketBox.hidden = !e.target.checked; } }),
        " ", T.record_ticket);
      disposition.addEventListener("change", function () {
        var v = disposition.value;
        if (v === "consultation" || v === "complaint" || v === "suggestion") {
          ticketToggle.querySelector("input").checked = true;
          ticketBox.hidden = false;
          kind.value = v;
        }
      });
    }
    var form = el("form", { id: "wrapup-form", className: "wrapup" },
      el("div", { className: "acw-banner" }, el("strong", { text: T.acw }), " · ",
        el("span", { className: "ani", text: call.ani || "—" }), " · ",
        el("span", { className: "timer", id: "acw-timer", text: duration(since(call.ended_at)) })),
      el("label", {}, T.disposition, disposition),
      el("label", { className: "wide" }, T.note, note),
      ticketToggle, ticketBox,
      el("div", { className: "actions" }, el("button", { type: "submit", className: "btn btn-ready", id: "btn-wrapup", text: T.wrapup })),
      el("p", { id: "call-error", className: "error", hidden: true }));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var payload = { disposition: disposition.value, note: note.value };
      if (ticketBox && !ticketBox.hidden) {
        payload.ticket = {
          kind: ticketBox.querySelector("[name=kind]").value,
          category: ticketBox.querySelector("[name=category]").value,
          description: ticketBox.querySelector("[name=description]").value || note.value,
        };
      }
      form.querySelector("button[type=submit]").disabled = true;
      api("POST", callUrl(call.call_id, "wrapup"), payload).then(function (result) {
        form.querySelector("button[type=submit]").disabled = false;
        if (!result.ok) { showCallError(errorText(result)); return; }
        if (result.data && result.data.ticket) addRecordNotice(result.data.ticket);
        model.acw = null;
        model.pop = null;
        renderAll();
        resync();
        // The reports' fragment of my figures today (#my-today) reloads on this event.
        document.body.dispatchEvent(new CustomEvent("desk-wrapup"));
      });
    });
    return form;
  }

  // --- the screen-pop -------------------------------------------------------------------------

  // A call placed from the IVR simulator (routed like any other, left out of the KPIs).
  function isTest(pop) {
    return !!(pop && (pop.is_test || (pop.call && pop.call.is_test)));
  }

  function testBadge() {
    return el("span", { className: "badge badge-test", id: "test-call-badge", text: T.test_call, title: T.test_call_hint });
  }

  function renderPop(force) {
    var body = $("pop-body");
    var pop = model.pop;
    var key = pop ? pop.call_id + "|" + (pop.customer ? pop.customer.id : "") + "|" + (isInHand(pop.call_id) ? "h" : "") : "";
    if (key === popKey && body.firstChild && !force) return;
    popKey = key;
    if (!pop) {
      fill(body, el("p", { className: "muted", text: T.no_call }));
      return;
    }
    var customer = pop.customer;
    var ivr = pop.ivr || { verified: false, path: [] };
    var parts = [];
    var header = el("div", { className: "pop-head" },
      isTest(pop) ? testBadge() : null,
      el("span", { className: "caller-name", text: customer && customer.name ? customer.name : T.unknown_caller }),
      ivr.verified && customer && customer.match === "ivr"
        ? el("span", { className: "badge badge-ok", text: "✔ " + T.verified })
        : customer && customer.match === "ani" ? el("span", { className: "badge badge-warn", text: T.ani_match })
        : customer && customer.match === "agent" ? el("span", { className: "badge badge-warn", text: T.linked }) : null);
    parts.push(header);
    var facts = el("dl", { className: "kv" },
      el("dt", { text: T.caller }), el("dd", { text: pop.ani || "—" }),
      el("dt", { text: T.call_id }), el("dd", { text: pop.call_id }));
    if (customer && customer.name) {
      facts.appendChild(el("dt", { text: T.mobile }));
      facts.appendChild(el("dd", { text: customer.mobile_masked }));
      facts.appendChild(el("dt", { text: T.id_last4 }));
      facts.appendChild(el("dd", { text: customer.id_last4 }));
      facts.appendChild(el("dt", { text: T.home_unit }));
      facts.appendChild(el("dd", { text: customer.home_unit || "—" }));
      facts.appendChild(el("dt", { text: T.phone_banking }));
      var reg = customer.registration || {};
      facts.appendChild(el("dd", { text: reg.registered ? T.registered + (reg.locked ? " · " + T.locked : "") : T.not_registered }));
    }
    parts.push(facts);
    if (isInHand(pop.call_id)) parts.push(customerFinder(pop));
    var titles = ivr.titles || [];
    parts.push(el("div", { className: "ivr-path" }, el("span", { className: "muted", text: T.ivr_path + ": " }),
      (ivr.path || []).length
        ? (ivr.path || []).map(function (step, i) { return el("span", { className: "crumb", text: (config.ivr_labels || {})[step] || titles[i] || step }); })
        : el("span", { className: "muted", text: "—" })));
    if (customer && customer.accounts) parts.push(accountsTable(customer, pop));
    if (customer && customer.recent_transactions) parts.push(transactionsTable(customer.recent_transactions));
    if (pop.sms) parts.push(smsList(pop.sms));
    if (customer && customer.recent_contacts) parts.push(contactsTable(customer.recent_contacts));
    if (customer && customer.tickets) parts.push(ticketsTable(customer.tickets));
    fill(body, parts);
  }

  // --- customer search and "this is the caller" ---------------------------------------------------
  // The number is sent in a POST body (POST /api/banking/customers/search/): a full card or
  // account number never goes into a URL. Linking goes to the call and its contacts (audited).

  function isInHand(callId) {
    var current = model.current;
    if (current && current.call_id === callId && current.call && current.call.state === "connected") return true;
    return !!(model.acw && model.acw.call_id === callId);
  }

  function customerFinder(pop) {
    var known = pop.customer && pop.customer.name;
    var input = el("input", { type: "search", name: "q", id: "customer-q", required: true, minlength: 4, maxlength: 32,
      autocomplete: "off", inputmode: "numeric", placeholder: T.search_hint, "aria-label": T.search_hint });
    var results = el("div", { className: "finder-results", id: "customer-results" });
    var form = el("form", { className: "inline-form finder", id: "customer-search" }, input,
      el("button", { type: "submit", className: "btn btn-small", text: T.search }));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fill(results);
      api("POST", config.urls.customer_search, { q: input.value.trim(), call_id: pop.call_id }).then(function (result) {
        if (!result.ok) { fill(results, el("p", { className: "error", text: errorText(result) })); return; }
        var rows = result.data.results || [];
        if (!rows.length) { fill(results, el("p", { className: "muted", text: T.no_match })); return; }
        fill(results, el("ul", { className: "contacts" }, rows.map(function (c) { return finderRow(c, pop, results); })));
      });
    });
    var box = el("details", { className: "pop-section finder-box", open: !known },
      el("summary", { text: T.find_customer }), form, results);
    return box;
  }

  function finderRow(customer, pop, results) {
    var accounts = (customer.accounts || []).map(function (a) { return a.number_masked; }).join(" · ");
    return el("li", { "data-customer": customer.id },
      el("strong", { text: customer.name }), " ",
      el("span", { className: "muted", text: customer.mobile_masked + " · " + T.id_last4 + " " + customer.id_last4 + " · " + (customer.home_unit || "") }),
      accounts ? el("div", { className: "muted", text: accounts }) : null,
      button(T.this_is_caller, "btn-small btn-ready", function () {
        api("POST", callUrl(pop.call_id, "customer"), { customer: customer.id }).then(function (result) {
          if (!result.ok) { fill(results, el("p", { className: "error", text: errorText(result) })); return; }
          [model.pop, model.current].forEach(function (item) {
            if (item && item.call_id === pop.call_id) { item.customer = result.data.customer; item.ivr = result.data.ivr; }
          });
          renderPop(true);
        });
      }, "btn-this-caller"));
  }

  // --- notices that stay until dismissed (the record a wrap-up made) -------------------------------

  var NOTICES_KEY = "desk.notices";

  function storedNotices() {
    try { return JSON.parse(window.sessionStorage.getItem(NOTICES_KEY) || "[]"); } catch (e) { return []; }
  }

  function saveNotices(items) {
    try { window.sessionStorage.setItem(NOTICES_KEY, JSON.stringify(items)); } catch (e) { /* private mode */ }
  }

  function addRecordNotice(ticket) {
    var items = storedNotices().filter(function (t) { return t.id !== ticket.id; });
    items.push(ticket);
    saveNotices(items);
    renderNotices();
  }

  function renderNotices() {
    var box = $("desk-notices");
    if (!box) return;
    fill(box, storedNotices().map(function (ticket) {
      var text = fmt(ticket.kind === "complaint" ? T.ticket_recorded : T.contact_recorded, { number: ticket.number });
      return el("p", { className: "notice notice-record", "data-ticket": ticket.id },
        el("span", { text: text }), " ",
        el("a", { href: ticket.url, target: "_blank", rel: "noopener", className: "record-link", text: T.view + " " + ticket.number }), " ",
        button(T.dismiss, "btn-small btn-quiet", function () {
          saveNotices(storedNotices().filter(function (t) { return t.id !== ticket.id; }));
          renderNotices();
        }, "btn-dismiss-" + ticket.id));
    }));
  }

  function section(title, content) {
    return el("div", { className: "pop-section" }, el("h3", { text: title }), content);
  }

  function accountsTable(customer, pop) {
    var rows = customer.accounts.map(function (account) {
      var lossCell = el("td");
      if (account.status === "active") {
        lossCell.appendChild(button(T.loss_report, "btn-small", function () { lossForm(lossCell, account, pop); }));
      }
      return el("tr", { "data-account": account.id },
        el("td", { text: account.number_masked }),
        el("td", { text: config.banking.kinds[account.kind] || account.kind }),
        el("td", { className: "status-" + account.status, text: config.banking.statuses[account.status] || account.status }),
        el("td", { className: "num", text: money(account.balance) }),
        smsNoticeCell(customer, account, pop),
        lossCell);
    });
    return section(T.accounts, el("table", { className: "table compact" },
      el("thead", {}, el("tr", {}, el("th", { text: T.number }), el("th", { text: T.kind }), el("th", { text: T.status }),
        el("th", { className: "num", text: T.balance }), el("th", { text: S.smsNotice }), el("th"))),
      el("tbody", {}, rows)));
  }

  // --- 短信通 (SMS notice) on a debit main card, and the SMS sent to the caller ------------------
  // The toggle is offered on the agent's call in hand once the caller is identified (verified in
  // the IVR or linked by the agent); the server checks the same (POST .../sms-notice/, audited).

  function smsNoticeCell(customer, account, pop) {
    var cell = el("td", { className: "sms-notice", "data-sms-notice": account.sms_notice ? "on" : "off" });
    if (!account.sms_notice_eligible) { cell.appendChild(el("span", { className: "muted", text: "—" })); return cell; }
    cell.appendChild(el("span", { className: account.sms_notice ? "sms-on" : "muted", text: account.sms_notice ? S.smsOn : S.smsOff }));
    if (!isInHand(pop.call_id) || isTest(pop)) return cell;
    var identified = customer.match === "ivr" || customer.match === "agent";
    var message = el("span", { className: "sms-message", role: "status" });
    var toggle = button(account.sms_notice ? S.smsDisable : S.smsEnable, "btn-small " + (account.sms_notice ? "btn-quiet" : "btn-ready"), function () {
      toggle.disabled = true;
      api("POST", "/api/banking/accounts/" + encodeURIComponent(account.id) + "/sms-notice/",
        { enabled: !account.sms_notice, call_id: pop.call_id }).then(function (result) {
        toggle.disabled = false;
        if (!result.ok) { message.className = "sms-message error"; message.textContent = errorText(result); return; }
        account.sms_notice = result.data.enabled;
        renderPop(true);
        var row = document.querySelector('#pop-body tr[data-account="' + account.id + '"] .sms-message');
        if (row) { row.className = "sms-message ok"; row.textContent = result.data.enabled ? S.smsEnabled : S.smsDisabled; }
      });
    }, "btn-sms-notice-" + account.id);
    if (!identified) { toggle.disabled = true; toggle.title = S.smsVerifyFirst; }
    cell.appendChild(document.createTextNode(" "));
    cell.appendChild(toggle);
    cell.appendChild(message);
    return cell;
  }

  function smsList(items) {
    if (!items.length) return section(S.sms, el("p", { className: "muted", id: "pop-sms", text: S.smsNone }));
    return section(S.sms, el("ul", { className: "contacts sms-list", id: "pop-sms" }, items.map(function (m) {
      return el("li", { "data-sms": m.id },
        el("span", { className: "muted", text: when(m.created_at) }),
        el("span", { className: "tag", text: smsKinds[m.kind] || m.kind_label || m.kind }),
        el("span", { className: "tag sms-status-" + m.status, text: smsStatuses[m.status] || m.status_label || m.status }),
        el("div", { className: "sms-text", text: m.text }));
    })));
  }

  function lossForm(cell, account, pop) {
    var verification = el("select", { name: "verification" });
    config.banking.verifications.forEach(function (v) { verification.appendChild(el("option", { value: v.value, text: v.label })); });
    var password = el("input", { type: "password", name: "password", inputmode: "numeric", maxlength: 6, autocomplete: "off", hidden: true, "aria-label": T.password });
    // The caller says the password aloud: the recording is paused while it is asked for
    // (POST /api/recordings/pause/; the span is masked and silenced at ingest, docs/recordings.md).
    var paused = false;
    var pauseNote = el("span", { className: "muted recording-paused", text: T.recording_paused, hidden: true });
    function recording(state) {
      if ((state === "pause") === paused) return;
      paused = state === "pause";
      pauseNote.hidden = !paused;
      api("POST", config.urls.recording_pause, { call_id: pop.call_id, state: state });
    }
    verification.addEventListener("change", function () {
      password.hidden = verification.value !== "password";
      recording(verification.value === "password" ? "pause" : "resume");
    });
    var message = el("span", { className: "error" });
    var form = el("form", { className: "loss-form" }, verification, password,
      el("button", { type: "submit", className: "btn btn-small btn-hangup", text: T.confirm_loss }),
      button(T.cancel, "btn-small btn-quiet", function () { recording("resume"); renderPop(true); }), pauseNote, message);
    if (verification.value === "password") { password.hidden = false; recording("pause"); }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = { account: account.id, verification: verification.value, call_id: pop.call_id };
      if (verification.value === "password") body.password = password.value;
      api("POST", config.urls.loss, body).then(function (result) {
        password.value = "";
        recording("resume");
        if (!result.ok) { message.textContent = errorText(result); return; }
        account.status = result.data.status;
        fill(cell, el("span", { className: "ok", text: fmt(T.loss_done, { until: when(result.data.valid_until) }) }));
        var row = cell.parentNode;
        row.children[2].textContent = config.banking.statuses[account.status] || account.status;
      });
    });
    fill(cell, form);
  }

  function transactionsTable(items) {
    if (!items.length) return section(T.recent_transactions, el("p", { className: "muted", text: T.none }));
    return section(T.recent_transactions, el("table", { className: "table compact" },
      el("thead", {}, el("tr", {}, el("th", { text: T.time }), el("th", { className: "num", text: T.amount }),
        el("th", { className: "num", text: T.balance }), el("th", { text: T.memo }))),
      el("tbody", {}, items.map(function (t) {
        return el("tr", {}, el("td", { text: when(t.ts) }),
          el("td", { className: "num" + (String(t.amount).charAt(0) === "-" ? " neg" : ""), text: money(t.amount) }),
          el("td", { className: "num", text: money(t.balance) }), el("td", { text: t.memo }));
      }))));
  }

  function contactsTable(items) {
    if (!items.length) return section(T.recent_contacts, el("p", { className: "muted", text: T.none }));
    return section(T.recent_contacts, el("ul", { className: "contacts" }, items.map(function (c) {
      return el("li", {}, el("span", { className: "muted", text: when(c.started_at) }), " ",
        el("span", { text: c.answered ? T.answered : T.missed }),
        c.disposition ? el("span", { className: "tag", text: label(config.dispositions, c.disposition) }) : null,
        c.note ? el("span", { className: "muted", text: " " + c.note }) : null);
    })));
  }

  function ticketsTable(items) {
    if (!items.length) return section(T.work_orders, el("p", { className: "muted", text: T.none }));
    return section(T.work_orders, el("ul", { className: "contacts" }, items.map(function (t) {
      return el("li", {}, el("a", { href: t.url, target: "_blank", rel: "noopener", text: t.number }), " ",
        el("span", { className: "muted", text: when(t.received_at) }), " ",
        el("span", { className: "tag", text: config.tickets ? label(config.tickets.kinds, t.kind) : t.kind }),
        el("span", { className: "tag", text: config.tickets ? label(config.tickets.states, t.state) : t.state }), " ",
        el("span", { text: t.description }));
    })));
  }

  // --- callbacks ------------------------------------------------------------------------------

  function loadCallbacks() {
    if (!model.status || model.status.state === "offline") {
      renderCallbacks([]);
      return;
    }
    api("GET", config.urls.callbacks + "?page_size=100").then(function (result) {
      if (result.ok) renderCallbacks(result.data.results);
    });
  }

  function renderCallbacks(items) {
    var body = $("callbacks-body");
    $("callbacks-count").textContent = items.length ? "(" + items.length + ")" : "";
    if (!items.length) {
      fill(body, el("tr", {}, el("td", { colspan: 6, className: "muted", text: T.no_callbacks })));
      return;
    }
    fill(body, items.map(function (cb) {
      var overdue = Date.parse(cb.due_at) <= now();
      var complete = function (outcome) {
        api("POST", config.urls.callbacks + cb.id + "/complete/", { outcome: outcome }).then(function (result) {
          if (result.ok) loadCallbacks();
        });
      };
      return el("tr", { className: overdue ? "overdue" : "" },
        el("td", { text: when(cb.due_at) }), el("td", { className: "phone", text: cb.phone }),
        el("td", { text: label(config.queues, cb.queue) }), el("td", { text: cb.note }),
        el("td", { className: "num", text: String(cb.attempts) }),
        el("td", { className: "actions" },
          button(T.outbound_dial, "btn-small btn-answer callback-dial", function () {
            api("POST", config.urls.outbound + "callbacks/" + cb.id + "/dial/").then(function (result) {
              if (!result.ok) { window.alert(errorText(result)); return; }
              renderOutbound(result.data);
            });
          }),
          button(T.done, "btn-small btn-ready", function () { complete("done"); }),
          button(T.failed, "btn-small btn-quiet", function () { complete("failed"); })));
    }));
  }

  $("callback-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var due = new Date(form.due_at.value);
    var body = {
      phone: form.phone.value,
      queue: form.queue.value,
      due_at: due.toISOString(),
      note: form.note.value,
      call_id: model.pop ? model.pop.call_id : "",
    };
    api("POST", config.urls.callbacks, body).then(function (result) {
      if (!result.ok) { window.alert(errorText(result)); return; }
      form.reset();
      form.closest("details").open = false;
      loadCallbacks();
    });
  });

  // --- outbound (issue 19): preview card, dial in progress, outcome ----------------------------

  function loadOutbound() {
    if (!config.urls.outbound || !model.status || model.status.state === "offline") {
      renderOutbound(null);
      return;
    }
    api("GET", config.urls.outbound).then(function (result) {
      if (result.ok) renderOutbound(result.data);
    });
  }

  function outboundError(result) {
    var node = $("outbound-error");
    node.hidden = !result;
    node.textContent = result ? errorText(result) : "";
  }

  function outboundPost(url, body) {
    outboundError(null);
    return api("POST", config.urls.outbound + url, body).then(function (result) {
      if (!result.ok) { outboundError(result); return; }
      renderOutbound(result.data);
    });
  }

  function contactCard(contact) {
    var customer = contact.customer;
    var history = contact.history || [];
    var recent = customer && customer.recent_contacts ? customer.recent_contacts : [];
    return el("div", { className: "outbound-contact", id: "outbound-contact" },
      el("p", {},
        el("strong", { className: "outbound-name", text: contact.name || (customer && customer.name) || "—" }), " ",
        el("span", { className: "phone", id: "outbound-phone", text: contact.phone }), " · ",
        el("span", { className: "muted", text: T.outbound_campaign + ": " }),
        el("span", { id: "outbound-campaign", text: contact.campaign.name + " (" + contact.campaign.kind_label + ")" })),
      customer && customer.id ? el("p", { className: "muted" },
        T.outbound_customer + ": " + customer.name + (customer.mobile_masked ? " · " + customer.mobile_masked : "")) : null,
      contact.campaign.script ? el("div", { className: "outbound-script" },
        el("h3", { text: T.outbound_script }), el("p", { id: "outbound-script", text: contact.campaign.script })) : null,
      history.length || recent.length ? el("div", { className: "outbound-history" },
        el("h3", { text: T.outbound_history }),
        el("ul", {}, history.map(function (h) { return el("li", { text: when(h.decided_at) + " · " + h.outcome + (h.note ? " · " + h.note : "") }); }),
          recent.map(function (c) { return el("li", { text: when(c.started_at) + " · " + (c.disposition || (c.answered ? T.answered : T.missed)) }); }))) : null);
  }

  function outcomeForm(dial) {
    var select = el("select", { name: "outcome", id: "outbound-outcome", "aria-label": T.outbound_outcome });
    dial.contact.outcomes.forEach(function (o) { select.appendChild(el("option", { value: o.value, text: o.label })); });
    var at = el("input", { type: "datetime-local", name: "callback_at", id: "outbound-callback-at" });
    var atLabel = el("label", { hidden: true }, T.outbound_callback_at + " ", at);
    select.addEventListener("change", function () { atLabel.hidden = select.value !== "callback"; });
    var note = el("input", { name: "note", maxlength: 500, id: "outbound-note" });
    var form = el("form", { className: "inline-form", id: "outbound-outcome-form" },
      el("label", {}, T.outbound_outcome + " ", select), atLabel,
      el("label", { className: "grow" }, T.note + " ", note),
      el("button", { type: "submit", className: "btn", id: "outbound-record", text: T.outbound_record }));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = { outcome: select.value, note: note.value };
      if (select.value === "callback" && at.value) body.callback_at = new Date(at.value).toISOString();
      outboundPost("attempts/" + dial.id + "/outcome/", body);
    });
    return form;
  }

  var outboundKey = "";

  function renderOutbound(data) {
    var panel = $("outbound-panel");
    if (!panel) return;
    var before = model.outbound;
    model.outbound = data;
    var dial = data && data.dial;
    var preview = data && data.preview;
    panel.hidden = !(data && (data.enabled || dial || preview));
    var key = JSON.stringify([dial ? [dial.id, dial.status, dial.awaiting_outcome] : null, preview ? preview.id : null, data ? data.enabled : null]);
    if (key !== outboundKey || !$("outbound-body").firstChild) {
      outboundKey = key;
      var body = $("outbound-body");
      if (dial) {
        fill(body,
          el("p", { className: "outbound-status", id: "outbound-status" },
            dial.answered ? fmt(T.outbound_connected, { phone: dial.contact.phone }) : fmt(T.outbound_dialing, { phone: dial.contact.phone, campaign: dial.contact.campaign.name }),
            " · ", el("span", { className: "muted", text: dial.status_label })),
          contactCard(dial.contact),
          dial.awaiting_outcome ? outcomeForm(dial) : null);
      } else if (preview) {
        var reason = el("input", { name: "reason", maxlength: 200, id: "outbound-skip-reason", placeholder: T.outbound_skip_reason, "aria-label": T.outbound_skip_reason });
        fill(body, contactCard(preview),
          el("div", { className: "actions" },
            button(T.outbound_dial, "btn-answer", function () { outboundPost("contacts/" + preview.id + "/dial/"); }, "outbound-dial"),
            reason,
            button(T.outbound_skip, "btn-quiet", function () { outboundPost("contacts/" + preview.id + "/skip/", { reason: reason.value }); }, "outbound-skip")));
      } else {
        fill(body, el("p", { className: "muted", text: T.outbound_none }),
          el("div", { className: "actions" }, button(T.outbound_next, "btn", function () { outboundPost("next/"); }, "outbound-next")));
      }
    }
    if (JSON.stringify(before && before.dial) !== JSON.stringify(dial)) renderCall();
  }

  // --- rendering and clocks --------------------------------------------------------------------

  function renderAll() {
    renderStatus();
    renderCall();
    renderPop();
  }

  setInterval(function () {
    if (model.status) $("state-timer").textContent = duration(since(model.status.since));
    tickCountdown();
    var talk = $("talk-timer");
    if (talk && model.current && model.current.call) talk.textContent = duration(since(model.current.call.answered_at));
    var acw = $("acw-timer");
    if (acw && model.acw) acw.textContent = duration(since(model.acw.ended_at));
  }, 1000);

  // Watchdog: a socket silent for a minute (no pong) is treated as dead.
  setInterval(function () {
    if (socket && socket.readyState === WebSocket.OPEN && lastMessageAt && Date.now() - lastMessageAt > 60000) {
      socket.close();
    }
  }, 15000);

  // Risk: report suspicious activity on the call in hand (or in after-call work) to the risk officer.
  var riskForm = $("risk-report-form");
  if (riskForm) {
    riskForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var call = model.current || model.acw;
      var out = $("risk-report-result");
      if (!call) { out.textContent = riskForm.dataset.noCall; return; }
      api("POST", "/api/risk/alerts/", { call_id: call.call_id, note: riskForm.elements.note.value }).then(function (result) {
        out.textContent = result.ok ? riskForm.dataset.done : errorText(result);
        if (result.ok) riskForm.reset();
      });
    });
  }

  renderNotices();
  connect();
})();
