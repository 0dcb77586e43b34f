"use strict";
// Dependency-free SVG charts: lineChart draws one or more series of
// {t: Date, v: number} with axes, grid, point markers and a hover readout.
const SVGNS = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
function fmtNum(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + "B";
  if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
  if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "K";
  return String(Math.round(v * 100) / 100);
}
function niceTicks(lo, hi, n) {
  if (hi === lo) { hi = lo + 1; }
  const step0 = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) || step0;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}
// lineChart(container, series [{name, color, points:[{t,v,hot}]}], {height, title, empty})
function lineChart(box, series, opt) {
  opt = opt || {};
  box.innerHTML = "";
  const all = series.flatMap((s) => s.points.filter((p) => p.v !== null && p.v !== undefined));
  if (!all.length) {
    const p = document.createElement("p");
    p.className = "muted empty-chart";
    p.textContent = opt.empty || "—";
    box.appendChild(p);
    return null;
  }
  const W = opt.width || 640, H = opt.height || 220, L = 56, R = 12, T = 12, B = 28;
  const svg = svgEl("svg", {viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opt.title || "chart"}, box);
  let t0 = Math.min(...all.map((p) => +p.t)), t1 = Math.max(...all.map((p) => +p.t));
  if (t0 === t1) { t0 -= 3600e3; t1 += 3600e3; }
  let v0 = Math.min(...all.map((p) => p.v)), v1 = Math.max(...all.map((p) => p.v));
  if (v0 === v1) { v0 = v0 * 0.95; v1 = v1 * 1.05 + 1; }
  const pad = (v1 - v0) * 0.06; v0 -= pad; v1 += pad;
  const x = (t) => L + (W - L - R) * (+t - t0) / (t1 - t0);
  const y = (v) => T + (H - T - B) * (1 - (v - v0) / (v1 - v0));
  for (const tv of niceTicks(v0, v1, 4)) {
    svgEl("line", {x1: L, x2: W - R, y1: y(tv), y2: y(tv), class: "grid"}, svg);
    svgEl("text", {x: L - 6, y: y(tv) + 4, class: "tick", "text-anchor": "end"}, svg).textContent = fmtNum(tv);
  }
  const span = t1 - t0, days = span > 3 * 86400e3;
  for (let i = 0; i <= 4; i++) {
    const t = new Date(t0 + span * i / 4);
    const iso = t.toISOString();
    const label = days ? iso.slice(5, 10) : span < 2 * 3600e3 ? iso.slice(11, 19) : iso.slice(5, 16).replace("T", " ");
    svgEl("text", {x: x(t), y: H - 8, class: "tick", "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle"}, svg).textContent = label;
  }
  svgEl("line", {x1: L, x2: L, y1: T, y2: H - B, class: "axis"}, svg);
  svgEl("line", {x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis"}, svg);
  series.forEach((s, si) => {
    const pts = s.points.filter((p) => p.v !== null && p.v !== undefined);
    if (!pts.length) return;
    const color = s.color || ["#c4302b", "#1f6feb", "#2da44e"][si % 3];
    svgEl("polyline", {points: pts.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" "), fill: "none", stroke: color, "stroke-width": 2, class: "line", "data-series": s.name || ""}, svg);
    for (const p of pts) {
      const c = svgEl("circle", {cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: pts.length > 60 ? 1.6 : 3, fill: p.hot ? "#fff" : color, stroke: color, class: "pt"}, svg);
      svgEl("title", {}, c).textContent = `${s.name ? s.name + ": " : ""}${Number(p.v).toLocaleString()} · ${p.t.toISOString().replace("T", " ").slice(0, 16)} UTC${p.hot ? " (live)" : ""}`;
    }
  });
  if (series.length > 1 || opt.legend) {
    let lx = L + 8;
    series.forEach((s, si) => {
      const color = s.color || ["#c4302b", "#1f6feb", "#2da44e"][si % 3];
      svgEl("rect", {x: lx, y: T + 2, width: 10, height: 10, fill: color}, svg);
      const tx = svgEl("text", {x: lx + 14, y: T + 11, class: "legend"}, svg);
      tx.textContent = s.name;
      lx += 24 + 7 * (s.name || "").length;
    });
  }
  return svg;
}
// barChart(container, [{label, v, color}]) draws horizontal bars.
function barChart(box, bars, opt) {
  opt = opt || {};
  box.innerHTML = "";
  if (!bars.length) { box.innerHTML = `<p class="muted">${opt.empty || "—"}</p>`; return; }
  const W = 960, rowH = 26, H = bars.length * rowH + 8, L = 260;
  const svg = svgEl("svg", {viewBox: `0 0 ${W} ${H}`, class: "chart bars"}, box);
  const max = Math.max(...bars.map((b) => b.v), 1);
  bars.forEach((b, i) => {
    const y0 = 4 + i * rowH;
    svgEl("text", {x: L - 6, y: y0 + 15, class: "tick", "text-anchor": "end"}, svg).textContent = b.label;
    const w = Math.max(1, (W - L - 70) * b.v / max);
    svgEl("rect", {x: L, y: y0 + 3, width: w.toFixed(1), height: rowH - 8, fill: b.color || "#c4302b", class: "bar"}, svg);
    svgEl("text", {x: L + w + 6, y: y0 + 15, class: "tick"}, svg).textContent = b.text || fmtNum(b.v);
  });
}
