// Jobs: newest first, refreshed live, filtered by status, runtime and text, paged by cursor; select many to act.
import { del, get, post, sleep } from "../api.js";
import { confirmDialog, field, formatMs, formatTime, h, placeRows, setText, statusBadge, toast } from "../dom.js";
import { fillSelect, runtimeNames } from "../runtimes-list.js";

const STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled", "error"];
const PAGE = 25;

// The filters and the page live in the hash (#/jobs?status=&runtime=&q=&cursor=&page=), so a reload or a bookmark keeps them.
export function render(main, [hashQuery]) {
  const controller = new AbortController();
  const { signal } = controller;
  const initial = new URLSearchParams(hashQuery || "");
  const status = h("select", { id: "filter-status" }, new Option("any", ""), STATUSES.map(s => new Option(s.replace("_", " "), s, false, s === initial.get("status"))));
  const runtime = h("select", { id: "filter-runtime" }, new Option("any", ""));
  const runtimeOptions = (names, chosen) => {
    fillSelect(runtime, ["", ...new Set([...names, ...(chosen ? [chosen] : [])])], chosen);
    runtime.options[0].text = "any";
  };
  runtimeOptions([], initial.get("runtime"));
  const text = h("input", { id: "filter-text", type: "search", placeholder: "id or script text", value: initial.get("q") || "" });
  const body = h("tbody", { id: "jobs-body" });
  const selectAll = h("input", { type: "checkbox", id: "select-all", "aria-label": "Select all jobs on this page" });
  const cancelSelected = h("button", { type: "button", id: "cancel-selected", disabled: true, onclick: cancelMany }, "Cancel selected");
  const deleteSelected = h("button", { type: "button", class: "danger", id: "delete-selected", disabled: true, onclick: deleteMany }, "Delete selected");
  const selectedCount = h("span", { class: "muted", id: "selected-count", "aria-live": "polite" });
  const newer = h("button", { type: "button", id: "page-first", disabled: true, onclick: () => { cursors = [null]; firstPage = 1; refresh(); } }, "« Newest");
  const older = h("button", { type: "button", id: "page-next", disabled: true, onclick: () => { cursors.push(nextCursor); refresh(); } }, "Older »");
  const pageLabel = h("span", { class: "muted", id: "page-label" });

  main.append(
    h("h1", {}, "Jobs"),
    h("form", { class: "panel grid", role: "search", onsubmit: e => e.preventDefault() },
      field("Status", status), field("Runtime", runtime), field("Search", text)),
    h("div", { class: "panel" },
      h("div", { class: "row" }, cancelSelected, deleteSelected, selectedCount, h("span", { class: "spacer" }), newer, pageLabel, older),
      h("div", { class: "table-wrap" }, h("table", { id: "jobs-table" },
        h("caption", { class: "sr-only" }, "Jobs, newest first"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, selectAll), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Job"),
          h("th", { scope: "col", class: "hide-narrow" }, "Language"), h("th", { scope: "col" }, "Runtime"),
          h("th", { scope: "col", class: "hide-narrow" }, "Created"), h("th", { scope: "col", class: "num" }, "Wall"))),
        body))));

  // A page opened from the hash knows its own cursor but not the ones before it: "Newest" goes back to the start.
  let cursors = [initial.get("cursor") || null];
  let firstPage = cursors[0] ? Math.max(2, Number(initial.get("page")) || 2) : 1;
  let nextCursor = null;
  const selected = new Set();
  let version = 0;

  const changed = () => { cursors = [null]; firstPage = 1; refresh(); };
  status.addEventListener("change", changed);
  runtime.addEventListener("change", changed);
  let typing;
  text.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(changed, 250); });
  selectAll.addEventListener("change", () => {
    for (const box of body.querySelectorAll("input[type=checkbox]")) {
      box.checked = selectAll.checked;
      if (selectAll.checked) selected.add(box.value); else selected.delete(box.value);
    }
    updateSelection();
  });
  runtimeNames().then(names => runtimeOptions(names, runtime.value));

  function filters() {
    const q = new URLSearchParams();
    if (status.value) q.set("status", status.value);
    if (runtime.value) q.set("runtime", runtime.value);
    if (text.value.trim()) q.set("q", text.value.trim());
    if (cursors.at(-1)) { q.set("cursor", cursors.at(-1)); q.set("page", String(pageNumber())); }
    return q;
  }

  const pageNumber = () => firstPage + cursors.length - 1;

  function query() {
    const q = filters();
    q.delete("page");
    q.set("limit", String(PAGE));
    return q;
  }

  // replaceState changes the address without a hashchange, so the page is not built again while typing.
  function keepInHash() {
    if (signal.aborted) return;
    const q = filters().toString();
    const hash = q ? `#/jobs?${q}` : "#/jobs";
    if (location.hash !== hash) history.replaceState(history.state, "", hash);
  }

  async function refresh() {
    const mine = ++version;
    keepInHash();
    let page;
    try {
      page = await get(`/api/v1/jobs?${query()}`, { signal });
    } catch (error) {
      if (signal.aborted || mine !== version) return;
      body.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "empty" }, `Could not list jobs: ${error.message}`)));
      // A cursor the server refuses (a link edited or from another server) must not leave the page without a way back.
      newer.disabled = pageNumber() === 1;
      return;
    }
    if (mine !== version) return;
    nextCursor = page.next_cursor;
    older.disabled = !nextCursor;
    newer.disabled = pageNumber() === 1;
    pageLabel.textContent = `page ${pageNumber()}`;
    const visible = new Set(page.jobs.map(j => j.id));
    for (const id of [...selected]) if (!visible.has(id)) selected.delete(id);
    if (page.jobs.length) showRows(page.jobs);
    else body.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No jobs match.")));
    updateSelection();
  }

  // A row stays in the page while its job looks the same, and new rows go in around it: replacing every row each
  // refresh took keyboard focus (and a screen reader's place) off the row and back to the top of the page.
  let shown = new Map();
  function showRows(jobs) {
    const focused = body.contains(document.activeElement) ? document.activeElement : null;
    const focusedJob = focused?.closest("tr")?.dataset.job;
    const next = new Map();
    const rows = jobs.map(job => {
      const look = JSON.stringify([job.status, job.language, job.runtime, job.created_at, job.wall_ms]);
      const kept = shown.get(job.id);
      const tr = kept && kept.look === look ? kept.tr : row(job);
      tr.querySelector("input[type=checkbox]").checked = selected.has(job.id);
      next.set(job.id, { tr, look });
      return tr;
    });
    shown = next;
    placeRows(body, rows);
    // The focused row was moved, or rebuilt because its job changed (it ended): focus goes back to the same control.
    if (focused && document.activeElement !== focused && next.has(focusedJob)) {
      const target = body.contains(focused) ? focused : next.get(focusedJob).tr.querySelector(focused.matches("input") ? "input[type=checkbox]" : "a");
      target?.focus({ preventScroll: true });
    }
  }

  function row(job) {
    const box = h("input", { type: "checkbox", value: job.id, checked: selected.has(job.id), "aria-label": `Select job ${job.id}`,
      onchange: e => { if (e.target.checked) selected.add(job.id); else selected.delete(job.id); updateSelection(); } });
    return h("tr", { "data-job": job.id, "data-status": job.status },
      h("td", {}, box),
      h("td", {}, statusBadge(job.status)),
      // Eight characters tell jobs apart on a narrow screen, where the Runtime and Wall columns need the room.
      h("td", {}, h("a", { href: `#/jobs/${job.id}`, class: "mono", "aria-label": `Job ${job.id}` }, job.id.slice(0, 8), h("span", { class: "hide-narrow" }, job.id.slice(8, 12)), "…")),
      h("td", { class: "hide-narrow" }, job.language),
      h("td", {}, job.runtime),
      h("td", { class: "hide-narrow" }, formatTime(job.created_at)),
      h("td", { class: "num" }, formatMs(job.wall_ms)));
  }

  function updateSelection() {
    cancelSelected.disabled = deleteSelected.disabled = selected.size === 0;
    setText(selectedCount, selected.size ? `${selected.size} selected` : "");
    const boxes = body.querySelectorAll("input[type=checkbox]");
    selectAll.checked = boxes.length > 0 && [...boxes].every(b => b.checked);
  }

  async function cancelMany() {
    try {
      const result = await post("/api/v1/jobs/cancel", { ids: [...selected] });
      toast(`${result.cancelled.length} job(s) cancelled.`, true);
    } catch (error) { toast(error.message); }
    refresh();
  }

  async function deleteMany() {
    if (!await confirmDialog(`Delete ${selected.size} job(s) with their output and artifacts?`)) return;
    const ids = [...selected];
    const results = await Promise.allSettled(ids.map(id => del(`/api/v1/jobs/${encodeURIComponent(id)}`)));
    const failed = results.filter(r => r.status === "rejected").length;
    toast(failed ? `${failed} of ${ids.length} could not be deleted.` : `${ids.length} job(s) deleted.`, !failed);
    selected.clear();
    refresh();
  }

  // Live: the visible page is fetched again every two seconds while the tab shows it.
  (async () => {
    await refresh();
    while (!signal.aborted) {
      await sleep(2000, signal);
      if (!signal.aborted && !document.hidden) await refresh();
    }
  })();
  const onReconnect = () => refresh();
  window.addEventListener("runbox:reconnected", onReconnect);
  return () => { controller.abort(); clearTimeout(typing); window.removeEventListener("runbox:reconnected", onReconnect); };
}
