/**
 * Options of `startCluster`, checked before anything starts, and which backend `auto` means.
 */
import { randomUUID } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { checkOptionKeys, optionKeys } from '../options-check.js';
import type { StartClusterOptions } from './cluster-types.js';

/** Every key of {@link StartClusterOptions}: `startCluster()` refuses any other. */
export const START_CLUSTER_OPTION_KEYS = optionKeys<StartClusterOptions>()([
  'servers',
  'clients',
  'backend',
  'acl',
  'raftMultiplier',
  'hcl',
  'log',
  'timeoutMs',
]);

/** Every key of the object form of {@link StartClusterOptions.acl}. */
const CLUSTER_ACL_OPTION_KEYS = optionKeys<{ masterToken?: string; defaultPolicy?: 'allow' | 'deny' }>()([
  'masterToken',
  'defaultPolicy',
]);

function integerOption(
  field: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `must be an integer from ${min} to ${max}, not ${String(value)}`);
  }
  return value;
}

/** Options after validation and defaults. */
export interface ResolvedClusterOptions {
  backend: 'auto' | 'binary' | 'container';
  servers: number;
  clients: number;
  raftMultiplier: number;
  timeoutMs: number;
  acl: { masterToken: string; defaultPolicy: 'allow' | 'deny' } | undefined;
}

/** Checks every option before anything starts. */
export function resolveClusterOptions(options: StartClusterOptions): ResolvedClusterOptions {
  // A misspelt `server: 1` would otherwise start the default three servers in silence.
  checkOptionKeys(options, START_CLUSTER_OPTION_KEYS, 'startCluster()');
  checkOptionKeys(options.acl, CLUSTER_ACL_OPTION_KEYS, 'startCluster()', 'acl');
  const backend = options.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'binary' && backend !== 'container') {
    throw new ValidationError('backend', `must be auto, binary or container, not ${String(backend)}`);
  }
  const acl = options.acl ?? false;
  if (acl !== false && acl !== true && (typeof acl !== 'object' || acl === null)) {
    throw new ValidationError('acl', 'must be a boolean or { masterToken?, defaultPolicy? }');
  }
  const aclObject = acl === true || acl === false ? {} : acl;
  if (
    aclObject.defaultPolicy !== undefined &&
    aclObject.defaultPolicy !== 'allow' &&
    aclObject.defaultPolicy !== 'deny'
  ) {
    throw new ValidationError(
      'acl.defaultPolicy',
      `must be allow or deny, not ${String(aclObject.defaultPolicy)}`,
    );
  }
  if (
    aclObject.masterToken !== undefined &&
    (typeof aclObject.masterToken !== 'string' || aclObject.masterToken === '')
  ) {
    throw new ValidationError('acl.masterToken', 'must be a non-empty string');
  }
  return {
    backend,
    servers: integerOption('servers', options.servers, 3, 1, 7),
    clients: integerOption('clients', options.clients, 2, 0, 16),
    raftMultiplier: integerOption('raftMultiplier', options.raftMultiplier, 1, 1, 10),
    timeoutMs: integerOption('timeoutMs', options.timeoutMs, 90_000, 1_000, 3_600_000),
    acl:
      acl === false
        ? undefined
        : {
            masterToken: aclObject.masterToken ?? randomUUID(),
            defaultPolicy: aclObject.defaultPolicy ?? 'deny',
          },
  };
}

/** Env var that sets what `backend: 'auto'` means (`binary` or `container`). */
export const CLUSTER_BACKEND_ENV = 'CONSULKIT_CLUSTER_BACKEND';

/**
 * The backend to start. `'auto'` means the binary backend unless env
 * `CONSULKIT_CLUSTER_BACKEND` says `container`; the container backend then needs a Docker
 * engine that answers, and its absence is an error rather than a silent switch.
 */
export async function chooseClusterBackend(
  backend: 'auto' | 'binary' | 'container',
  dockerAnswers: () => Promise<boolean>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<'binary' | 'container'> {
  let chosen: 'binary' | 'container';
  if (backend !== 'auto') {
    chosen = backend;
  } else {
    const fromEnv = env[CLUSTER_BACKEND_ENV];
    if (fromEnv !== undefined && fromEnv !== '' && fromEnv !== 'binary' && fromEnv !== 'container') {
      throw new ValidationError(CLUSTER_BACKEND_ENV, `must be binary or container, not ${fromEnv}`);
    }
    chosen = fromEnv === 'container' ? 'container' : 'binary';
  }
  if (chosen === 'container' && !(await dockerAnswers())) {
    throw new Error('consulkit/testing: the container backend needs a Docker engine, and none answers');
  }
  return chosen;
}
