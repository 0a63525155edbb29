// Dashboard charts (Plotly, served locally). Data comes from the JSON block the page renders;
// every clickable point carries the address of the next level down.
(function () {
  const holder = document.getElementById("analytics-charts");
  if (!holder || typeof Plotly === "undefined") return;
  const data = JSON.parse(holder.textContent);
  const L = data.labels;
  const config = { displayModeBar: false, responsive: true };
  const base = { margin: { l: 50, r: 20, t: 10, b: 40 }, height: 300, font: { size: 13 },
                 legend: { orientation: "h", y: -0.2 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff" };

  function draw(id, traces, layout, urls) {
    const el = document.getElementById(id);
    if (!el) return;
    Plotly.newPlot(el, traces, Object.assign({}, base, layout || {}), config);
    if (urls) {
      el.on("plotly_click", (ev) => {
        const p = ev.points && ev.points[0];
        const url = p && p.customdata;
        if (url) window.location.href = url;
      });
      el.style.cursor = "pointer";
    }
  }

  const months = data.trend.map((r) => r.month);
  draw("chart-trend", [
    { x: months, y: data.trend.map((r) => r.leads), name: L.leads, type: "scatter", mode: "lines+markers" },
    { x: months, y: data.trend.map((r) => r.orders), name: L.orders, type: "scatter", mode: "lines+markers" },
    { x: months, y: data.trend.map((r) => r.deliveries), name: L.deliveries, type: "scatter", mode: "lines+markers" },
  ], { xaxis: { type: "category" } });  // "2026-03" as written, not "Mar 2026" in English

  const f = data.funnels;
  draw("chart-funnel", [
    // the text on each bar, its count and share of the first level, comes with the data (no share of nothing)
    { type: "funnel", name: L.showroom, y: f.showroom.map((r) => r.level), x: f.showroom.map((r) => r.count),
      text: f.showroom.map((r) => r.text), texttemplate: "%{text}", textposition: "inside" },
    { type: "funnel", name: L.callcenter, y: f.callcenter.map((r) => r.level), x: f.callcenter.map((r) => r.count),
      text: f.callcenter.map((r) => r.text), texttemplate: "%{text}", textposition: "inside" },
  ], { margin: { l: 80, r: 20, t: 10, b: 40 },
       // plotly shrinks the text to fit each bar (about 7 px on the narrow ones): keep it readable
       uniformtext: { minsize: 12, mode: "show" } });

  const ch = data.children;
  const urls = ch.map((r) => r.url);
  draw("chart-children", [
    { type: "bar", name: L.leads, x: ch.map((r) => r.label), y: ch.map((r) => r.leads), customdata: urls },
    { type: "bar", name: L.orders, x: ch.map((r) => r.label), y: ch.map((r) => r.orders), customdata: urls },
    { type: "bar", name: L.deliveries, x: ch.map((r) => r.label), y: ch.map((r) => r.deliveries), customdata: urls },
  ], { barmode: "group" }, urls.some((u) => u));

  draw("chart-sources", [
    { type: "pie", labels: data.sources.map((r) => r.label), values: data.sources.map((r) => r.value), hole: 0.4,
      textinfo: "label+percent" },
  ], { showlegend: false });

  const sat = data.satisfaction;
  if (sat.length) {
    const surls = sat.map((r) => r.url);
    draw("chart-satisfaction", [
      { type: "bar", name: L.sat_overall, x: sat.map((r) => r.label), y: sat.map((r) => r.sat_overall), customdata: surls },
      { type: "bar", name: L.sat_sales, x: sat.map((r) => r.label), y: sat.map((r) => r.sat_sales), customdata: surls },
      { type: "bar", name: L.sat_after_sales, x: sat.map((r) => r.label), y: sat.map((r) => r.sat_after_sales), customdata: surls },
    ], { barmode: "group", yaxis: { range: [0, 100] } }, true);
  }
})();
