// The code editor: CodeMirror 5 (vendored) when it loaded, a plain textarea otherwise, behind one small interface.
const MODES = { python: "python", bash: "shell", node: "javascript" };

export function createEditor(parent, { value, language, onRun, label }) {
  const textarea = document.createElement("textarea");
  textarea.value = value;
  textarea.setAttribute("aria-label", label);
  textarea.id = "code";
  parent.append(textarea);
  if (!window.CodeMirror) {
    textarea.classList.add("fallback");
    textarea.addEventListener("keydown", e => { if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); onRun(); } });
    return { get value() { return textarea.value; }, set value(v) { textarea.value = v; }, setLanguage() {}, focus: () => textarea.focus() };
  }
  const cm = window.CodeMirror.fromTextArea(textarea, {
    mode: MODES[language] || "python",
    lineNumbers: true,
    indentUnit: 4,
    matchBrackets: true,
    autoCloseBrackets: true,
    screenReaderLabel: label,
    // Tab indents; Escape then Tab leaves the editor, so keyboard users are never trapped.
    extraKeys: {
      "Ctrl-Enter": () => onRun(),
      "Cmd-Enter": () => onRun(),
      Tab: c => (c.somethingSelected() ? c.indentSelection("add") : c.replaceSelection(" ".repeat(c.getOption("indentUnit")), "end")),
      Esc: c => c.getInputField().blur(),
    },
  });
  return {
    get value() { return cm.getValue(); },
    set value(v) { cm.setValue(v); },
    setLanguage(lang) { cm.setOption("mode", MODES[lang] || "python"); cm.setOption("indentUnit", lang === "python" ? 4 : 2); },
    focus: () => cm.focus(),
  };
}
