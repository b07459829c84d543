// Talks to the Runbox API with the signed-in key. The key lives in sessionStorage: it is gone when the tab closes.
const KEY = "runbox.key";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) { value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY); },
  caller: null,
};

function headers(extra = {}) {
  const h = { ...extra };
  if (session.key) h.Authorization = `Bearer ${session.key}`;
  return h;
}

/** JSON in, JSON out; a problem-details answer becomes an ApiError with its detail. */
export async function api(method, path, body, { signal } = {}) {
  const response = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  // Only a signed-in session is sent back to sign-in; a key being checked reports its own refusal.
  if (response.status === 401 && session.caller) {
    window.dispatchEvent(new CustomEvent("runbox:unauthorized"));
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, problem);
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path, options) => api("GET", path, undefined, options);
export const post = (path, body, options) => api("POST", path, body, options);
export const del = (path, options) => api("DELETE", path, undefined, options);

/** An artifact's bytes need the key, so they are fetched and handed to the browser as a blob download. */
export async function download(path, name) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw new ApiError(response.status, null);
  const url = URL.createObjectURL(await response.blob());
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Follows a job's server-sent events. EventSource cannot send an Authorization header, so this reads the stream
 * with fetch. When the connection drops (a server restart), it reconnects with Last-Event-ID and the server replays
 * only what was missed. A 429 (the key holds as many live streams as it may) is waited out as its Retry-After says,
 * reported as onState("limited", seconds). Resolves after the `result` event; rejects only on another 4xx answer or
 * when aborted. With `after`, the stream starts after that seq.
 */
export async function followJob(id, { after = 0, onLog, onResult, onState, signal }) {
  // `after`: the seq of the last line the caller already has (the job's tail, fetched first), so none comes twice.
  let lastSeq = after;
  let delay = 500;
  while (!signal?.aborted) {
    try {
      const response = await fetch(`/api/v1/jobs/${encodeURIComponent(id)}/events`, {
        headers: headers(lastSeq ? { "Last-Event-ID": String(lastSeq) } : {}),
        signal,
      });
      if (response.status === 429) {
        // A stream frees only when another of the key's closes: retrying sooner than the server says only adds refusals.
        const wait = retryAfterMs(response);
        response.body?.cancel().catch(() => {});
        onState?.("limited", Math.round(wait / 1000));
        await sleep(wait, signal);
        continue;
      }
      if (response.status >= 400 && response.status < 500) {
        let problem = null;
        try { problem = await response.json(); } catch { /* not JSON */ }
        throw new ApiError(response.status, problem);
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      onState?.("live");
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        // The rest of the buffer is cut off once per chunk, not once per event: a chunk holds thousands of events.
        let start = 0;
        let end;
        while ((end = buffer.indexOf("\n\n", start)) >= 0) {
          const block = buffer.slice(start, end);
          start = end + 2;
          const event = parseEvent(block);
          if (event.event === "log") {
            const line = JSON.parse(event.data);
            lastSeq = Math.max(lastSeq, line.seq);
            onLog(line);
          } else if (event.event === "result") {
            onResult(JSON.parse(event.data));
            return;
          }
        }
        buffer = buffer.slice(start);
      }
    } catch (error) {
      if (signal?.aborted || error instanceof ApiError) throw error;
    }
    onState?.("reconnecting");
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 5000);
  }
}

/** Retry-After in milliseconds (seconds or an HTTP date), between 1 and 60 s; 5 s, the server's own, when absent. */
function retryAfterMs(response) {
  const value = response.headers.get("Retry-After");
  let ms = 5000;
  if (value && /^\d+$/.test(value.trim())) ms = Number(value.trim()) * 1000;
  else if (value && !Number.isNaN(Date.parse(value))) ms = Date.parse(value) - Date.now();
  return Math.min(Math.max(ms, 1000), 60_000);
}

function parseEvent(block) {
  const event = { event: "message", data: "" };
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") event.data += (event.data ? "\n" : "") + value;
    else event[field] = value;
  }
  return event;
}

export function sleep(ms, signal) {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
