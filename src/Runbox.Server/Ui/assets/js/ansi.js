// ANSI SGR colour codes to spans. Text is set with textContent and colours with classes or the CSSOM, so nothing a
// script prints is ever read as markup. Other escape sequences (cursor moves, titles) are dropped.
// A CSI sequence is ESC [, parameter bytes 0x30-0x3F (digits, ; and private marks such as ? in ESC[?25l, the cursor
// hiding progress bars do), intermediate bytes 0x20-0x2F, one final byte 0x40-0x7E (ECMA-48 5.4). Any other escape
// sequence is ESC, intermediate bytes, one final byte 0x30-0x7E (ECMA-35 13.2): the ESC ( B of `tput sgr0`, ESC 7 and
// ESC 8 (save and restore the cursor), ESC = and ESC > (keypad modes); these showed as a symbol and text.
const SEQUENCE = /\x1b\[([0-?]*)[ -\/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -\/]*[0-~]/g;
// An escape sequence still open at the end of a piece: the server cuts a long line into pieces at a byte count, which
// can fall inside one.
const OPEN_SEQUENCE = /\x1b(?:\[[0-?]*[ -\/]*|\][^\x07\x1b]*\x1b?|[ -\/]+)?$/;
// Only plain SGR parameters set colours: ESC[?...m and the like are other commands.
const SGR_PARAMETERS = /^[0-9;]*$/;
// Control characters a terminal acts on rather than shows (a bell, a backspace): the browser drew them as symbols.
// Tab stays; ESC starts the sequences above; CR is handled apart.
const CONTROLS = /[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;

export class AnsiState {
  constructor() {
    this.reset();
    this.held = "";
  }

  reset() { this.fg = null; this.bg = null; this.bold = false; this.dim = false; this.italic = false; this.underline = false; }

  apply(codes) {
    const list = codes === "" ? [0] : codes.split(";").map(c => Number(c) || 0);
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      if (c === 0) this.reset();
      else if (c === 1) this.bold = true;
      else if (c === 2) this.dim = true;
      else if (c === 3) this.italic = true;
      else if (c === 4) this.underline = true;
      else if (c === 22) { this.bold = false; this.dim = false; }
      else if (c === 23) this.italic = false;
      else if (c === 24) this.underline = false;
      else if (c >= 30 && c <= 37) this.fg = c - 30;
      else if (c >= 90 && c <= 97) this.fg = c - 90 + 8;
      else if (c === 39) this.fg = null;
      else if (c >= 40 && c <= 47) this.bg = c - 40;
      else if (c >= 100 && c <= 107) this.bg = c - 100;
      else if (c === 49) this.bg = null;
      else if ((c === 38 || c === 48) && list[i + 1] === 5) { this.set(c, color256(list[i + 2])); i += 2; }
      else if ((c === 38 || c === 48) && list[i + 1] === 2) { this.set(c, `rgb(${list[i + 2] | 0},${list[i + 3] | 0},${list[i + 4] | 0})`); i += 4; }
    }
  }

  set(code, color) { if (code === 38) this.fg = color; else this.bg = color; }

  span(text) {
    const span = document.createElement("span");
    span.textContent = text;
    const classes = [];
    if (typeof this.fg === "number") classes.push(`fg-${this.fg}`); else if (this.fg) span.style.color = this.fg;
    if (typeof this.bg === "number") classes.push(`bg-${this.bg}`); else if (this.bg) span.style.backgroundColor = this.bg;
    if (this.bold) classes.push("ansi-bold");
    if (this.dim) classes.push("ansi-dim");
    if (this.italic) classes.push("ansi-italic");
    if (this.underline) classes.push("ansi-underline");
    if (classes.length) span.className = classes.join(" ");
    return span;
  }
}

/**
 * Appends the text of one line to `parent`, coloured as its escape codes say; the state carries to the next line.
 * With `more`, the text is a piece the next one continues: an escape sequence left open at its end waits for the rest.
 */
export function renderAnsi(parent, text, state, more = false) {
  text = joinPieces(text, state, more);
  // A CRLF line ending (or a progress bar's last CR) ends the line: it does not start it over.
  if (!more) text = text.replace(/\r+$/, "");
  // A carriage return starts the line over, as a progress bar means it to: only the text after the last one shows,
  // in the colours set before it. Earlier pieces of the line were already appended to `parent`, so they go too.
  const cr = text.lastIndexOf("\r");
  if (cr >= 0) {
    for (const match of text.slice(0, cr).matchAll(SEQUENCE)) {
      if (match[2] === "m" && SGR_PARAMETERS.test(match[1])) state.apply(match[1]);
    }
    parent.replaceChildren();
    text = text.slice(cr + 1);
  }
  let last = 0;
  const add = plain => { plain = plain.replace(CONTROLS, ""); if (plain) parent.append(state.span(plain)); };
  for (const match of text.matchAll(SEQUENCE)) {
    if (match.index > last) add(text.slice(last, match.index));
    if (match[2] === "m" && SGR_PARAMETERS.test(match[1])) state.apply(match[1]);
    last = match.index + match[0].length;
  }
  if (last < text.length) add(text.slice(last));
}

/**
 * What renderAnsi does to `state` for a line that is not shown (the output view keeps only the last lines): the colours
 * it sets carry to the lines that are, and an escape sequence left open waits for its rest. Nothing is built.
 */
export function advanceAnsi(text, state, more = false) {
  text = joinPieces(text, state, more);
  if (!text.includes("\x1b")) return;
  for (const match of text.matchAll(SEQUENCE)) {
    if (match[2] === "m" && SGR_PARAMETERS.test(match[1])) state.apply(match[1]);
  }
}

/**
 * The piece with what the stream's previous piece held back before it; with `more`, what it leaves unfinished (an
 * escape sequence open at its end, or a CR that may be a CRLF's whose LF comes next) is held back for the next piece.
 */
function joinPieces(text, state, more) {
  text = state.held + text;
  state.held = "";
  if (!more) return text;
  const open = OPEN_SEQUENCE.exec(text);
  if (open) {
    state.held = open[0];
    return text.slice(0, open.index);
  }
  if (text.endsWith("\r")) {
    state.held = "\r";
    return text.slice(0, -1);
  }
  return text;
}

function color256(n) {
  n = Number(n) || 0;
  if (n < 16) return n;
  if (n >= 232) { const v = 8 + (n - 232) * 10; return `rgb(${v},${v},${v})`; }
  n -= 16;
  const step = v => (v === 0 ? 0 : 55 + v * 40);
  return `rgb(${step(Math.floor(n / 36))},${step(Math.floor(n / 6) % 6)},${step(n % 6)})`;
}
