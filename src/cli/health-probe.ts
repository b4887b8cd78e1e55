/**
 * Health probes for `consulkit run`: an HTTP GET or a shell command, mapped to a check status
 * the way Consul's own HTTP and script checks map them.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { ValidationError, type HealthReport } from '../index.js';

/** Consul keeps at most this much of a check's output by default (`check_output_max_size`). */
const MAX_NOTE = 4096;

/** A probe: resolves with the status to report; `signal` aborts when its time is up. */
export type HealthProbe = (signal: AbortSignal) => Promise<HealthReport>;

/**
 * An HTTP probe: 2xx is passing, 429 is warning, anything else (or no answer) is critical,
 * as for Consul's HTTP checks.
 *
 * @throws ValidationError when `url` is not an http(s) URL
 */
export function httpProbe(url: string): HealthProbe {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError('--health-http', `'${url}' is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ValidationError('--health-http', `'${url}' must be an http:// or https:// URL`);
  return async (signal) => {
    try {
      const response = await request(parsed, { method: 'GET', signal });
      const body = (await response.body.text()).slice(0, MAX_NOTE);
      const note = `HTTP GET ${url}: ${response.statusCode}${body ? ` ${body}` : ''}`;
      if (response.statusCode >= 200 && response.statusCode < 300) return { status: 'passing', note };
      if (response.statusCode === 429) return { status: 'warning', note };
      return { status: 'critical', note };
    } catch (error) {
      return {
        status: 'critical',
        note: `HTTP GET ${url}: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  };
}

/**
 * A command probe run with `sh -c`: exit 0 is passing, 1 is warning, anything else is
 * critical, as for Consul's script checks; its output becomes the note.
 *
 * @throws ValidationError for an empty command
 */
export function commandProbe(command: string): HealthProbe {
  if (command.trim() === '') throw new ValidationError('--health-cmd', 'must not be empty');
  return (signal) =>
    new Promise<HealthReport>((resolve) => {
      const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], signal });
      let output = '';
      const collect = (chunk: Buffer): void => {
        if (output.length < MAX_NOTE) output += chunk.toString('utf8');
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('error', (error) => {
        resolve({ status: 'critical', note: `${command}: ${error.message}` });
      });
      child.once('close', (code, killedBy) => {
        const note = output.slice(0, MAX_NOTE);
        if (code === 0) resolve({ status: 'passing', note });
        else if (code === 1) resolve({ status: 'warning', note });
        else
          resolve({
            status: 'critical',
            note: note || `${command}: ${code === null ? `killed by ${killedBy}` : `exit ${code}`}`,
          });
      });
    });
}
