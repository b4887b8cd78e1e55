import { describe, expect, it } from 'vitest';
import { autopilotHealthFromError } from '../../src/api/operator/operator.js';
import { ConsulHttpError, NotFoundError } from '../../src/errors.js';

// The shape Consul 1.8 sends with 429 when a server is unhealthy (same body as a 200).
const UNHEALTHY = JSON.stringify({
  Healthy: false,
  FailureTolerance: 0,
  Servers: [
    {
      ID: 'e349749b-3303-3ddf-959c-b5885a0e1f6e',
      Name: 'node1',
      Address: '127.0.0.1:8300',
      SerfStatus: 'alive',
      Version: '1.8.7',
      Leader: true,
      LastContact: '0s',
      LastTerm: 2,
      LastIndex: 46,
      Healthy: true,
      Voter: true,
      StableSince: '2026-01-01T00:00:00Z',
    },
    {
      ID: 'e36ee410-cc3c-0a0c-c724-63817ab30303',
      Name: 'node2',
      Address: '127.0.0.1:8205',
      SerfStatus: 'failed',
      Version: '1.8.7',
      Leader: false,
      LastContact: '12.5s',
      LastTerm: 2,
      LastIndex: 40,
      Healthy: false,
      Voter: true,
      StableSince: '2026-01-01T00:01:00Z',
    },
  ],
});

function httpError(status: number, body: string): ConsulHttpError {
  return new ConsulHttpError({ status, method: 'GET', path: '/v1/operator/autopilot/health', body });
}

describe('autopilotHealthFromError', () => {
  it('decodes the report that Consul sends with 429 for an unhealthy cluster', () => {
    const health = autopilotHealthFromError(httpError(429, UNHEALTHY));
    expect(health?.Healthy).toBe(false);
    expect(health?.Servers.map((server) => [server.Name, server.Healthy])).toEqual([
      ['node1', true],
      ['node2', false],
    ]);
  });

  it('leaves every other failure to be rethrown', () => {
    expect(autopilotHealthFromError(httpError(500, UNHEALTHY))).toBeUndefined();
    expect(autopilotHealthFromError(httpError(429, 'rate limit exceeded'))).toBeUndefined();
    expect(autopilotHealthFromError(httpError(429, UNHEALTHY.slice(0, 100)))).toBeUndefined();
    expect(autopilotHealthFromError(httpError(429, '{"Servers":[]}'))).toBeUndefined();
    expect(
      autopilotHealthFromError(new NotFoundError({ status: 404, method: 'GET', path: '/x', body: '' })),
    ).toBeUndefined();
    expect(autopilotHealthFromError(new Error('socket hang up'))).toBeUndefined();
  });
});
