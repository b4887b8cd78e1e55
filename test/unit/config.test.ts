import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAddress, resolveConfig } from '../../src/config.js';
import { ValidationError } from '../../src/errors.js';

describe('parseAddress', () => {
  it.each([
    ['127.0.0.1:8500', false, 'http://127.0.0.1:8500', undefined],
    ['127.0.0.1:8501', true, 'https://127.0.0.1:8501', undefined],
    ['http://consul.local:8500', false, 'http://consul.local:8500', undefined],
    ['http://consul.local:8501', true, 'https://consul.local:8501', undefined],
    ['https://10.0.0.5:8501/', false, 'https://10.0.0.5:8501', undefined],
    ['unix:///var/run/consul.sock', false, 'http://localhost', '/var/run/consul.sock'],
  ])('%s (ssl=%s)', (address, ssl, origin, socketPath) => {
    const parsed = parseAddress(address, ssl);
    expect(parsed.origin).toBe(origin);
    expect(parsed.socketPath).toBe(socketPath);
  });

  it.each(['ftp://x:1', 'unix://', 'http://', 'host:port/path', 'http://[bad'])('rejects %j', (address) => {
    expect(() => parseAddress(address, false)).toThrow(ValidationError);
  });
});

describe('resolveConfig', () => {
  it('defaults to http://127.0.0.1:8500 with an empty environment', () => {
    const config = resolveConfig({ env: {} });
    expect(config.origin).toBe('http://127.0.0.1:8500');
    expect(config.token).toBeUndefined();
    expect(config.tls).toBeUndefined();
    expect(config.consistency).toBe('default');
  });

  it('follows the Go client environment variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'consulkit-config-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA-PEM');
    const config = resolveConfig({
      env: {
        CONSUL_HTTP_ADDR: '10.1.2.3:8501',
        CONSUL_HTTP_SSL: 'true',
        CONSUL_HTTP_SSL_VERIFY: 'false',
        CONSUL_HTTP_TOKEN: 'env-token',
        CONSUL_CACERT: join(dir, 'ca.pem'),
        CONSUL_TLS_SERVER_NAME: 'server.dc1.consul',
      },
    });
    expect(config.origin).toBe('https://10.1.2.3:8501');
    expect(config.token).toBe('env-token');
    expect(config.tls).toEqual({ ca: 'CA-PEM', serverName: 'server.dc1.consul', rejectUnauthorized: false });
  });

  it('follows the Go client token precedence: file option, token option, env file, env token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'consulkit-token-'));
    writeFileSync(join(dir, 'env-token'), 'env-file-token\n');
    writeFileSync(join(dir, 'opt-token'), 'option-file-token\n');
    const envFile = join(dir, 'env-token');
    expect(resolveConfig({ env: { CONSUL_HTTP_TOKEN_FILE: envFile } }).token).toBe('env-file-token');
    expect(resolveConfig({ env: { CONSUL_HTTP_TOKEN_FILE: envFile, CONSUL_HTTP_TOKEN: 'env' } }).token).toBe(
      'env-file-token',
    );
    expect(resolveConfig({ env: { CONSUL_HTTP_TOKEN: 'env' } }).token).toBe('env');
    expect(resolveConfig({ token: 'explicit', env: { CONSUL_HTTP_TOKEN_FILE: envFile } }).token).toBe(
      'explicit',
    );
    expect(
      resolveConfig({
        token: 'explicit',
        tokenFile: join(dir, 'opt-token'),
        env: { CONSUL_HTTP_TOKEN: 'env' },
      }).token,
    ).toBe('option-file-token');
  });

  it('uses https for a bare host:port when TLS options are given', () => {
    const config = resolveConfig({
      address: '127.0.0.1:8501',
      tls: { serverName: 'server.dc1.consul' },
      env: {},
    });
    expect(config.origin).toBe('https://127.0.0.1:8501');
    expect(config.tls?.serverName).toBe('server.dc1.consul');
  });

  it('lets explicit options win over the environment', () => {
    const config = resolveConfig({
      address: 'http://127.0.0.1:9999',
      env: { CONSUL_HTTP_ADDR: '10.0.0.1:8500' },
    });
    expect(config.origin).toBe('http://127.0.0.1:9999');
  });

  it('rejects malformed settings before anything is sent', () => {
    expect(() => resolveConfig({ env: { CONSUL_HTTP_SSL: 'yes please' } })).toThrow(ValidationError);
    expect(() => resolveConfig({ env: { CONSUL_HTTP_TOKEN_FILE: '/nonexistent/token' } })).toThrow(
      /cannot read/,
    );
    expect(() => resolveConfig({ env: {}, timeout: 'forever' })).toThrow(ValidationError);
    expect(() => resolveConfig({ env: {}, connections: 0 })).toThrow(ValidationError);
    expect(() => resolveConfig({ env: {}, tls: { cert: 'only-cert' }, address: 'https://h:1' })).toThrow(
      /both cert and key/,
    );
  });
});
