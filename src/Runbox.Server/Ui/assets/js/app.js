// Entry point: sign-in, hash routes (#/run, #/jobs?filters, #/jobs/ID, #/runtimes, #/workers, #/maintenance), connection status.
import { get, session, sleep } from "./api.js";
import * as signIn from "./pages/signin.js";
import * as run from "./pages/run.js";
import * as job from "./pages/job.js";
import * as jobs from "./pages/jobs.js";
import * as runtimes from "./pages/runtimes.js";
import * as maintenance from "./pages/maintenance.js";
import * as workers from "./pages/workers.js";

const main = document.getElementById("main");
let cleanup = null;
let renderId = 0;
// Why the session ended, shown once on the sign-in form: a key revoked mid-session otherwise just lands there silently.
let signedOutBecause = null;
const REFUSED = "The server refused this tab's key (it was revoked, or the server's keys changed): sign in again.";

const routes = [
  [/^#\/run(?:\/([^/]+))?$/, run, "run", "Run"],
  // Named for its job, so tabs and the Back button's list tell jobs apart.
  [/^#\/jobs\/([^/]+)$/, job, "jobs", id => `Job ${id}`],
  // The query is handed over undecoded: the page reads it with URLSearchParams.
  [/^#\/jobs(?:\?(.*))?$/, jobs, "jobs", "Jobs", { raw: true }],
  [/^#\/runtimes$/, runtimes, "runtimes", "Runtimes"],
  [/^#\/workers$/, workers, "workers", "Workers"],
  [/^#\/maintenance$/, maintenance, "maintenance", "Maintenance"],
];

async function route() {
  const id = ++renderId;
  cleanup?.();
  cleanup = null;
  // A modal left open by the page before (a confirmation) would block every click on the next one.
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  main.replaceChildren();
  if (!session.key || !session.caller) {
    const hadKey = Boolean(session.key);
    if (hadKey && await checkKey(session.key)) {
      if (id !== renderId) return;
    } else {
      // A key kept from before (a reload) is dropped only when refused; when the server did not answer it stays.
      if (hadKey && !session.key) signedOutBecause = REFUSED;
      showSignedOut();
      cleanup = signIn.render(main, { onSignedIn: onSignedIn, notice: signedOutBecause }) || null;
      signedOutBecause = null;
      document.title = "Sign in · Runbox";
      return;
    }
  }
  showSignedIn();
  const hash = location.hash || "#/run";
  const match = routes.find(([pattern]) => pattern.test(hash));
  if (!match) { location.replace("#/run"); return; }
  const [pattern, page, nav, title, { raw = false } = {}] = match;
  const params = hash.match(pattern).slice(1).map(p => p && (raw ? p : decodePart(p)));
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === nav) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.title = `${typeof title === "function" ? title(...params) : title} · Runbox`;
  cleanup = page.render(main, params, { caller: session.caller }) || null;
  // Moves focus to the new page so screen readers announce it, without scrolling the keyboard user away.
  if (document.activeElement === document.body || document.activeElement?.closest("nav")) main.focus({ preventScroll: true });
}

// A malformed escape (#/jobs/%E0, a link cut short) is kept as typed: decodeURIComponent throws on it, which left a blank page.
function decodePart(part) {
  try { return decodeURIComponent(part); } catch { return part; }
}

async function checkKey(key) {
  try {
    session.caller = null;
    session.key = key;
    session.caller = await get("/api/v1/me");
    return true;
  } catch (error) {
    // Only a refused key signs out; a server that is down keeps the key for when it is back.
    if (error.status === 401 || error.status === 403) session.key = null;
    session.caller = null;
    return false;
  }
}

async function onSignedIn(key) {
  const ok = await checkKey(key);
  if (ok) route();
  return ok;
}

function showSignedIn() {
  document.querySelector("nav").hidden = false;
  for (const el of document.querySelectorAll("[data-admin]")) el.hidden = !session.caller.admin;
  document.getElementById("who").textContent = `${session.caller.admin ? "admin" : "key"} ${session.caller.key_id}`;
  document.getElementById("sign-out").hidden = false;
}

function showSignedOut() {
  document.querySelector("nav").hidden = true;
  document.getElementById("who").textContent = "";
  document.getElementById("sign-out").hidden = true;
}

document.getElementById("sign-out").addEventListener("click", () => {
  session.key = null;
  session.caller = null;
  route();
  // After route(): leaving the Run page saves its draft, synchronously, before the sign-in form shows.
  run.forgetDraft();
});
window.addEventListener("runbox:unauthorized", () => {
  signedOutBecause = REFUSED;
  session.key = null;
  session.caller = null;
  route();
});
window.addEventListener("hashchange", route);
// "Skip to content" moves focus to the page without touching the hash, which holds the route.
document.querySelector("a.skip").addEventListener("click", event => {
  event.preventDefault();
  main.focus();
});

/** Polls /healthz: the badge says whether the server answers, and pages refresh when it comes back. */
async function watchConnection() {
  const badge = document.getElementById("connection");
  const text = badge.querySelector(".conn-text");
  let online = null;
  for (;;) {
    let ok = false;
    try {
      const response = await fetch("/healthz", { cache: "no-store" });
      ok = response.ok;
    } catch { ok = false; }
    if (ok !== online) {
      const wasOffline = online === false;
      online = ok;
      badge.className = `conn ${ok ? "online" : "offline"}`;
      text.textContent = ok ? "Connected" : "Disconnected — retrying";
      if (ok && wasOffline) window.dispatchEvent(new CustomEvent("runbox:reconnected"));
    }
    await sleep(ok ? 3000 : 1000);
  }
}

// CodeMirror loads as a deferred classic script, which runs before module scripts: it is ready by now.
route();
watchConnection();
