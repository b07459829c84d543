// Run: write a script, pick language, runtime and limits, run it (button or Ctrl+Enter) and go to its job page.
// The form is kept in sessionStorage (runbox.draft) as it is edited, so a reload or a visit to another page loses nothing.
import { get, post } from "../api.js";
import { field, h, toast } from "../dom.js";
import { createEditor } from "../editor.js";
import { fillRuntimeSelect, runtimeList, watchRuntimes } from "../runtimes-list.js";
import { ENV_NOTE } from "./job.js";

const DRAFT = "runbox.draft";
const SAMPLES = {
  python: 'import time\n\nfor i in range(5):\n    print(f"\\x1b[32mtick\\x1b[0m {i}", flush=True)\n    time.sleep(0.5)\nprint("done")\n',
  bash: 'for i in 1 2 3; do\n  echo "line $i"\n  sleep 0.5\ndone\necho "to stderr" >&2\n',
  node: 'for (let i = 0; i < 3; i++) console.log(`line ${i}`);\nconsole.error("to stderr");\n',
};
// Every limit the API takes: [draft key, API name, label, decimals allowed].
const LIMITS = [
  ["timeout", "timeout_seconds", "Timeout (seconds)", true],
  ["memory", "memory_mb", "Memory (MB)", false],
  ["cpu", "cpu_seconds", "CPU time (seconds)", true],
  ["processes", "processes", "Processes", false],
  ["output", "output_bytes", "Output (bytes)", false],
  ["fileSize", "file_size_mb", "File size (MB)", false],
  ["disk", "disk_mb", "Disk (MB)", false],
];

/** Sign-out forgets the form: its environment may hold secrets, and the next person to sign in here should not see them. */
export function forgetDraft() {
  sessionStorage.removeItem(DRAFT);
}

function readDraft() {
  try { return JSON.parse(sessionStorage.getItem(DRAFT) || "null"); } catch { return null; }
}

export function render(main, [rerunId]) {
  const controller = new AbortController();
  const draft = readDraft() || { language: "python", runtime: "default", script: SAMPLES.python };
  const language = h("select", { id: "language" }, ["python", "bash", "node"].map(l => new Option(l, l, false, l === draft.language)));
  const runtime = h("select", { id: "runtime" }, new Option(draft.runtime || "default"));
  const runtimeNote = h("div", { class: "muted", id: "runtime-note", hidden: true });
  const limits = Object.fromEntries(LIMITS.map(([key, , , decimals]) => [key, h("input", {
    id: `limit-${key}`, type: "number", min: decimals ? "0.1" : "1", step: decimals ? "any" : "1",
    inputmode: decimals ? "decimal" : "numeric", placeholder: "server default", value: draft[key] ?? "",
  })]));
  const stdin = h("textarea", { id: "stdin", rows: 3, placeholder: "Text given to the script on standard input" }, draft.stdin ?? "");
  const args = h("textarea", { id: "args", rows: 3, placeholder: "One argument per line" }, draft.args ?? "");
  const env = h("textarea", { id: "env", rows: 3 }, draft.env ?? "");
  const network = h("input", { id: "network", type: "checkbox", checked: Boolean(draft.network) });
  const attempts = h("input", { id: "attempts", type: "number", min: "1", step: "1", inputmode: "numeric", placeholder: "1", value: draft.attempts ?? "" });
  const entrypoint = h("input", { id: "entrypoint", placeholder: "main.py, main.sh or main.js", value: draft.entrypoint ?? "", autocomplete: "off", spellcheck: "false" });
  const callback = h("input", { id: "callback", type: "url", placeholder: "https://… (POSTed the job when it ends)", value: draft.callback ?? "", autocomplete: "off" });
  const rerunNote = h("div", { class: "panel note-panel", id: "rerun-note", role: "status", hidden: true });
  const runButton = h("button", { type: "submit", class: "primary", id: "run" }, "Run");
  const editorHost = h("div", { class: "editor" });

  const form = h("form", { class: "run", onsubmit: e => { e.preventDefault(); submit(); } },
    h("h1", {}, "Run a script"),
    rerunNote,
    h("div", { class: "panel" },
      h("div", { class: "grid" }, field("Language", language), h("div", {}, field("Runtime", runtime), runtimeNote)),
      h("div", { class: "field" },
        h("label", { for: "code" }, "Script"),
        editorHost)),
    h("div", { class: "panel" },
      h("h2", {}, "Limits"),
      h("div", { class: "grid" }, LIMITS.map(([key, , label]) => field(label, limits[key])))),
    h("div", { class: "panel grid" }, field("Standard input", stdin), field("Arguments", args),
      field("Environment", env, "NAME=value, one per line")),
    h("div", { class: "panel" },
      h("h2", {}, "Options"),
      h("div", { class: "grid" }, field("Attempts", attempts, "runs allowed if its worker dies"), field("Callback URL", callback),
        field("File name", entrypoint, "the script's name in tracebacks and __file__")),
      h("div", { class: "row" }, network, h("label", { for: "network", class: "inline" }, "Network access (only where the server allows it)"))),
    h("div", { class: "row" }, runButton, h("span", { class: "muted" }, "or press ", h("kbd", {}, "Ctrl"), " + ", h("kbd", {}, "Enter"), " in the editor")));
  main.append(form);

  let rerunOf = draft.rerunOf;
  let saveTimer;
  const scheduleSave = () => { clearTimeout(saveTimer); saveTimer = setTimeout(saveDraft, 200); };
  const editor = createEditor(editorHost, { value: draft.script, language: draft.language, onRun: submit, onChange: scheduleSave, label: "Script" });
  language.addEventListener("change", () => {
    const previous = Object.entries(SAMPLES).find(([, s]) => s === editor.value);
    if (previous || !editor.value.trim()) editor.value = SAMPLES[language.value];
    editor.setLanguage(language.value);
  });
  form.addEventListener("input", scheduleSave);
  form.addEventListener("change", scheduleSave);
  // A reload or a closed tab does not wait for the timer.
  window.addEventListener("pagehide", saveDraft);

  watchRuntimes(list => showRuntimes(list, runtime.value), controller.signal);
  // A reload of #/run/ID keeps the edits made to the loaded job rather than loading it again.
  if (rerunId && rerunOf === rerunId) showRerunNote(rerunId);
  else if (rerunId) loadJob(rerunId);

  function showRuntimes(list, selected) {
    const unusable = fillRuntimeSelect(runtime, list, selected);
    runtimeNote.hidden = !unusable.length;
    runtimeNote.textContent = unusable.length
      ? `Not ready, so not offered: ${unusable.map(r => `${r.name} (${r.state})`).join(", ")}. Jobs on them are refused until they work.`
      : "";
  }

  function showRerunNote(id) {
    rerunNote.hidden = false;
    rerunNote.replaceChildren(`Loaded from job `, h("a", { href: `#/jobs/${encodeURIComponent(id)}`, class: "mono" }, id), `. ${ENV_NOTE.replace("add them again", "add them again under Environment")}`);
  }

  function state() {
    return {
      rerunOf,
      language: language.value, runtime: runtime.value, script: editor.value,
      ...Object.fromEntries(LIMITS.map(([key]) => [key, limits[key].value])),
      stdin: stdin.value, args: args.value, env: env.value,
      network: network.checked, attempts: attempts.value, callback: callback.value, entrypoint: entrypoint.value,
    };
  }

  function saveDraft() {
    clearTimeout(saveTimer);
    try { sessionStorage.setItem(DRAFT, JSON.stringify(state())); } catch { /* storage full: the form still works */ }
  }

  async function loadJob(id) {
    let job;
    try {
      job = await get(`/api/v1/jobs/${encodeURIComponent(id)}`);
    } catch (error) {
      toast(`Could not load job ${id}: ${error.message}`);
      return;
    }
    if (job.script === null || job.script === undefined) {
      rerunNote.hidden = false;
      rerunNote.replaceChildren(`Job `, h("a", { href: `#/jobs/${encodeURIComponent(id)}`, class: "mono" }, id),
        " was submitted with files, which the server does not return: there is nothing to load, and the form is left as it was.");
      return;
    }
    language.value = job.language;
    editor.setLanguage(job.language);
    editor.value = job.script;
    showRuntimes(await runtimeList(), job.runtime);
    for (const [key, name] of LIMITS) limits[key].value = job.limits?.[name] ?? "";
    stdin.value = job.stdin ?? "";
    args.value = (job.args ?? []).join("\n");
    env.value = "";
    network.checked = Boolean(job.network);
    attempts.value = job.max_attempts > 1 ? job.max_attempts : "";
    callback.value = job.callback_url ?? "";
    entrypoint.value = job.entrypoint ?? "";
    rerunOf = id;
    saveDraft();
    showRerunNote(id);
  }

  function parseEnv(text) {
    const result = {};
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].replace(/\r$/, "");
      if (!line.trim()) continue;
      const eq = line.indexOf("=");
      if (eq <= 0) throw new Error(`Environment line ${i + 1} is not NAME=value.`);
      result[line.slice(0, eq).trim()] = line.slice(eq + 1);
    }
    return result;
  }

  async function submit() {
    if (runButton.disabled) return;
    saveDraft();
    const s = state();
    const body = { script: s.script, language: s.language, runtime: s.runtime, limits: {} };
    for (const [key, name] of LIMITS) if (s[key] !== "") body.limits[name] = Number(s[key]);
    if (s.stdin) body.stdin = s.stdin;
    if (s.args.trim()) body.args = s.args.replace(/\n$/, "").split("\n");
    try {
      const vars = parseEnv(s.env);
      if (Object.keys(vars).length) body.env = vars;
    } catch (error) {
      toast(error.message);
      env.focus();
      return;
    }
    if (s.network) body.network = true;
    if (s.attempts) body.max_attempts = Number(s.attempts);
    if (s.callback.trim()) body.callback_url = s.callback.trim();
    if (s.entrypoint.trim()) body.entrypoint = s.entrypoint.trim();
    runButton.disabled = true;
    runButton.textContent = "Submitting…";
    try {
      const job = await post("/api/v1/jobs", body);
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      toast(`Not submitted: ${error.message}`);
      runButton.disabled = false;
      runButton.textContent = "Run";
    }
  }

  return () => { controller.abort(); saveDraft(); window.removeEventListener("pagehide", saveDraft); };
}
