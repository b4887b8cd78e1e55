/**
 * Renders a {@link StatusReport} as the plain-text tables of `consulkit status`.
 *
 * @packageDocumentation
 */
import { formatDuration } from '../index.js';
import type { Holder, StatusReport } from './status-collect.js';

/** Left-aligned columns separated by two spaces, with a header row. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Keeps a value on one short line: control characters escaped, long values cut. */
function shown(value: string, max = 40): string {
  const oneLine = JSON.stringify(value).slice(1, -1);
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

function age(holder: Holder | undefined): string {
  // Whole seconds: a table read by people; --json has the milliseconds.
  return holder?.ageMs === undefined ? '-' : formatDuration(Math.floor(holder.ageMs / 1000) * 1000);
}

function section(title: string, body: string | undefined): string {
  return `${title}\n${body ?? '  (none)'}\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** A titled, indented table, or `(none)` when there are no rows. */
function tableSection(
  title: string,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  return section(title, rows.length === 0 ? undefined : indent(table(header, rows)));
}

/** The report as text: locks, semaphores, elections, services. */
export function formatStatus(report: StatusReport, options: { services: boolean }): string {
  const parts: string[] = [];
  parts.push(
    tableSection(
      'LOCKS',
      ['KEY', 'HOLDER SESSION', 'NODE', 'VALUE', 'AGE', 'SESSION NAME'],
      report.locks.map((lock) => [
        lock.key,
        lock.holder?.session ?? '(free)',
        lock.holder?.node ?? '-',
        shown(lock.holder?.value ?? ''),
        age(lock.holder),
        shown(lock.holder?.sessionName ?? '', 100),
      ]),
    ),
  );
  parts.push(
    tableSection(
      'SEMAPHORES',
      ['PREFIX', 'HELD', 'HOLDER SESSION', 'NODE', 'VALUE', 'AGE'],
      report.semaphores.flatMap((semaphore) => {
        const held = semaphore.problem ?? `${semaphore.holders.length}/${semaphore.limit ?? '?'}`;
        if (semaphore.holders.length === 0) return [[semaphore.prefix, held, '-', '-', '', '-']];
        return semaphore.holders.map((holder, index) => [
          index === 0 ? semaphore.prefix : '',
          index === 0 ? held : '',
          holder.session,
          holder.node ?? '-',
          shown(holder.value),
          age(holder),
        ]);
      }),
    ),
  );
  parts.push(
    tableSection(
      'ELECTIONS',
      ['KEY', 'LEADER', 'NODE', 'SESSION', 'AGE'],
      report.elections.map((election) => [
        election.key,
        shown(election.leader?.value ?? '(none)'),
        election.leader?.node ?? '-',
        election.leader?.session ?? '-',
        age(election.leader),
      ]),
    ),
  );
  if (options.services) {
    parts.push(
      tableSection(
        'SERVICES',
        ['SERVICE', 'INSTANCES', 'PASSING', 'WARNING', 'CRITICAL'],
        report.services.map((service) => [
          service.name,
          String(service.instances.length),
          String(service.passing),
          String(service.warning),
          String(service.critical),
        ]),
      ),
    );
  }
  return parts.join('\n');
}
