/**
 * The live progress line on stderr: redrawn in place every second on a terminal; on a pipe or file, a plain line
 * every `plainEverySeconds` instead, so a log is not flooded.
 */
export class ProgressLine {
  #timer?: NodeJS.Timeout;
  #ticks = 0;
  #drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly render: () => string,
    private readonly plainEverySeconds = 5,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => this.#draw(), 1000);
  }

  #draw(): void {
    this.#ticks++;
    const line = this.render();
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${line.slice(0, (this.stream.columns || 200) - 1)}`);
      this.#drawn = true;
    } else if (this.#ticks % this.plainEverySeconds === 0) this.stream.write(`${line}\n`);
  }

  /** Stops redrawing and clears the line, so what is printed next starts at column 0. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#drawn) this.stream.write('\r\x1b[2K');
    this.#drawn = false;
  }
}
