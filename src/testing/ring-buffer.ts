/**
 * Keeps the last N lines of an agent's output so that a failed start can show why,
 * without holding an unbounded log in memory for long-running tests.
 */
export class LineRing {
  private readonly lines: string[] = [];
  private partial = '';

  /** @param capacity how many complete lines to keep. */
  constructor(private readonly capacity = 200) {}

  /** Appends a chunk of output; incomplete trailing lines are kept until their newline arrives. */
  push(chunk: string | Buffer): void {
    const text = this.partial + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
  }

  /** Adds one complete line (e.g. a marker written by the harness itself). */
  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  /** The last `count` lines (including an unterminated last line), joined with newlines. */
  tail(count = 40): string {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    return all.slice(-count).join('\n');
  }

  /** Whether any kept line matches (used to detect port clashes worth a retry). */
  matches(pattern: RegExp): boolean {
    return this.lines.some((line) => pattern.test(line)) || pattern.test(this.partial);
  }
}
