// The runtimes for pickers, with their state where the key may list them. Keys that may not (or a server without the
// runtimes API) get just "default", with no state.
import { get } from "./api.js";

/** Jobs on these are refused (409), so pickers show them but do not let them be chosen. */
const UNUSABLE = new Set(["installing", "failed"]);
/** States a runtime leaves by itself (to operational or failed), which pickers follow. */
const PASSING = new Set(["installing", "ready"]);

const DEFAULT_ONLY = [{ name: "default", state: null }];

/** The runtimes; null when the server gave no list this time (down, busy, rate-limited), so asking again may help. */
async function fetchRuntimes() {
  try {
    const body = await get("/api/v1/runtimes");
    const list = (Array.isArray(body) ? body : body.runtimes || []).map(r => ({ name: r.name, state: r.state ?? null }));
    return list.some(r => r.name === "default") ? list : [...DEFAULT_ONLY, ...list];
  } catch (error) {
    return error.status === 403 || error.status === 404 ? DEFAULT_ONLY : null;
  }
}

export async function runtimeList() {
  return (await fetchRuntimes()) ?? DEFAULT_ONLY;
}

/**
 * Keeps a picker's runtimes current while its page is open: a runtime made or deleted in another tab, or one that
 * finished installing, shows as it is without a reload (pickers filled once offered an installed runtime disabled
 * until then). Lists again when the window regains focus or the tab becomes visible, and every 5 s while one is
 * installing or not yet smoke-tested, or after the list failed. `show` is called only when the list changed, so a
 * choice being made is not disturbed for nothing, and only with the answer to the latest request (answers can cross).
 */
export function watchRuntimes(show, signal) {
  let shown = "";
  let timer = 0;
  let asked = 0;
  async function refresh() {
    clearTimeout(timer);
    const request = ++asked;
    const list = await fetchRuntimes();
    if (signal.aborted || request !== asked) return;
    if (list) {
      const key = JSON.stringify(list);
      if (key !== shown) { shown = key; show(list); }
    }
    if (!list || list.some(r => PASSING.has(r.state))) timer = setTimeout(refresh, 5000);
  }
  window.addEventListener("focus", refresh, { signal });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); }, { signal });
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  refresh();
}

export async function runtimeNames() {
  return (await runtimeList()).map(r => r.name);
}

export function fillSelect(select, names, selected) {
  select.replaceChildren(...names.map(n => new Option(n, n, false, n === selected)));
}

/** Options named with their state; installing and failed ones are disabled. Returns the names that are disabled. */
export function fillRuntimeSelect(select, list, selected) {
  if (selected && !list.some(r => r.name === selected)) list = [...list, { name: selected, state: null }];
  select.replaceChildren(...list.map(r => {
    const option = new Option(r.state && r.state !== "operational" ? `${r.name} (${r.state})` : r.name, r.name, false, r.name === selected);
    option.disabled = UNUSABLE.has(r.state);
    option.dataset.state = r.state ?? "";
    return option;
  }));
  return list.filter(r => UNUSABLE.has(r.state));
}
