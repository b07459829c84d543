// Sign-in: an API key, checked against the server, kept only for this browser tab.
import { h } from "../dom.js";

export function render(main, { onSignedIn, notice }) {
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "key-hint" });
  const error = h("p", { class: "error-text", role: "alert", id: "signin-error" }, notice ?? "");
  const form = h("form", { class: "panel signin", onsubmit: async e => {
    e.preventDefault();
    error.textContent = "";
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
