/* Workforce management: the forecast drawn against the history (data embedded in the page). */
(function () {
  "use strict";
  var node = document.getElementById("wfm-chart");
  var source = document.getElementById("wfm-chart-data");
  if (!node || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var chart = window.echarts.init(node, null, { renderer: "canvas" });
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: [data.texts.history, data.texts.forecast] },
    grid: { left: 40, right: 20, top: 30, bottom: 60 },
    dataZoom: [{ type: "slider" }],
    xAxis: { type: "category", data: data.x },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: data.texts.history, type: "line", data: data.history, showSymbol: false, color: "#0b6e4f" },
      { name: data.texts.forecast, type: "line", data: data.forecast, showSymbol: false, color: "#b7791f" }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
