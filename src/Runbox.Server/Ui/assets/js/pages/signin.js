// Sign-in: an API key, checked against the server, kept only for this browser tab.
import { h } from "../dom.js";

export function render(main, { onSignedIn, notice }) {
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "key-hint" });
  const error = h("p", { class: "error-text", role: "alert" }, notice ?? "");
  const form = h("form", { class: "panel signin", onsubmit: async e => {
    e.preventDefault();
    error.textContent = "";
    // A header carries only Latin-1: fetch threw on a key pasted with a typographic character, which read as "refused"
    // and stayed in the tab's storage. Keys are printable ASCII.
    const odd = input.value.trim().match(/[^\x21-\x7e]/u);
    if (odd) {
      error.textContent = `An API key is printable ASCII; this one holds "${odd[0]}" (U+${odd[0].codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}): was it changed when copied?`;
      input.focus();
      return;
    }
    const ok = await onSignedIn(input.value.trim());
    if (!ok) { error.textContent = "That key was refused, or the server did not answer."; input.focus(); }
  } },
  h("h1", {}, "Sign in"),
  h("label", { for: "api-key" }, "API key"),
  input,
  h("p", { id: "key-hint", class: "muted" }, "The admin key is printed by ", h("code", {}, "runbox serve"), " and saved in ", h("code", {}, "<data>/admin.key"), ". It is kept in this tab only."),
  error,
  h("button", { type: "submit", class: "primary" }, "Sign in"));
  main.append(form);
  input.focus();
}
