/**
 * Plain-text tables for the terminal.
 */
import type { BenchRow, Cell, ScenarioResult } from '../types.js';
import { round } from './measure.js';

function cell(value: Cell | undefined): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return String(round(value));
  return value;
}

/** Formats rows under a header made of `subject` and the union of their columns. */
export function formatRows(rows: readonly BenchRow[]): string {
  const columns: string[] = [];
  for (const row of rows)
    for (const name of Object.keys(row.values)) if (!columns.includes(name)) columns.push(name);
  const header = ['subject', ...columns];
  const body = rows.map((row) => [row.subject, ...columns.map((name) => cell(row.values[name]))]);
  const widths = header.map((name, i) =>
    Math.max(name.length, ...body.map((line) => (line[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((text, i) => (i === 0 ? text.padEnd(widths[i] ?? 0) : text.padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join('\n');
}

/** Formats a scenario's table, ratios, goals and notes. */
export function formatResult(title: string, result: ScenarioResult): string {
  const parts = [`## ${title}`, formatRows(result.rows)];
  const ratios = Object.entries(result.ratios ?? {});
  if (ratios.length > 0)
    parts.push(ratios.map(([name, value]) => `  ratio ${name}: ${round(value)}×`).join('\n'));
  if (result.goals?.length) {
    parts.push(
      result.goals
        .map((goal) => `  goal ${goal.met ? 'MET    ' : 'NOT MET'} ${goal.goal} (${goal.actual})`)
        .join('\n'),
    );
  }
  if (result.notes?.length) parts.push(result.notes.map((note) => `  note: ${note}`).join('\n'));
  return parts.join('\n');
}
