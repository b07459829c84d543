// Run: write a script, pick language, runtime and limits, run it (button or Ctrl+Enter) and go to its job page.
// The form is kept in sessionStorage (runbox.draft) as it is edited, so a reload or a visit to another page loses nothing.
import { get, post } from "../api.js";
import { field, h, toast } from "../dom.js";
import { createEditor } from "../editor.js";
import { fillSelect, runtimeNames } from "../runtimes-list.js";

const DRAFT = "runbox.draft";
const SAMPLES = {
  python: 'import time\n\nfor i in range(5):\n    print(f"\\x1b[32mtick\\x1b[0m {i}", flush=True)\n    time.sleep(0.5)\nprint("done")\n',
  bash: 'for i in 1 2 3; do\n  echo "line $i"\n  sleep 0.5\ndone\necho "to stderr" >&2\n',
  node: 'for (let i = 0; i < 3; i++) console.log(`line ${i}`);\nconsole.error("to stderr");\n',
};

function readDraft() {
  try { return JSON.parse(sessionStorage.getItem(DRAFT) || "null"); } catch { return null; }
}

export function render(main, [rerunId]) {
  const draft = readDraft() || { language: "python", runtime: "default", script: SAMPLES.python };
  const language = h("select", { id: "language" }, ["python", "bash", "node"].map(l => new Option(l, l, false, l === draft.language)));
  const runtime = h("select", { id: "runtime" }, new Option(draft.runtime || "default"));
  const timeout = h("input", { id: "timeout", type: "number", min: "0.1", step: "any", inputmode: "decimal", placeholder: "server default", value: draft.timeout ?? "" });
  const memory = h("input", { id: "memory", type: "number", min: "1", step: "1", inputmode: "numeric", placeholder: "server default", value: draft.memory ?? "" });
  const cpu = h("input", { id: "cpu", type: "number", min: "0.1", step: "any", inputmode: "decimal", placeholder: "server default", value: draft.cpu ?? "" });
  const stdin = h("textarea", { id: "stdin", rows: 3, placeholder: "Text given to the script on standard input" }, draft.stdin ?? "");
  const args = h("textarea", { id: "args", rows: 3, placeholder: "One argument per line" }, draft.args ?? "");
  const runButton = h("button", { type: "submit", class: "primary", id: "run" }, "Run");
  const editorHost = h("div", { class: "editor" });

  const form = h("form", { class: "run", onsubmit: e => { e.preventDefault(); submit(); } },
    h("h1", {}, "Run a script"),
    h("div", { class: "panel" },
      h("div", { class: "grid" }, field("Language", language), field("Runtime", runtime)),
      h("div", { class: "field", style: undefined },
        h("label", { for: "code" }, "Script"),
        editorHost)),
    h("div", { class: "panel" },
      h("h2", {}, "Limits"),
      h("div", { class: "grid" }, field("Timeout (seconds)", timeout), field("Memory (MB)", memory), field("CPU time (seconds)", cpu))),
    h("div", { class: "panel grid" }, field("Standard input", stdin), field("Arguments", args)),
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

  runtimeNames().then(names => fillSelect(runtime, names, runtime.value));
  // A reload of #/run/ID keeps the edits made to the loaded job rather than loading it again.
  if (rerunId && rerunOf !== rerunId) loadJob(rerunId);

  function state() {
    return {
      rerunOf,
      language: language.value, runtime: runtime.value, script: editor.value,
      timeout: timeout.value, memory: memory.value, cpu: cpu.value, stdin: stdin.value, args: args.value,
    };
  }

  function saveDraft() {
    clearTimeout(saveTimer);
    try { sessionStorage.setItem(DRAFT, JSON.stringify(state())); } catch { /* storage full: the form still works */ }
  }

  async function loadJob(id) {
    try {
      const job = await get(`/api/v1/jobs/${encodeURIComponent(id)}`);
      language.value = job.language;
      editor.setLanguage(job.language);
      editor.value = job.script ?? "";
      fillSelect(runtime, [...new Set([job.runtime, ...[...runtime.options].map(o => o.value)])], job.runtime);
      timeout.value = job.limits?.timeout_seconds ?? "";
      memory.value = job.limits?.memory_mb ?? "";
      cpu.value = job.limits?.cpu_seconds ?? "";
      stdin.value = job.stdin ?? "";
      args.value = (job.args ?? []).join("\n");
      rerunOf = id;
      saveDraft();
    } catch (error) {
      toast(`Could not load job ${id}: ${error.message}`);
    }
  }

  async function submit() {
    if (runButton.disabled) return;
    saveDraft();
    const s = state();
    const body = { script: s.script, language: s.language, runtime: s.runtime, limits: {} };
    if (s.timeout) body.limits.timeout_seconds = Number(s.timeout);
    if (s.memory) body.limits.memory_mb = Number(s.memory);
    if (s.cpu) body.limits.cpu_seconds = Number(s.cpu);
    if (s.stdin) body.stdin = s.stdin;
    if (s.args.trim()) body.args = s.args.replace(/\n$/, "").split("\n");
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

  return () => { saveDraft(); window.removeEventListener("pagehide", saveDraft); };
}
