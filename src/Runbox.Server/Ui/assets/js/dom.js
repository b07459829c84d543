// Small DOM helpers: elements are built, never parsed from strings, so job output can never become markup.

/** h("a", {href: "#"}, "text", child) — attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "class") el.className = value;
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function statusBadge(status) {
  const running = status === "running" || status === "installing";
  return h("span", { class: `badge ${status}`, "data-status": status }, running ? h("span", { class: "spinner", "aria-hidden": "true" }) : null, status.replace("_", " "));
}

/** A message in the corner. Confirmations fade after 5 s; errors stay until dismissed, since they can be long. */
export function toast(message, ok = false) {
  const el = document.getElementById("toast");
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", title: "Dismiss", onclick: () => { el.hidden = true; } }, "×");
  el.replaceChildren(h("div", { class: "toast-text" }, message), close);
  el.classList.toggle("ok", ok);
  el.hidden = false;
  console.info(`toast: ${message}`); // for whoever debugs once it is gone
  clearTimeout(toast.timer);
  if (ok) toast.timer = setTimeout(() => { el.hidden = true; }, 5000);
}

/**
 * Sets an element's text only when it differs. A screen reader announces a live region on every change, the same
 * text written again included: a page refreshed every second or two would repeat itself.
 */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Makes `rows` the children of `body`, in order, without moving a row already in its place: moving a row (removing and
 * inserting it) drops the keyboard focus inside it, so a live refresh that rebuilds nothing keeps the focus where it is.
 */
export function placeRows(body, rows) {
  const wanted = new Set(rows);
  for (const child of [...body.children]) if (!wanted.has(child)) child.remove();
  let at = body.firstElementChild;
  for (const tr of rows) {
    if (tr === at) at = at.nextElementSibling;
    else body.insertBefore(tr, at);
  }
}

export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  // The hint is read out with the control (what a field may hold), not only seen beside it.
  if (hint) control.setAttribute("aria-describedby", `${id}-hint`);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("div", { class: "muted", id: `${id}-hint` }, hint) : null);
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
  return `${bytes.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function formatTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** A modal yes/no built on <dialog>, which keeps focus inside and closes on Escape. */
export function confirmDialog(message, action = "Delete") {
  return new Promise(resolve => {
    const dialog = h("dialog", { "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, message),
      h("div", { class: "row" },
        h("span", { class: "spacer" }),
        h("button", { type: "button", onclick: () => dialog.close("no") }, "Keep"),
        h("button", { type: "button", class: "danger", "data-confirm": "", onclick: () => dialog.close("yes") }, action)));
    dialog.addEventListener("close", () => { dialog.remove(); resolve(dialog.returnValue === "yes"); });
    document.body.append(dialog);
    dialog.showModal();
  });
}
