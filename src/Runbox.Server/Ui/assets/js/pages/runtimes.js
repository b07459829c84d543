// Runtimes: state badges that follow installs live, create, install packages and add or remove preloads, smoke test,
// delete with confirmation. Talks to /api/v1/runtimes (admin keys): {runtimes: [{name, state, progress, python_version,
// packages: [{name, version}], preload, preload_errors, smoke_test_job_id, error, last_install}]}.
import { ApiError, del, get, post, sleep } from "../api.js";
import { confirmDialog, field, h, placeRows, setText, statusBadge, toast } from "../dom.js";

export function render(main, _params, { caller }) {
  if (!caller.admin) {
    main.append(h("h1", {}, "Runtimes"), h("p", {}, "Runtimes are managed with an admin key."));
    return;
  }
  const controller = new AbortController();
  const { signal } = controller;
  const body = h("tbody", { id: "runtimes-body" });
  // The server's rule (1-64 characters): the form used to stop at 63. A name that breaks it is refused by the browser
  // with the rule as its message, where it said only "Please match the requested format."
  const NAME_RULE = "1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit";
  const name = h("input", { id: "runtime-name", required: true, pattern: "[a-z0-9][a-z0-9_.\\-]{0,63}", placeholder: "e.g. data", autocomplete: "off",
    oninput: () => name.setCustomValidity(name.validity.patternMismatch ? `A runtime name is ${NAME_RULE}.` : "") });
  const version = h("input", { id: "runtime-python", placeholder: "newest found, or 3.12", autocomplete: "off" });
  const packages = h("input", { id: "runtime-packages", placeholder: "space separated, e.g. requests==2.32.3", autocomplete: "off" });
  const preload = h("input", { id: "runtime-preload", placeholder: "modules imported once, e.g. json", autocomplete: "off" });
  const systemSite = h("input", { id: "runtime-system-site", type: "checkbox" });
  const createButton = h("button", { type: "submit", class: "primary", id: "create-runtime" }, "Create");
  // A status region: a screen reader hears that the list could not be fetched, and not again while the text stays.
  const unavailable = h("p", { class: "muted", id: "runtimes-unavailable", role: "status", hidden: true });
  // The badges change without a word to a screen reader: what changed is said here (an install ended, a runtime failed).
  const announce = h("p", { class: "sr-only", id: "runtimes-announce", role: "status" });

  main.append(
    h("h1", {}, "Runtimes"),
    unavailable,
    announce,
    h("div", { class: "panel" }, h("div", { class: "table-wrap" }, h("table", { id: "runtimes-table", class: "stack" },
      h("caption", { class: "sr-only" }, "Runtimes"),
      h("thead", {}, h("tr", {}, ["Name", "State", "Python", "Packages", "Preload", "Actions"].map(t => h("th", { scope: "col" }, t)))),
      body))),
    h("form", { class: "panel", id: "create-form", onsubmit: e => { e.preventDefault(); create(); } },
      h("h2", {}, "New runtime"),
      h("div", { class: "grid" }, field("Name", name, NAME_RULE), field("Python version", version), field("Packages", packages), field("Preload modules", preload)),
      h("div", { class: "row" }, systemSite, h("label", { for: "runtime-system-site", class: "inline" }, "See the system's site-packages (e.g. Debian's python3-numpy)")),
      h("div", { class: "row" }, createButton)));

  const words = s => s.split(/[\s,]+/).filter(Boolean);
  const RETRY = "retry";

  async function refresh() {
    let list;
    try {
      const answer = await get("/api/v1/runtimes", { signal });
      list = Array.isArray(answer) ? answer : answer.runtimes || [];
      unavailable.hidden = true;
    } catch (error) {
      if (signal.aborted) return false;
      unavailable.hidden = false;
      // No answer, or a server error, passes (a restart, a proxy's hiccup): the page asks again rather than stay on the
      // error. It used to stop there until /healthz saw the server down and back, which a restart between two of its
      // checks never shows.
      const passing = !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
      setText(unavailable, error instanceof ApiError && error.status === 404
        ? "This server has no runtimes API yet: only the default runtime is available."
        : error instanceof ApiError && error.status === 403 ? "Runtimes are managed with an admin key."
          : `Could not list runtimes: ${error.message}${passing ? " Retrying every 3 s…" : ""}`);
      shown = new Map();
      body.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "—")));
      return passing ? RETRY : false;
    }
    if (list.length) showRows(list);
    else { shown = new Map(); body.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No runtimes."))); }
    return list.some(r => r.state === "installing" || r.state === "ready" || installingIntoCopy(r));
  }

  // A row stays in the page while its runtime looks the same. Rebuilding every row each second while something
  // installs wiped the package names typed into another runtime's install box, closed its package list and took
  // keyboard focus back to the top of the page. A row rebuilt because its runtime changed keeps what was typed in it
  // and gets the focus back on the same control.
  let shown = new Map();
  function showRows(list) {
    const focused = body.contains(document.activeElement) ? document.activeElement : null;
    const focusedRuntime = focused?.closest("tr")?.dataset.runtime;
    const focusedControl = focused?.dataset.control;
    const focusedIndex = [...body.children].findIndex(tr => tr.contains(focused));
    const next = new Map();
    const news = [];
    const rows = list.map(runtime => {
      const look = JSON.stringify(runtime);
      const kept = shown.get(runtime.name);
      if (kept && kept.look === look) { next.set(runtime.name, kept); return kept.tr; }
      const tr = row(runtime);
      if (kept) {
        const said = change(kept.runtime, runtime);
        if (said) news.push(said);
        tr.querySelector("[data-control=packages]").value = kept.tr.querySelector("[data-control=packages]").value;
        tr.querySelector("[data-control=preload]").value = kept.tr.querySelector("[data-control=preload]").value;
        // A preload chosen for removal stays chosen while the runtime still has it (otherwise the select says "none").
        const chosen = kept.tr.querySelector("[data-control=remove-preload]")?.value;
        const select = tr.querySelector("[data-control=remove-preload]");
        if (chosen && select && (runtime.preload || []).includes(chosen)) select.value = chosen;
        const open = kept.tr.querySelector("details")?.open;
        if (open && tr.querySelector("details")) tr.querySelector("details").open = true;
      }
      next.set(runtime.name, { tr, look, runtime });
      return tr;
    });
    shown = next;
    if (news.length) setText(announce, news.join(" "));
    placeRows(body, rows);
    if (focused && document.activeElement !== focused && next.has(focusedRuntime)) {
      const tr = next.get(focusedRuntime).tr;
      // A control disabled while the runtime installs cannot hold focus: its row's install box or Delete takes it.
      const target = [focusedControl && tr.querySelector(`[data-control=${focusedControl}]`), tr.querySelector("[data-control=packages]"), tr.querySelector("[data-control=delete]")]
        .find(el => el && !el.disabled);
      target?.focus({ preventScroll: true });
    } else if (focused && !body.contains(focused)) {
      // Its runtime is gone (deleted here or elsewhere): the row now in its place takes the focus, not the page's top.
      const tr = rows[Math.min(focusedIndex, rows.length - 1)];
      tr?.querySelector("[data-control=packages]:not(:disabled), button:not(:disabled)")?.focus({ preventScroll: true });
    }
  }

  /** What a screen reader is told when a runtime's row changes, or null when nothing an operator waits for did. */
  function change(before, after) {
    const wasBusy = before.state === "installing" || installingIntoCopy(before);
    const busy = after.state === "installing" || installingIntoCopy(after);
    if (before.state !== after.state) return after.state === "failed" ? `${after.name} failed.` : `${after.name} is ${after.state}.`;
    if (wasBusy && !busy) {
      return after.last_install && !after.last_install.succeeded
        ? `Installing into ${after.name} failed; it kept what it had.`
        : `Installing into ${after.name} finished.`;
    }
    return null;
  }

  // An operational runtime with a progress line installs into a copy of its environment, taking jobs meanwhile.
  function installingIntoCopy(runtime) {
    return runtime.state === "operational" && !!runtime.progress;
  }

  function row(runtime) {
    const packagesText = (runtime.packages || []).map(p => (typeof p === "string" ? p : `${p.name} ${p.version}`)).join(", ");
    const failed = runtime.state === "failed";
    const busy = runtime.state === "installing" || installingIntoCopy(runtime);
    const install = h("input", { "data-control": "packages", "aria-label": `Packages to install in ${runtime.name}`, placeholder: "package", size: 14, disabled: busy });
    // Preloads change through the same install: adding modules, or taking out one that broke the runtime (a failed
    // runtime is brought back this way, its packages kept).
    const addPreload = h("input", { "data-control": "preload", "aria-label": `Preloads to add to ${runtime.name}`, placeholder: "preload", size: 10, autocomplete: "off", disabled: busy });
    const removePreload = (runtime.preload || []).length
      ? h("select", { "data-control": "remove-preload", "aria-label": `Preload to remove from ${runtime.name}`, disabled: busy },
        h("option", { value: "" }, "remove preload…"), runtime.preload.map(m => h("option", { value: m }, m)))
      : null;
    return h("tr", { "data-runtime": runtime.name, "data-state": runtime.state },
      h("td", {}, h("strong", {}, runtime.name)),
      h("td", {},
        statusBadge(runtime.state),
        busy && runtime.progress ? h("div", { class: "muted", "data-progress": "" }, runtime.progress) : null,
        failed && runtime.smoke_test_job_id ? h("div", {}, h("a", { href: `#/jobs/${runtime.smoke_test_job_id}`, "data-smoke-test": "" }, "smoke test job")) : null,
        // A failed install's error is the package tool's output: its line breaks matter, and it can be long.
        runtime.error ? h("div", { class: "error-text error-detail", "data-error": "", tabindex: "0", "aria-label": `Error of ${runtime.name}` }, runtime.error) : null,
        // An install that failed on a working runtime left it working: said beside the state, not as the runtime's error.
        !runtime.error && runtime.last_install && !runtime.last_install.succeeded
          ? h("div", { class: "error-text error-detail", "data-install-error": "", tabindex: "0", "aria-label": `Last install of ${runtime.name}` },
            `Installing ${runtime.last_install.packages.join(" ")} failed; the runtime kept what it had.\n${runtime.last_install.error || ""}`)
          : null,
        Object.entries(runtime.preload_errors || {}).map(([m, e]) => h("div", { class: "error-text" }, `preload ${m}: ${e}`))),
      h("td", { "data-label": "Python" }, runtime.python_version || "—"),
      h("td", { class: "muted", "data-label": "Packages" }, packagesText ? h("details", {}, h("summary", {}, `${runtime.packages.length} installed`), packagesText) : "—"),
      h("td", { "data-label": "Preload" }, (runtime.preload || []).join(", ") || "—"),
      h("td", { "data-label": "Actions" }, h("form", { class: "row", onsubmit: e => { e.preventDefault(); installPackages(runtime.name, install, addPreload, removePreload); } },
        install,
        addPreload,
        removePreload,
        h("button", { type: "submit", "data-control": "install", disabled: busy }, "Install"),
        h("button", { type: "button", "data-control": "test", disabled: busy, onclick: () => smokeTest(runtime.name) }, "Test"),
        runtime.name === "default" ? null : h("button", { type: "button", class: "danger", "data-control": "delete", onclick: () => remove(runtime.name) }, "Delete"))));
  }

  async function act(what, call) {
    try {
      await call();
      toast(what, true);
    } catch (error) {
      toast(error.message);
    }
    follow();
  }

  function create() {
    const request = { name: name.value.trim() };
    if (version.value.trim()) request.python_version = version.value.trim();
    if (words(packages.value).length) request.packages = words(packages.value);
    if (words(preload.value).length) request.preload = words(preload.value);
    if (systemSite.checked) request.system_site_packages = true;
    return act(`Creating ${request.name}…`, async () => {
      createButton.disabled = true;
      try {
        await post("/api/v1/runtimes", request);
        for (const input of [name, version, packages, preload]) input.value = "";
        systemSite.checked = false;
      } finally {
        createButton.disabled = false;
        // Disabling the focused Create button dropped focus to the page's top: the Name field takes it, for the next
        // runtime or to correct this one.
        if (document.activeElement === document.body || document.activeElement === createButton) name.focus();
      }
    });
  }

  // The boxes are emptied once the server took the install (as the create form is), and kept when it was refused.
  function installPackages(runtime, input, preloadInput, removeSelect) {
    const request = {};
    if (words(input.value).length) request.packages = words(input.value);
    if (words(preloadInput.value).length) request.preload = words(preloadInput.value);
    if (removeSelect?.value) request.remove_preload = [removeSelect.value];
    if (!Object.keys(request).length) return toast("Name at least one package, a preload to add or one to remove.");
    return act(`Installing in ${runtime}…`, async () => {
      await post(`/api/v1/runtimes/${encodeURIComponent(runtime)}/packages`, request);
      const row = body.querySelector(`tr[data-runtime="${CSS.escape(runtime)}"]`);
      for (const control of [input, preloadInput, removeSelect, ...(row ? row.querySelectorAll("[data-control=packages], [data-control=preload], [data-control=remove-preload]") : [])]) {
        if (control) control.value = "";
      }
    });
  }
  const smokeTest = runtime => act(`Testing ${runtime}…`, () => post(`/api/v1/runtimes/${encodeURIComponent(runtime)}/test`, {}));

  async function remove(runtime) {
    if (!await confirmDialog(`Delete the runtime ${runtime} and its environment?`)) return;
    act(`${runtime} deleted.`, async () => {
      try {
        await del(`/api/v1/runtimes/${encodeURIComponent(runtime)}`);
      } catch (error) {
        // 409: jobs still run on it. Deleting anyway is a second, explicit choice.
        if (!(error instanceof ApiError && error.status === 409) || !await confirmDialog(`${error.message} Delete it anyway?`, "Delete anyway")) throw error;
        await del(`/api/v1/runtimes/${encodeURIComponent(runtime)}?force=true`);
      }
    });
  }

  // While something installs the table is fetched every second, so the badge and spinner follow it live.
  let following = false;
  async function follow() {
    if (following) { await refresh(); return; }
    following = true;
    try {
      for (let again; !signal.aborted && (again = await refresh());) await sleep(again === RETRY ? 3000 : 1000, signal);
    } finally { following = false; }
  }

  follow();
  const onReconnect = () => follow();
  window.addEventListener("runbox:reconnected", onReconnect);
  return () => { controller.abort(); window.removeEventListener("runbox:reconnected", onReconnect); };
}
