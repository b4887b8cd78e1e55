/**
 * Every command answers `--help` (and `-h`) with its own help text and exit code 0, before
 * it reads any other argument or contacts Consul.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { leaderCommand } from '../../src/cli/leader.js';
import { lockCommand } from '../../src/cli/lock.js';
import { runCommand } from '../../src/cli/run.js';
import { statusCommand } from '../../src/cli/status.js';
import { watchCommand } from '../../src/cli/watch.js';

afterEach(() => vi.restoreAllMocks());

describe('consulkit <command> --help', () => {
  for (const command of [runCommand, lockCommand, leaderCommand, watchCommand, statusCommand]) {
    for (const flag of ['--help', '-h']) {
      it(`${command.name} ${flag} prints its help and exits 0`, async () => {
        const written: string[] = [];
        vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
          written.push(String(chunk));
          return true;
        });
        // An address nothing listens on: help must not need Consul.
        const code = await command.run([flag, '--address', 'http://127.0.0.1:1']);
        expect(code).toBe(0);
        expect(written.join('')).toBe(command.help);
        expect(command.help).toContain(`consulkit ${command.name}`);
      });
    }
  }
});
