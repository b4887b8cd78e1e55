import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul } from '../../src/index.js';
import { quietLogger } from '../support/clients.js';
import { startRecordingServer, type RecordingServer } from '../support/recording-server.js';

// Consul 1.8.7 has no transfer-leader endpoint (it arrived in 1.15), so the request is checked
// against the documented wire format: POST /v1/operator/raft/transfer-leader[?id=<raft id>],
// answered with {"Success": true}.
describe('operator.raftTransferLeader wire format', () => {
  let server: RecordingServer;
  let consul: Consul;

  beforeAll(async () => {
    server = await startRecordingServer({ body: '{"Success":true}' });
    consul = new Consul({ address: server.url, logger: quietLogger, env: {}, token: 'secret' });
  });

  afterAll(async () => {
    await consul?.close();
    await server?.close();
  });

  it('sends POST with the target id and reads Success', async () => {
    expect(await consul.operator.raftTransferLeader({ id: 'e349749b-3303-3ddf-959c-b5885a0e1f6e' })).toBe(
      true,
    );
    expect(server.requests.at(-1)).toMatchObject({
      method: 'POST',
      url: '/v1/operator/raft/transfer-leader?id=e349749b-3303-3ddf-959c-b5885a0e1f6e',
      headers: { 'x-consul-token': 'secret' },
    });
  });

  it('lets Consul pick the target when no id is given, and reports a refusal', async () => {
    server.respondWith({ body: '{"Success":false}' });
    expect(await consul.operator.raftTransferLeader()).toBe(false);
    expect(server.requests.at(-1)?.url).toBe('/v1/operator/raft/transfer-leader');
  });
});
