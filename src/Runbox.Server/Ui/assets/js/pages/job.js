// Job: live status, output (the last lines, then SSE from there while it runs), result facts, artifacts, cancel, re-run, copy as curl.
import { ApiError, download, followJob, get, post, sleep } from "../api.js";
import { formatBytes, formatMs, formatTime, h, statusBadge, toast } from "../dom.js";
import { MAX_LINES, OutputView } from "../output-view.js";

const ENDED = new Set(["succeeded", "failed", "timed_out", "cancelled", "error"]);
const ENTRYPOINTS = { python: "main.py", bash: "main.sh", node: "main.js" };
export const ENV_NOTE = "Environment variables (env) and the fresh option are not returned by the server, so they are not included: if the job had any, add them again.";

export function render(main, [id]) {
  const controller = new AbortController();
  // The page never shows the job's stdout and stderr fields (the output view and the downloads do): an ended job's
  // answer carried all of its output, up to 64 MiB each, on every load.
  const jobPath = `/api/v1/jobs/${encodeURIComponent(id)}?output=false`;
  const { signal } = controller;
  const badgeHost = h("span", { id: "job-status", "aria-live": "polite" });
  const streamState = h("span", { class: "muted", id: "stream-state" });
  const cancelButton = h("button", { type: "button", class: "danger", id: "cancel", disabled: true, onclick: cancel }, "Cancel");
  const rerunButton = h("a", { class: "button", id: "rerun", href: `#/run/${encodeURIComponent(id)}` }, "Re-run");
  const curlButton = h("button", { type: "button", id: "copy-curl", onclick: copyCurl }, "Copy as curl");
  const curlBox = h("textarea", { id: "curl-command", rows: 3, readonly: true, "aria-label": "curl command" });
  const curlPanel = h("div", { class: "panel", hidden: true, id: "curl-panel" },
    h("label", { for: "curl-command" }, "Submit it again with curl (reads the key from $RUNBOX_KEY)"), curlBox,
    h("p", { class: "muted", id: "curl-env-note" }, ENV_NOTE));
  const filesNote = h("p", { class: "muted", id: "files-note", hidden: true });
  const facts = h("dl", { class: "facts", id: "facts" });
  const terminal = h("div", { class: "terminal", id: "output", role: "log", "aria-label": "Output", tabindex: "0" });
  // The view keeps only the last lines of a long output (OutputView): all of it is a download, named for the job.
  const downloadStream = stream => download(`/api/v1/jobs/${encodeURIComponent(id)}/${stream}`, `${id}.${stream}.txt`)
    .catch(error => toast(`Could not download ${stream}: ${error.message}`));
  const downloads = h("span", { class: "downloads" }, "Download ",
    h("button", { type: "button", class: "link", id: "download-stdout", "aria-label": "Download stdout", onclick: () => downloadStream("stdout") }, "stdout"), " · ",
    h("button", { type: "button", class: "link", id: "download-stderr", "aria-label": "Download stderr", onclick: () => downloadStream("stderr") }, "stderr"));
  const trimmedNote = h("p", { class: "muted", id: "output-trimmed", hidden: true });
  const followButton = h("button", { type: "button", id: "output-follow", hidden: true, onclick: () => output.follow() },
    "New output waits while you read: follow the output");
  const artifacts = h("div", { id: "artifacts" }, h("p", { class: "muted" }, "Listed when the job ends."));
  const errorBox = h("p", { class: "error-text", id: "job-error", hidden: true });

  main.append(
    h("h1", {}, "Job ", h("code", { class: "mono" }, id), badgeHost),
    h("div", { class: "panel" }, h("div", { class: "row" }, cancelButton, rerunButton, curlButton, h("span", { class: "spacer" }), streamState), filesNote),
    curlPanel,
    h("div", { class: "panel" }, facts, errorBox),
    h("div", { class: "panel" },
      h("div", { class: "row" }, h("h2", {}, "Output"), h("span", { class: "spacer" }),
        h("span", { class: "muted" }, h("span", { class: "legend-out" }, "stdout"), " · ", h("span", { class: "error-text" }, "stderr")),
        downloads),
      trimmedNote, terminal, followButton),
    h("div", { class: "panel" }, h("h2", {}, "Artifacts"), artifacts));

  const output = new OutputView(terminal, { onTrim: showTrimmed, onHold: holding => { followButton.hidden = !holding; } });

  // The job has lines before the tail the page fetched. They were never sent, so they are not counted: a seq counts
  // pieces of lines of both streams (a line written slowly is stored in pieces), not lines of one stream.
  let earlier = false;

  function showTrimmed(dropped) {
    const parts = ["stdout", "stderr"].filter(s => dropped[s]).map(s => `${dropped[s].toLocaleString("en")} ${s}`);
    if (!earlier && !parts.length) return;
    const keeps = `(the page keeps the last ${MAX_LINES.toLocaleString("en")}): download stdout or stderr for the whole output.`;
    trimmedNote.hidden = false;
    trimmedNote.textContent = earlier ? `The output's earlier lines are not shown here ${keeps}`
      : `The first ${parts.join(" and ")} lines are not shown here ${keeps}`;
  }
  let job = null;
  let ended = false;

  function show(next) {
    job = next;
    // The badge is a live region and the status is polled every second: it is rebuilt only when the status changes.
    if (badgeHost.firstElementChild?.dataset.status !== job.status) badgeHost.replaceChildren(statusBadge(job.status));
    cancelButton.disabled = ENDED.has(job.status) || job.cancel_requested;
    const cpu = job.cpu_user_ms === null || job.cpu_user_ms === undefined ? null : job.cpu_user_ms + (job.cpu_system_ms || 0);
    const fact = (name, value, key) => h("div", { "data-fact": key }, h("dt", {}, name), h("dd", {}, value ?? "—"));
    // A job cancelled while queued never ran: it has no times or memory to show, not zeros.
    const ran = Boolean(job.started_at);
    facts.replaceChildren(
      fact("Exit code", job.exit_code ?? (job.signal ? `signal ${job.signal}` : null), "exit_code"),
      fact("Limit hit", job.limit_exceeded && job.limit_exceeded !== "none" ? job.limit_exceeded.replace("_", " ") : ENDED.has(job.status) ? "none" : null, "limit"),
      fact("Wall time", ran ? formatMs(job.wall_ms) : null, "wall"),
      fact("CPU time", ran ? formatMs(cpu) : null, "cpu"),
      fact("Peak memory", ran ? formatBytes(job.peak_memory_bytes) : null, "memory"),
      fact("Language", job.language, "language"),
      fact("Runtime", job.runtime, "runtime"),
      fact("Created", formatTime(job.created_at), "created"));
    errorBox.hidden = !job.error;
    errorBox.textContent = job.error ? `Runbox could not run it: ${job.error}` : "";
    if (ENDED.has(job.status) && job.artifacts) showArtifacts(job.artifacts);
  }

  function showArtifacts(list) {
    if (!list.length) { artifacts.replaceChildren(h("p", { class: "muted" }, "The script left no files.")); return; }
    artifacts.replaceChildren(h("ul", {}, list.map(a => h("li", {},
      h("button", { type: "button", class: "link", onclick: () => download(a.url, a.name.split("/").pop()).catch(e => toast(e.message)) }, a.name),
      h("span", { class: "muted" }, ` ${formatBytes(a.size)}`)))));
  }

  async function load() {
    let first;
    try {
      first = await get(jobPath, { signal });
      show(first);
      // Only a single job's answer carries the script (the result event and polls of lists do not): null means files.
      if (first.script === null) showSubmittedWithFiles(first);
    } catch (error) {
      if (signal.aborted) return;
      main.replaceChildren(h("h1", {}, "Job not found"), h("p", {}, error instanceof ApiError && error.status === 404 ? `No job ${id} is visible to this key.` : error.message));
      controller.abort();
      return;
    }
    // The page shows the last MAX_LINES lines: it asks for them alone, and follows the stream from there. Replaying
    // the whole stream to keep its end sent all of a 3-million-line job's output to throw most of it away.
    let tail = null;
    try {
      tail = await get(`/api/v1/jobs/${encodeURIComponent(id)}/logs?tail=${MAX_LINES}`, { signal });
    } catch (error) {
      if (isGone(error)) { gone(); return; }
      if (signal.aborted) return;
      // Any other failure: the stream replays the output from the start, as it did before tails.
    }
    if (tail) {
      earlier = tail.more_before;
      for (const line of tail.lines) output.add(line);
      showTrimmed(output.dropped);
      // Ended: every line is in the tail and the job's answer is the result; no stream to open.
      if (tail.done) {
        try {
          finish(ENDED.has(first.status) ? first : await get(jobPath, { signal }));
        } catch (error) {
          if (isGone(error)) gone();
        }
        return;
      }
    }
    pollStatus();
    try {
      await followJob(id, {
        after: tail?.next_seq ?? 0,
        signal,
        onLog: line => output.add(line),
        onState: (s, seconds) => {
          streamState.textContent = s === "live" ? (ended ? "" : "● live")
            : s === "limited" ? `Too many live streams for this key (other tabs or clients hold them): retrying in ${seconds} s…`
            : "Reconnecting…";
        },
        onResult: result => {
          finish(result);
          // The result event lists no artifacts; the job's own answer does. A 404 here: the stream's result was the one
          // the server sends for a job deleted while streamed (cancelled, "deleted: ...").
          get(jobPath, { signal }).then(show).catch(error => { if (isGone(error)) gone(); });
        },
      });
    } catch (error) {
      if (isGone(error)) gone();
      else if (!signal.aborted) toast(`Output stream stopped: ${error.message}`);
    }
  }

  function finish(result) {
    ended = true;
    streamState.textContent = "";
    output.flush(true);
    show(result);
    if (output.empty && !earlier) output.note(h("span", { class: "line note" }, "(no output)"));
    markTruncated(result);
  }

  const isGone = error => error instanceof ApiError && error.status === 404;

  // Deleted elsewhere (another tab, the CLI, an admin) while shown here: the page said "running" and "Reconnecting…",
  // with Cancel enabled, and asked the server every second, for as long as it stayed open.
  function gone() {
    if (signal.aborted) return;
    controller.abort();
    ended = true;
    badgeHost.replaceChildren(statusBadge("deleted"));
    streamState.textContent = "";
    cancelButton.disabled = true;
    errorBox.hidden = false;
    errorBox.textContent = "This job was deleted while this page showed it: its output below is all this page received.";
    artifacts.replaceChildren(h("p", { class: "muted" }, "Deleted with the job."));
  }

  // The event stream carries log lines and the final result; queued → running shows through a light poll.
  async function pollStatus() {
    while (!signal.aborted && !ended) {
      await sleep(1000, signal);
      if (signal.aborted || ended) return;
      try {
        const next = await get(jobPath, { signal });
        if (!ended) show(next);
      } catch (error) {
        // Offline: the connection badge says so.
        if (isGone(error)) gone();
      }
    }
  }

  async function cancel() {
    cancelButton.disabled = true;
    try {
      show(await post(`/api/v1/jobs/${encodeURIComponent(id)}/cancel`));
      toast("Cancel requested.", true);
    } catch (error) {
      toast(`Not cancelled: ${error.message}`);
    }
  }

  // The server does not return a job's files, so neither a re-run nor a curl command could reproduce it.
  function showSubmittedWithFiles(first) {
    const entrypoint = first.entrypoint || ENTRYPOINTS[first.language] || "main.py";
    const disabledRerun = h("button", { type: "button", id: "rerun", disabled: true, "aria-describedby": "files-note" }, "Re-run");
    rerunButton.replaceWith(disabledRerun);
    curlButton.disabled = true;
    curlButton.setAttribute("aria-describedby", "files-note");
    filesNote.hidden = false;
    filesNote.textContent = `Submitted with files (entry point ${entrypoint}). The server does not return a job's files, `
      + "so it cannot be re-run or copied as curl from here: submit the files again through the API or the CLI.";
  }

  function markTruncated(result) {
    const streams = ["stdout", "stderr"].filter(s => result[`${s}_truncated`]);
    if (!streams.length && result.limit_exceeded !== "output") return;
    const limit = result.limits?.output_bytes ? formatBytes(result.limits.output_bytes) : "the server's default";
    output.note(h("span", { class: "line note truncated", "data-truncated": streams.join(" ") },
      `— Output truncated: ${streams.length ? streams.join(" and ") : "the output"} reached the output limit (${limit}). Lines past it were not kept. —`));
  }

  async function copyCurl() {
    let full = job;
    try { full = await get(jobPath); } catch { /* use what we have */ }
    if (full.script === null || full.script === undefined) { toast("This job's script is not available: nothing to copy."); return; }
    const body = { script: full.script, language: full.language, runtime: full.runtime };
    const limits = Object.fromEntries(Object.entries(full.limits || {}).filter(([, v]) => v !== null && v !== undefined));
    if (Object.keys(limits).length) body.limits = limits;
    if (full.args?.length) body.args = full.args;
    if (full.stdin) body.stdin = full.stdin;
    if (full.network) body.network = true;
    if (full.max_attempts > 1) body.max_attempts = full.max_attempts;
    if (full.callback_url) body.callback_url = full.callback_url;
    if (full.entrypoint) body.entrypoint = full.entrypoint;
    // The key itself is never put on the clipboard: the command reads it from $RUNBOX_KEY.
    const json = JSON.stringify(body).replaceAll("'", "'\\''");
    const command = `curl -s -H "Authorization: Bearer $RUNBOX_KEY" -H 'Content-Type: application/json' ${location.origin}/api/v1/jobs -d '${json}'`;
    curlBox.value = command;
    curlPanel.hidden = false;
    try {
      await navigator.clipboard.writeText(command);
      toast("curl command copied (set RUNBOX_KEY to your key).", true);
    } catch {
      // No clipboard access (an insecure origin, or denied): the command is shown selected for Ctrl+C.
      curlBox.focus();
      curlBox.select();
    }
  }

  load();
  return () => { controller.abort(); output.dispose(); };
}
