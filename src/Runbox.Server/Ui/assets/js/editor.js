// The code editor: CodeMirror 5 (vendored) when it loaded, a plain textarea otherwise, behind one small interface.
const MODES = { python: "python", bash: "shell", node: "javascript" };

export function createEditor(parent, { value, language, onRun, onChange, label }) {
  const textarea = document.createElement("textarea");
  textarea.value = value;
  textarea.setAttribute("aria-label", label);
  textarea.id = "code";
  parent.append(textarea);
  if (!window.CodeMirror) {
    textarea.classList.add("fallback");
    if (onChange) textarea.addEventListener("input", () => onChange());
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
    // Tab indents; Escape leaves the editor for the next control, so keyboard users are never trapped.
    extraKeys: {
      "Ctrl-Enter": () => onRun(),
      "Cmd-Enter": () => onRun(),
      Tab: c => (c.somethingSelected() ? c.indentSelection("add") : c.replaceSelection(" ".repeat(c.getOption("indentUnit")), "end")),
      Esc: c => focusAfter(c.getWrapperElement()),
    },
  });
  // CodeMirror hides the textarea it replaces: the "Script" label (for="code") must point at the field it types into,
  // or clicking the label does nothing.
  textarea.removeAttribute("id");
  cm.getInputField().id = "code";
  if (onChange) cm.on("changes", () => onChange());
  return {
    get value() { return cm.getValue(); },
    set value(v) { cm.setValue(v); },
    setLanguage(lang) { cm.setOption("mode", MODES[lang] || "python"); cm.setOption("indentUnit", lang === "python" ? 4 : 2); },
    focus: () => cm.focus(),
  };
}

/** Moves focus to the first focusable control after `element` in document order. */
function focusAfter(element) {
  const controls = [...document.querySelectorAll("a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])")]
    .filter(el => !el.disabled && !element.contains(el) && el.offsetParent !== null);
  const next = controls.find(el => element.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
  next?.focus();
}
