// Maintenance (admin): cancel every running job, and a benchmark run from this browser through the API.
import { post } from "../api.js";
import { latencyChart, percentile } from "../chart.js";
import { confirmDialog, field, formatMs, h, toast } from "../dom.js";
import { fillRuntimeSelect, watchRuntimes } from "../runtimes-list.js";

export function render(main, _params, { caller }) {
  if (!caller.admin) {
    main.append(h("h1", {}, "Maintenance"), h("p", {}, "Maintenance needs an admin key."));
    return;
  }
  const controller = new AbortController();
  const count = h("input", { id: "bench-count", type: "number", min: "1", max: "10000", value: "50", required: true });
  const concurrency = h("input", { id: "bench-concurrency", type: "number", min: "1", max: "64", value: "4", required: true });
  const runtime = h("select", { id: "bench-runtime" }, new Option("default"));
  const script = h("input", { id: "bench-script", value: "print('hello')", class: "mono" });
  const start = h("button", { type: "submit", class: "primary", id: "bench-start" }, "Start benchmark");
  const stop = h("button", { type: "button", id: "bench-stop", disabled: true }, "Stop");
  const bar = h("div", {});
  const progress = h("div", { class: "progress", id: "bench-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0", "aria-label": "Benchmark progress" }, bar);
  const status = h("p", { id: "bench-status", class: "muted", "aria-live": "polite" }, "Not started.");
  // The count and elapsed time change ten times a second: in the live region above, a screen reader read out each
  // change. They are shown here, outside it; the progress bar carries the percentage, and the region says start and end.
  const counter = h("p", { id: "bench-counter", class: "muted" });
  const results = h("div", { id: "bench-results" });

  main.append(
    h("h1", {}, "Maintenance"),
    h("div", { class: "panel" },
      h("h2", {}, "Running jobs"),
      h("p", { class: "muted" }, "Cancels every queued and running job of every key."),
      h("button", { type: "button", class: "danger", id: "cancel-all", onclick: cancelAll }, "Cancel all running jobs")),
    h("form", { class: "panel", id: "bench-form", onsubmit: e => { e.preventDefault(); runBenchmark(); } },
      h("h2", {}, "Benchmark"),
      h("p", { class: "muted" }, "Submits N jobs, C at a time, each waiting for its end (", h("code", {}, "?wait=true"),
        "); latency is submit to result as this browser sees it. A browser opens at most six connections to one server, so C above six queues here."),
      h("div", { class: "grid" }, field("Jobs (N)", count), field("Concurrency (C)", concurrency), field("Runtime", runtime), field("Script", script)),
      h("div", { class: "row" }, start, stop),
      progress, counter, status, results));
  watchRuntimes(list => fillRuntimeSelect(runtime, list, runtime.value), controller.signal);

  async function cancelAll() {
    if (!await confirmDialog("Cancel every queued and running job?", "Cancel all")) return;
    try {
      const answer = await post("/api/v1/jobs/cancel", { all: true });
      toast(`${answer.cancelled.length} job(s) cancelled.`, true);
    } catch (error) { toast(error.message); }
  }

  let run = null;
  stop.addEventListener("click", () => run?.abort());

  async function runBenchmark() {
    const n = Math.max(1, Math.min(10000, Number(count.value) | 0));
    const c = Math.max(1, Math.min(64, Number(concurrency.value) | 0));
    run = new AbortController();
    const signal = run.signal;
    controller.signal.addEventListener("abort", () => run?.abort(), { once: true });
    start.disabled = true;
    stop.disabled = false;
    results.replaceChildren();
    const latencies = [];
    const outcomes = {};
    let next = 0, done = 0, failures = 0;
    // Why requests failed, each reason once with its count: a count alone left the operator guessing (a runtime
    // deleted or installing since the page was opened, a script the server refuses).
    const reasons = new Map();
    const began = performance.now();
    const tick = () => {
      const pct = Math.round((done / n) * 100);
      bar.style.width = `${pct}%`;
      progress.setAttribute("aria-valuenow", String(pct));
      counter.textContent = `${done} / ${n} jobs · ${formatMs(performance.now() - began)} elapsed`;
    };
    status.textContent = `Running ${n} jobs at concurrency ${c}…`;
    const timer = setInterval(tick, 100);
    const body = { script: script.value, language: "python", runtime: runtime.value };
    async function worker() {
      while (!signal.aborted && next < n) {
        next++;
        const sent = performance.now();
        try {
          const job = await post("/api/v1/jobs?wait=true", body, { signal });
          latencies.push(performance.now() - sent);
          outcomes[job.status] = (outcomes[job.status] || 0) + 1;
        } catch (error) {
          if (signal.aborted) return;
          failures++;
          const reason = error.status ? `${error.status}: ${error.message}` : error.message;
          reasons.set(reason, (reasons.get(reason) || 0) + 1);
        }
        done++;
      }
    }
    await Promise.all(Array.from({ length: Math.min(c, n) }, worker));
    clearInterval(timer);
    tick();
    const total = performance.now() - began;
    start.disabled = false;
    stop.disabled = true;
    showResults({ n, c, total, latencies, outcomes, failures, reasons, stopped: signal.aborted });
  }

  function showResults({ n, c, total, latencies, outcomes, failures, reasons, stopped }) {
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50), p99 = percentile(sorted, 99);
    const fact = (name, value, key) => h("div", { "data-fact": key }, h("dt", {}, name), h("dd", {}, value));
    status.textContent = (stopped ? `Stopped after ${sorted.length} of ${n} jobs.` : `Finished ${n} jobs at concurrency ${c}.`)
      + (failures ? ` ${failures} request(s) failed: why is below.` : "");
    results.replaceChildren(
      h("dl", { class: "facts" },
        fact("Total time", formatMs(total), "total"),
        fact("Jobs/s", (sorted.length / (total / 1000)).toFixed(1), "rate"),
        fact("p50 latency", formatMs(p50), "p50"),
        fact("p99 latency", formatMs(p99), "p99"),
        fact("Outcomes", Object.entries(outcomes).map(([k, v]) => `${v} ${k}`).join(", ") || "—", "outcomes"),
        fact("Request errors", String(failures), "errors")),
      reasons.size
        ? h("div", { class: "error-text error-detail", id: "bench-errors", tabindex: "0", "aria-label": "Why requests failed" },
          [...reasons].map(([reason, times]) => `${times} × ${reason}`).join("\n"))
        : null,
      sorted.length ? latencyChart(sorted, { p50, p99 }) : null);
  }

  return () => controller.abort();
}
