/* The director's dashboard: charts drawn from the data embedded in the page (#dash-data), today's
 * tiles kept live by the wallboard's pushes over /ws/wallboard/ (never polled). Every bar, point,
 * cell and funnel stage opens the calls behind it; the links are built by the server. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("dash-config").textContent);
  var data = JSON.parse(document.getElementById("dash-data").textContent);
  var T = config.texts;
  var charts = [];
  var socket = null, retries = 0, reconnectTimer = null;
  var BRAND = "#0b6e4f", ANSWERED = "#5fb49c", LINE = "#b7791f", MUTED = "#616e7c";

  function $(id) { return document.getElementById(id); }

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  function percent(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%"; }

  function go(url) { if (url) window.location.href = url; }

  function make(id) {
    var node = $(id);
    if (!node || !window.echarts) return null;
    var chart = window.echarts.init(node, null, { locale: config.language === "en" ? "EN" : "ZH", renderer: "canvas" });
    charts.push(chart);
    return chart;
  }

  function emptyGraphic(isEmpty) {
    return isEmpty ? [{
      type: "text", left: "center", top: "middle", silent: true, z: 100,
      style: { text: T.no_calls, fill: MUTED, fontSize: 14 },
    }] : [];
  }

  // --- trends: offered and answered bars, service level line --------------------------------------

  function trend(id, points) {
    var chart = make(id);
    if (!chart) return;
    var isEmpty = points.every(function (p) { return !p.offered; });
    var keys = ["offered", "answered", "service_level"];
    chart.setOption({
      color: [BRAND, ANSWERED, LINE],
      grid: { left: 48, right: 48, top: 36, bottom: 28 },
      legend: { top: 0, data: [T.offered, T.answered, T.service_level] },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          if (!items.length) return "";
          var point = points[items[0].dataIndex];
          var lines = [point.title];
          items.forEach(function (item) {
            var value = item.seriesIndex === 2 ? percent(point.service_level) : item.value;
            lines.push(item.marker + item.seriesName + ": " + value);
          });
          lines.push('<span style="color:' + MUTED + '">' + T.open_calls + "</span>");
          return lines.join("<br>");
        },
      },
      xAxis: { type: "category", data: points.map(function (p) { return p.label; }), axisTick: { alignWithLabel: true } },
      yAxis: [
        { type: "value", name: T.calls, minInterval: 1, nameTextStyle: { align: "left" } },
        { type: "value", name: T.service_level, min: 0, max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } },
      ],
      series: [
        { name: T.offered, type: "bar", barGap: "10%", data: points.map(function (p) { return p.offered; }) },
        { name: T.answered, type: "bar", data: points.map(function (p) { return p.answered; }) },
        {
          name: T.service_level, type: "line", yAxisIndex: 1, symbolSize: 7, connectNulls: false,
          data: points.map(function (p) { return p.service_level === null ? null : Math.round(p.service_level * 1000) / 10; }),
          markLine: {
            silent: true, symbol: "none", lineStyle: { type: "dashed", color: "#b42318" },
            label: { formatter: percent(config.service_level_target), position: "insideEndTop" },
            data: [{ yAxis: Math.round(config.service_level_target * 1000) / 10 }],
          },
        },
      ],
      graphic: emptyGraphic(isEmpty),
    });
    chart.on("click", function (params) {
      if (params.componentType !== "series") return;
      var point = points[params.dataIndex];
      if (point) go(point.links[keys[params.seriesIndex]]);
    });
    // A click anywhere in a day's (month's) column: its calls offered.
    chart.getZr().on("click", function (event) {
      if (event.target) return;
      var pixel = [event.offsetX, event.offsetY];
      if (!chart.containPixel("grid", pixel)) return;
      var index = chart.convertFromPixel({ seriesIndex: 0 }, pixel)[0];
      if (points[index]) go(points[index].links.offered);
    });
  }

  // --- heatmap: weekday × hour -------------------------------------------------------------------

  function heatmap() {
    var chart = make("chart-heatmap");
    if (!chart) return;
    var h = data.heatmap;
    chart.setOption({
      grid: { left: 64, right: 16, top: 8, bottom: 64 },
      tooltip: {
        formatter: function (item) {
          var v = item.value;
          return fmt(T.heatmap_tooltip, { weekday: h.weekdays[v[1]], hour: h.hours[v[0]], n: v[2] }) +
            '<br><span style="color:' + MUTED + '">' + T.open_calls + "</span>";
        },
      },
      xAxis: { type: "category", data: h.hours, splitArea: { show: true } },
      yAxis: { type: "category", data: h.weekdays, inverse: true, splitArea: { show: true } },
      visualMap: {
        min: 0, max: Math.max(1, h.max), calculable: true, orient: "horizontal", left: "center", bottom: 0,
        itemHeight: 160, itemWidth: 12, inRange: { color: ["#f1f7f4", "#9fd3bd", BRAND, "#063d2c"] },
      },
      series: [{
        type: "heatmap", data: h.cells, progressive: 0,
        emphasis: { itemStyle: { borderColor: "#1f2933", borderWidth: 1 } },
      }],
      graphic: emptyGraphic(!h.max),
    });
    chart.on("click", function (params) {
      if (params.componentType === "series" && params.data) go(params.data.url);
    });
  }

  // --- the IVR funnel ----------------------------------------------------------------------------

  function funnel() {
    var chart = make("chart-funnel");
    if (!chart) return;
    var stages = data.funnel;
    var top = Math.max.apply(null, stages.map(function (s) { return s.value; }).concat([1]));
    var isEmpty = stages.every(function (s) { return !s.value; });
    chart.setOption({
      color: ["#0b6e4f", "#5fb49c", "#1d4ed8", "#6b46c1"],
      tooltip: {
        formatter: function (item) {
          var stage = stages[item.dataIndex];
          return fmt(T.funnel_tooltip, { stage: stage.label, n: stage.value, share: stage.share }) +
            '<br><span style="color:' + MUTED + '">' + T.open_calls + "</span>";
        },
      },
      series: [{
        type: "funnel", sort: "none", left: "2%", width: "50%", top: 8, bottom: 8, min: 0, max: top,
        minSize: "10%", gap: 3,
        label: {
          position: "right", color: "#1f2933", fontSize: 13, lineHeight: 18,
          formatter: function (item) {
            var s = stages[item.dataIndex];
            return "{name|" + s.label + "}\n{value|" + s.value + "}  {share|" + s.share + "}";
          },
          rich: { name: { color: "#1f2933", fontSize: 13 }, value: { fontWeight: "bold", fontSize: 15 }, share: { color: MUTED } },
        },
        labelLine: { show: true, length: 12, lineStyle: { color: "#9aa5b1" } },
        data: isEmpty ? [] : stages.map(function (s) { return { name: s.label, value: s.value, url: s.url }; }),
      }],
      graphic: emptyGraphic(isEmpty),
    });
    chart.on("click", function (params) {
      if (params.componentType === "series" && params.data) go(params.data.url);
    });
  }

  // --- today, live -------------------------------------------------------------------------------

  function setLink(kind, text) {
    var node = $("link");
    node.className = "link link-" + kind;
    node.textContent = text;
  }

  function localDate(iso) {
    // The center's day (Asia/Shanghai), as "YYYY-MM-DD".
    var parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date(Date.parse(iso)));
    var get = function (type) { return parts.filter(function (p) { return p.type === type; })[0].value; };
    return get("year") + "-" + get("month") + "-" + get("day");
  }

  function localTime(iso) {
    return new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })
      .format(new Date(Date.parse(iso)));
  }

  function setValue(key, text) {
    var node = document.querySelector('[data-value="' + key + '"]');
    if (node) node.textContent = text;
  }

  function apply(message) {
    if (message.at && localDate(message.at) !== data.today) { window.location.reload(); return; }
    var waiting = 0;
    (message.queues || []).forEach(function (q) { waiting += q.waiting || 0; });
    // Today's totals: the push's own (``today``), or summed from the queues when they carry the
    // sums the service level needs; else only the waiting calls and the agents are live.
    var today = message.today && typeof message.today.offered === "number" ? message.today : null;
    if (!today && (message.queues || []).length && message.queues.every(function (q) {
      return q.answered_in_t_today !== undefined && q.short_abandoned_today !== undefined;
    })) {
      today = { offered: 0, answered: 0, abandoned: 0, answered_in_t: 0, short_abandoned: 0 };
      message.queues.forEach(function (q) {
        today.offered += q.offered_today; today.answered += q.answered_today; today.abandoned += q.abandoned_today;
        today.answered_in_t += q.answered_in_t_today; today.short_abandoned += q.short_abandoned_today;
      });
      var base = today.offered - today.short_abandoned;
      today.service_level = base > 0 ? today.answered_in_t / base : null;
    }
    if (today) {
      setValue("offered", String(today.offered));
      setValue("answered", String(today.answered));
      setValue("abandoned", String(today.abandoned));
      setValue("service_level", percent(today.service_level));
      var tile = document.querySelector('[data-tile="service_level"]');
      var low = today.service_level !== null && today.service_level !== undefined && today.service_level < config.service_level_target;
      if (tile) tile.classList.toggle("tile-low", low);
    }
    setValue("waiting", String(today && today.waiting !== undefined ? today.waiting : waiting));
    var counts = {};
    (message.agents || []).forEach(function (a) { counts[a.state] = (counts[a.state] || 0) + 1; });
    document.querySelectorAll("[data-state]").forEach(function (node) {
      node.textContent = String(counts[node.dataset.state] || 0);
    });
    $("updated").textContent = fmt(T.updated, { time: localTime(message.at) });
  }

  function connect() {
    clearTimeout(reconnectTimer);
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.ws);
    socket.onopen = function () { retries = 0; setLink("up", T.live); };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "wallboard") apply(message);
    };
    socket.onclose = function (event) {
      socket = null;
      if (event.code === 4401) { window.location.href = config.login + "?next=" + encodeURIComponent(location.pathname + location.search); return; }
      if (event.code === 4403) { setLink("static", T.not_live); return; }
      setLink("down", T.reconnecting);
      reconnectTimer = setTimeout(connect, Math.min(1000 * Math.pow(2, retries++), 15000) + Math.random() * 500);
    };
  }

  trend("chart-days", data.trend_days);
  trend("chart-months", data.trend_months);
  heatmap();
  funnel();
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 100);
  });
  if (config.live && "WebSocket" in window) connect();
  else setLink("static", T.not_live);
})();
