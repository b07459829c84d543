// A job's output in its terminal element: one element per line the job wrote, the pieces of a line joined.
import { AnsiState, renderAnsi } from "./ansi.js";
import { h } from "./dom.js";

export class OutputView {
  constructor(terminal) {
    this.terminal = terminal;
    this.pending = [];
    this.frame = 0;
    this.ansi = { stdout: new AnsiState(), stderr: new AnsiState() };
    // Per stream, the element of the line still being written: its last piece came with `ended: false` (a line over
    // the server's line cap, or one left without a newline), and the stream's next piece goes on in it, not below.
    this.open = { stdout: null, stderr: null };
  }

  /**
   * Lines are queued and added once per animation frame: reading the scroll position forces a layout, and doing
   * that for every line made a long output quadratic (20,000 lines took minutes).
   */
  add(line) {
    this.pending.push(line);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (!this.pending.length) return;
    const terminal = this.terminal;
    const stick = terminal.scrollTop + terminal.clientHeight >= terminal.scrollHeight - 8;
    const batch = document.createDocumentFragment();
    for (const line of this.pending) {
      const stream = line.stream === "stderr" ? "stderr" : "stdout";
      const more = line.ended === false;
      // An open line is in the page already or in this batch: appending to it costs the piece, never the whole line.
      let el = this.open[stream];
      if (!el) {
        el = h("span", { class: `line ${stream}`, "data-seq": line.seq });
        batch.append(el);
      }
      renderAnsi(el, line.text, this.ansi[stream], more);
      this.open[stream] = more ? el : null;
    }
    this.pending = [];
    terminal.append(batch);
    if (stick) terminal.scrollTop = terminal.scrollHeight;
  }

  get empty() { return !this.terminal.childElementCount; }

  dispose() { cancelAnimationFrame(this.frame); }
}
