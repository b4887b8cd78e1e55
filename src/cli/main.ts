#!/usr/bin/env node
/**
 * The `consulkit` executable: picks the sub-command, turns bad arguments into exit code 2
 * with a pointer to `--help`, and any other failure into exit code 1.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../index.js';
import { EXIT, type CliCommand } from './common.js';
import { leaderCommand } from './leader.js';
import { lockCommand } from './lock.js';
import { runCommand } from './run.js';
import { statusCommand } from './status.js';
import { watchCommand } from './watch.js';

/** Every sub-command, in help order. */
export const COMMANDS: readonly CliCommand[] = [
  runCommand,
  lockCommand,
  leaderCommand,
  watchCommand,
  statusCommand,
];

/** The package version, read from package.json (one level above both src/ and dist/). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `Usage: consulkit <command> [options]

Service registration, locks, leader election, watches and status on HashiCorp Consul.

Commands:
${lines.join('\n')}

Every command takes --address, --token, the TLS flags --ca-file, --client-cert,
--client-key and --tls-server-name (or the CONSUL_HTTP_* environment),
--log-level, and --help with examples.

  consulkit --version     print the version
  consulkit <command> -h  help for a command

Examples:
  consulkit run --name web --port 8080 --health-http http://127.0.0.1:8080/health -- node server.js
  consulkit lock jobs/backup -- ./backup.sh
  consulkit leader --once --timeout 10s cron/report -- ./report.sh
  consulkit watch service web
  consulkit status jobs/
`;
}

/**
 * Runs the CLI with `argv` (the arguments after the executable) and resolves with the exit code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    process.stderr.write(`consulkit: unknown command '${name}'. Run 'consulkit --help' for the list.\n`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof ValidationError) {
      process.stderr.write(
        `consulkit ${name}: ${error.message}\nRun 'consulkit ${name} --help' for usage.\n`,
      );
      return EXIT.usage;
    }
    process.stderr.write(`consulkit ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now and the process ends on its own; a handle left open by mistake
// must not keep a cron job or a service manager waiting forever.
setTimeout(() => {
  process.stderr.write('consulkit: a handle was still open at exit; exiting anyway\n');
  process.exit(code);
}, 5_000).unref();
