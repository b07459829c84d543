// Workers (admin): the worker nodes registered in the store, refreshed live. Talks to GET /api/v1/workers:
// {workers: [{name, status: alive|stale, slots, busy, runtimes, started_at, last_seen_at}]}.
import { ApiError, get, sleep } from "../api.js";
import { formatTime, h, setText, statusBadge } from "../dom.js";

const COLUMNS = 7;

export function render(main, _params, { caller }) {
  if (!caller.admin) {
    main.append(h("h1", {}, "Workers"), h("p", {}, "Workers are listed for an admin key."));
    return;
  }
  const controller = new AbortController();
  const { signal } = controller;
  const body = h("tbody", { id: "workers-body" });
  const summary = h("p", { class: "muted", id: "workers-summary", "aria-live": "polite" });

  main.append(
    h("h1", {}, "Workers"),
    h("p", { class: "muted" }, "Each worker node heartbeats every third of a lease. ",
      h("strong", {}, "stale"), " means no heartbeat for a whole lease: the node died or lost the store, and its jobs are rescued."),
    h("div", { class: "panel" },
      summary,
      // "stack": at phone width each worker becomes a card, as runtimes do; seven columns do not fit 400 px.
      h("div", { class: "table-wrap" }, h("table", { id: "workers-table", class: "stack" },
        h("caption", { class: "sr-only" }, "Worker nodes"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "State"), h("th", { scope: "col", class: "num" }, "Slots"),
          h("th", { scope: "col", class: "num" }, "Busy"), h("th", { scope: "col" }, "Runtimes"),
          h("th", { scope: "col" }, "Last heartbeat"), h("th", { scope: "col", class: "hide-narrow" }, "Started"))),
        body))));

  async function refresh() {
    let workers;
    try {
      workers = (await get("/api/v1/workers", { signal })).workers;
    } catch (error) {
      if (signal.aborted) return;
      const why = error instanceof ApiError && error.status === 403 ? "Workers are listed for an admin key." : `Could not list workers: ${error.message}`;
      body.replaceChildren(h("tr", {}, h("td", { colspan: COLUMNS, class: "empty" }, why)));
      return;
    }
    const alive = workers.filter(w => w.status === "alive");
    setText(summary, workers.length
      ? `${alive.length} of ${workers.length} alive · ${alive.reduce((n, w) => n + w.busy, 0)} of ${alive.reduce((n, w) => n + w.slots, 0)} slots busy`
      : "");
    body.replaceChildren(...(workers.length
      ? workers.map(row)
      : [h("tr", {}, h("td", { colspan: COLUMNS, class: "empty" }, "No worker node is registered: queued jobs wait until one starts."))]));
  }

  function row(worker) {
    return h("tr", { "data-worker": worker.name, "data-status": worker.status },
      h("td", {}, h("strong", { class: "mono" }, worker.name)),
      h("td", {}, statusBadge(worker.status)),
      h("td", { class: "num", "data-slots": "", "data-label": "Slots" }, String(worker.slots)),
      h("td", { class: "num", "data-busy": "", "data-label": "Busy" }, String(worker.busy)),
      h("td", { "data-runtimes": "", "data-label": "Runtimes" }, worker.runtimes.length ? worker.runtimes.join(", ") : "—"),
      h("td", { "data-last-seen": "", "data-label": "Last heartbeat" }, h("time", { datetime: worker.last_seen_at }, formatTime(worker.last_seen_at)),
        h("span", { class: "muted" }, ` · ${age(worker.last_seen_at)}`)),
      h("td", { class: "hide-narrow" }, formatTime(worker.started_at)));
  }

  // Relative to this browser's clock, which may differ a little from the server's.
  function age(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    return seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
  }

  // Live: fetched again every two seconds while the tab shows it, so a node that stops heartbeating turns stale here.
  (async () => {
    await refresh();
    while (!signal.aborted) {
      await sleep(2000, signal);
      if (!signal.aborted && !document.hidden) await refresh();
    }
  })();
  const onReconnect = () => refresh();
  window.addEventListener("runbox:reconnected", onReconnect);
  return () => { controller.abort(); window.removeEventListener("runbox:reconnected", onReconnect); };
}
