// A job's output in its terminal element: one element per line the job wrote, the pieces of a line joined. Only the
// last lines are kept on the page; the whole output is the job's /stdout and /stderr download.
import { AnsiState, advanceAnsi, renderAnsi } from "./ansi.js";
import { h } from "./dom.js";

// A job may print 64 MiB (millions of lines): kept whole, the page grew past a million elements and hundreds of MB,
// and froze for seconds at a time. These bound what the view holds, whatever the job printed.
export const MAX_LINES = 10_000;
const MAX_CHARS = 2_000_000;
// One line of megabytes (a minified blob, a base64 dump) is shown up to here; its rest is in the download.
export const LINE_CHARS = 1_048_576;
// Pieces added per animation frame, so a replay of a long output never holds the page for long.
const CHUNK = 1000;

export class OutputView {
  /**
   * `onTrim({ stdout, stderr })` hears how many lines of each stream are no longer shown, whenever that grows;
   * `onHold(holding)` hears when new output starts or stops waiting because the user scrolled up to read.
   */
  constructor(terminal, { onTrim, onHold } = {}) {
    this.terminal = terminal;
    this.onTrim = onTrim;
    this.onHold = onHold;
    // Scrolled away from the end, the user is reading: trimming took the lines they read from under them (the view
    // slid on by itself once the oldest line went). New output waits until they come back to the end.
    this.holding = false;
    this.gap = false;
    terminal.addEventListener("scroll", () => { if (this.holding && this.atEnd) this.flush(); });
    this.pending = [];
    this.frame = 0;
    this.ansi = { stdout: new AnsiState(), stderr: new AnsiState() };
    // Per stream, the element of the line still being written: its last piece came with `ended: false` (a line over
    // the server's line cap, or one left without a newline), and the stream's next piece goes on in it, not below.
    this.open = { stdout: null, stderr: null };
    // Per stream, whether the line being written was already counted (shown, or counted as dropped).
    this.partial = { stdout: false, stderr: false };
    this.dropped = { stdout: 0, stderr: 0 };
    this.sizes = new WeakMap();
    this.lines = 0;
    this.chars = 0;
  }

  /**
   * Lines are queued and added once per animation frame: reading the scroll position forces a layout, and doing
   * that for every line made a long output quadratic (20,000 lines took minutes).
   */
  add(line) {
    this.pending.push(line);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  /** Adds up to CHUNK queued pieces (all of them with `all`, as the job ends) and asks for a frame for the rest. */
  flush(all = false) {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (!this.pending.length) return;
    const before = this.dropped.stdout + this.dropped.stderr;
    // Pieces older than the last MAX_LINES would be built only to be taken off again: only their colours are kept.
    if (this.pending.length > MAX_LINES) {
      this.skip(this.pending.splice(0, this.pending.length - MAX_LINES));
      if (this.lines) this.gap = true;
    }
    const terminal = this.terminal;
    const stick = this.atEnd;
    // Appended lines go below what the user reads; trimming would take lines from above it. Held while the view is
    // full, until the user scrolls to the end or the job ends.
    const hold = !all && !stick && this.lines + this.pending.length > MAX_LINES;
    if (hold !== this.holding) { this.holding = hold; this.onHold?.(hold); }
    if (hold) {
      if (this.dropped.stdout + this.dropped.stderr !== before) this.onTrim?.({ ...this.dropped });
      return;
    }
    // Lines were skipped between the ones shown and the ones to come: the view starts again from the newest, so
    // what it shows is always the output's last lines, in one piece.
    if (this.gap) {
      this.gap = false;
      while (this.lines) this.drop(terminal.firstElementChild);
    }
    const batch = document.createDocumentFragment();
    for (const line of this.pending.splice(0, all ? this.pending.length : CHUNK)) this.render(line, batch);
    terminal.append(batch);
    this.trim();
    if (stick) terminal.scrollTop = terminal.scrollHeight;
    if (this.pending.length) this.frame = requestAnimationFrame(() => this.flush());
    if (this.dropped.stdout + this.dropped.stderr !== before) this.onTrim?.({ ...this.dropped });
  }

  render(line, batch) {
    const stream = line.stream === "stderr" ? "stderr" : "stdout";
    const more = line.ended === false;
    // An open line is in the page already or in this batch: appending to it costs the piece, never the whole line.
    let el = this.open[stream];
    if (!el) {
      el = h("span", { class: `line ${stream}`, "data-seq": line.seq });
      batch.append(el);
      this.lines++;
      this.sizes.set(el, 0);
    }
    const size = this.sizes.get(el);
    let next;
    if (size >= LINE_CHARS) {
      advanceAnsi(line.text, this.ansi[stream], more);
      if (!el.dataset.cut) {
        el.dataset.cut = "true";
        el.append(h("span", { class: "note cut" }, ` … the rest of this line is not shown here: download ${stream} for all of it`));
      }
      next = size;
    } else {
      renderAnsi(el, line.text, this.ansi[stream], more);
      // A carriage return starts the line over (renderAnsi empties it): only what follows the last one is kept.
      const cr = line.text.lastIndexOf("\r", line.text.length - 2);
      next = cr >= 0 ? line.text.length - cr : size + line.text.length;
    }
    this.sizes.set(el, next);
    this.chars += next - size;
    this.open[stream] = more ? el : null;
    this.partial[stream] = more;
  }

  skip(lines) {
    for (const line of lines) {
      const stream = line.stream === "stderr" ? "stderr" : "stdout";
      const more = line.ended === false;
      if (!this.partial[stream]) this.dropped[stream]++;
      advanceAnsi(line.text, this.ansi[stream], more);
      this.open[stream] = null;
      this.partial[stream] = more;
    }
  }

  /** Takes the oldest lines off while the view holds more than it may; the newest line always stays. */
  trim() {
    while ((this.lines > MAX_LINES || this.chars > MAX_CHARS) && this.lines > 1) {
      this.drop(this.terminal.firstElementChild);
    }
  }

  drop(el) {
    const stream = el.classList.contains("stderr") ? "stderr" : "stdout";
    this.dropped[stream]++;
    this.chars -= this.sizes.get(el) ?? 0;
    this.lines--;
    if (this.open[stream] === el) this.open[stream] = null;
    el.remove();
  }

  /** Shows the newest output again: scrolled to the end, held lines are added. */
  follow() {
    this.terminal.scrollTop = this.terminal.scrollHeight;
    this.flush();
  }

  /**
   * Appends a note after the output (no output, truncated), keeping the end in view when it was: appended as plain
   * children, the "Output truncated" marker of a job followed to its end stayed below the view.
   */
  note(el) {
    const stick = this.atEnd;
    this.terminal.append(el);
    if (stick) this.terminal.scrollTop = this.terminal.scrollHeight;
  }

  get atEnd() { return this.terminal.scrollTop + this.terminal.clientHeight >= this.terminal.scrollHeight - 8; }

  get empty() { return !this.terminal.childElementCount && !this.dropped.stdout && !this.dropped.stderr; }

  dispose() { cancelAnimationFrame(this.frame); }
}
