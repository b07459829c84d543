// A latency histogram as SVG, with the p50 and p99 marked. Built with DOM calls, styled by app.css.
const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export function latencyChart(latencies, { p50, p99 }) {
  const width = 640, height = 240, left = 44, bottom = 28, top = 40, right = 10;
  const max = Math.max(...latencies, 1);
  const bins = Math.min(30, Math.max(5, Math.ceil(Math.sqrt(latencies.length))));
  const size = max / bins;
  const counts = new Array(bins).fill(0);
  for (const l of latencies) counts[Math.min(bins - 1, Math.floor(l / size))]++;
  const most = Math.max(...counts, 1);
  const plotW = width - left - right, plotH = height - top - bottom;
  const x = ms => left + (ms / max) * plotW;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": `Latency histogram: p50 ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms` });
  root.append(svg("line", { x1: left, y1: top + plotH, x2: width - right, y2: top + plotH, class: "axis" }));
  root.append(svg("line", { x1: left, y1: top, x2: left, y2: top + plotH, class: "axis" }));
  counts.forEach((count, i) => {
    const h = (count / most) * plotH;
    root.append(svg("rect", { x: x(i * size) + 1, y: top + plotH - h, width: Math.max(1, plotW / bins - 2), height: h, class: "bar" }, undefined));
  });
  for (const [value, cls, label] of [[p50, "p50", "p50"], [p99, "p99", "p99"]]) {
    root.append(svg("line", { x1: x(value), y1: cls === "p99" ? 32 : 18, x2: x(value), y2: top + plotH, class: cls }));
    // Labels sit above the plot, flipped to the line's left near the right edge so they are never clipped.
    const right = x(value) > width * 0.7;
    root.append(svg("text", { x: x(value) + (right ? -4 : 4), y: cls === "p99" ? 28 : 14, "text-anchor": right ? "end" : "start", class: `label-${cls}` }, `${label} ${Math.round(value)} ms`));
  }
  for (let i = 0; i <= 4; i++) {
    const ms = (max / 4) * i;
    root.append(svg("text", { x: x(ms), y: height - 8, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, `${Math.round(ms)} ms`));
  }
  root.append(svg("text", { x: 4, y: top + 10 }, `${most}`));
  root.append(svg("text", { x: 4, y: top + plotH }, "0"));
  return root;
}
