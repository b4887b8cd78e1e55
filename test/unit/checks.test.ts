import { describe, expect, it } from 'vitest';
import { Check, ValidationError, type AgentServiceCheck } from '../../src/index.js';
import { checkKind, normalizeServiceCheck } from '../../src/api/checks.js';
import { serviceRegistrationBody } from '../../src/api/agent/agent-services.js';
import { checkRegistrationBody } from '../../src/api/agent/agent-checks.js';
import { catalogRegistrationBody } from '../../src/api/catalog/catalog.js';
import { nodeMetaQuery, tagQuery } from '../../src/api/catalog/catalog-query.js';
import { validationField } from '../support/validation.js';

describe('Check builders', () => {
  it('ttl: formats the TTL as a Consul duration and carries common options', () => {
    expect(Check.ttl('15s')).toEqual({ TTL: '15s' });
    expect(Check.ttl(90_000)).toEqual({ TTL: '90s' });
    expect(
      Check.ttl(1500, { name: 'hb', notes: 'n', status: 'passing', deregisterCriticalServiceAfter: '1m' }),
    ).toEqual({
      TTL: '1500ms',
      Name: 'hb',
      Notes: 'n',
      Status: 'passing',
      DeregisterCriticalServiceAfter: '60s',
    });
  });

  it('ttl: rejects a zero, negative or malformed TTL and a bad status', () => {
    expect(validationField(() => Check.ttl(0))).toBe('Check.ttl.TTL');
    expect(validationField(() => Check.ttl(-5))).toBe('Check.ttl.TTL');
    expect(validationField(() => Check.ttl('15 seconds'))).toBe('Check.ttl.TTL');
    expect(validationField(() => Check.ttl('15s', { status: 'ok' as never }))).toBe('Check.ttl.Status');
  });

  it('http: builds an HTTP check with interval, timeout, method, headers and TLS options', () => {
    expect(
      Check.http('https://127.0.0.1:8443/health', '10s', {
        timeout: 2000,
        method: 'POST',
        header: { 'X-A': 'one', 'X-B': ['two', 'three'] },
        body: '{}',
        tlsSkipVerify: true,
        deregisterCriticalServiceAfter: '5m',
        successBeforePassing: 2,
        failuresBeforeCritical: 3,
      }),
    ).toEqual({
      HTTP: 'https://127.0.0.1:8443/health',
      Interval: '10s',
      Timeout: '2s',
      Method: 'POST',
      Header: { 'X-A': ['one'], 'X-B': ['two', 'three'] },
      Body: '{}',
      TLSSkipVerify: true,
      DeregisterCriticalServiceAfter: '300s',
      SuccessBeforePassing: 2,
      FailuresBeforeCritical: 3,
    });
  });

  it('http: rejects a non-URL, a non-http scheme, a missing interval and a bad timeout', () => {
    expect(validationField(() => Check.http('localhost/health', '10s'))).toBe('Check.http.HTTP');
    expect(validationField(() => Check.http('ftp://x/y', '10s'))).toBe('Check.http.HTTP');
    expect(validationField(() => Check.http('http://x/y', 0))).toBe('Check.http.Interval');
    expect(validationField(() => Check.http('http://x/y', '10s', { timeout: 'soon' }))).toBe(
      'Check.http.Timeout',
    );
    expect(validationField(() => Check.http('http://x/y', '10s', { successBeforePassing: -1 }))).toBe(
      'Check.http.SuccessBeforePassing',
    );
  });

  it('tcp: requires host:port with a valid port (IPv6 in brackets)', () => {
    expect(Check.tcp('db.local:5432', '5s')).toEqual({ TCP: 'db.local:5432', Interval: '5s' });
    expect(Check.tcp('[::1]:8080', '5s', { timeout: '1s' })).toEqual({
      TCP: '[::1]:8080',
      Interval: '5s',
      Timeout: '1s',
    });
    expect(validationField(() => Check.tcp('db.local', '5s'))).toBe('Check.tcp.TCP');
    expect(validationField(() => Check.tcp('db.local:70000', '5s'))).toBe('Check.tcp.TCP');
    expect(validationField(() => Check.tcp('::1:8080', '5s'))).toBe('Check.tcp.TCP');
    expect(validationField(() => Check.tcp('', '5s'))).toBe('Check.tcp.TCP');
  });

  it('script: copies the arguments and requires a non-empty command', () => {
    const args = ['/usr/bin/check', '--fast'];
    const check = Check.script(args, '30s');
    expect(check).toEqual({ Args: ['/usr/bin/check', '--fast'], Interval: '30s' });
    args.push('--mutated');
    expect(check.Args).toEqual(['/usr/bin/check', '--fast']);
    expect(validationField(() => Check.script([], '30s'))).toBe('Check.script.Args');
    expect(validationField(() => Check.script([''], '30s'))).toBe('Check.script.Args[0]');
  });

  it('docker: container, shell, args and interval', () => {
    expect(Check.docker('f972c95ebf0e', '/bin/bash', ['/check.sh'], '10s')).toEqual({
      DockerContainerID: 'f972c95ebf0e',
      Shell: '/bin/bash',
      Args: ['/check.sh'],
      Interval: '10s',
    });
    expect(validationField(() => Check.docker('', '/bin/sh', ['/c'], '10s'))).toBe(
      'Check.docker.DockerContainerID',
    );
    expect(validationField(() => Check.docker('c1', '', ['/c'], '10s'))).toBe('Check.docker.Shell');
    expect(validationField(() => Check.docker('c1', '/bin/sh', ['/c'], '0s'))).toBe('Check.docker.Interval');
  });

  it('grpc: target, interval and TLS', () => {
    expect(Check.grpc('127.0.0.1:9000/my.Service', '10s', { useTls: true, tlsSkipVerify: true })).toEqual({
      GRPC: '127.0.0.1:9000/my.Service',
      Interval: '10s',
      GRPCUseTLS: true,
      TLSSkipVerify: true,
    });
    expect(validationField(() => Check.grpc(' ', '10s'))).toBe('Check.grpc.GRPC');
  });

  it('alias: a service ID and optionally its node; no interval', () => {
    expect(Check.alias('web-1')).toEqual({ AliasService: 'web-1' });
    expect(Check.alias('web-1', { node: 'n1', name: 'mirror' })).toEqual({
      AliasService: 'web-1',
      AliasNode: 'n1',
      Name: 'mirror',
    });
    expect(validationField(() => Check.alias(''))).toBe('Check.alias.AliasService');
  });

  it('the builders are frozen', () => {
    expect(Object.isFrozen(Check)).toBe(true);
  });
});

describe('check validation rules', () => {
  it('finds the one kind of a check', () => {
    expect(checkKind({ TTL: '1s' })).toBe('ttl');
    expect(checkKind({ HTTP: 'http://x' })).toBe('http');
    expect(checkKind({ TCP: 'x:1' })).toBe('tcp');
    expect(checkKind({ GRPC: 'x:1' })).toBe('grpc');
    expect(checkKind({ Args: ['x'] })).toBe('script');
    expect(checkKind({ Args: ['x'], DockerContainerID: 'c' })).toBe('docker');
    expect(checkKind({ AliasNode: 'n' })).toBe('alias');
  });

  it('rejects a check with no kind or with two kinds', () => {
    expect(() => normalizeServiceCheck({ Notes: 'nothing' })).toThrow(/needs one of TTL/);
    expect(() => normalizeServiceCheck({ TTL: '10s', HTTP: 'http://x/', Interval: '10s' })).toThrow(
      /mixes ttl and http/,
    );
    expect(() => normalizeServiceCheck({ TCP: 'x:1', GRPC: 'x:2', Interval: '1s' })).toThrow(ValidationError);
    expect(() => normalizeServiceCheck({ TTL: '10s', AliasService: 'a' })).toThrow(ValidationError);
  });

  it('requires an interval for script/http/tcp/grpc/docker and refuses one for ttl/alias', () => {
    const needInterval: AgentServiceCheck[] = [
      { HTTP: 'http://x/' },
      { TCP: 'x:1' },
      { GRPC: 'x:1' },
      { Args: ['/bin/true'] },
      { DockerContainerID: 'c', Args: ['/bin/true'] },
    ];
    for (const check of needInterval) {
      expect(validationField(() => normalizeServiceCheck(check))).toBe('check.Interval');
    }
    expect(validationField(() => normalizeServiceCheck({ TTL: '10s', Interval: '10s' }))).toBe(
      'check.Interval',
    );
    expect(validationField(() => normalizeServiceCheck({ AliasService: 'a', Interval: '10s' }))).toBe(
      'check.Interval',
    );
  });

  it('refuses fields of another kind and a docker check without Args', () => {
    expect(validationField(() => normalizeServiceCheck({ TCP: 'x:1', Interval: '1s', Method: 'GET' }))).toBe(
      'check.Method',
    );
    expect(validationField(() => normalizeServiceCheck({ TTL: '5s', Timeout: '1s' }))).toBe('check.Timeout');
    expect(
      validationField(() => normalizeServiceCheck({ HTTP: 'http://x/', Interval: '1s', Shell: 'sh' })),
    ).toBe('check.Shell');
    expect(validationField(() => normalizeServiceCheck({ DockerContainerID: 'c', Interval: '1s' }))).toBe(
      'check.Args',
    );
    expect(validationField(() => normalizeServiceCheck({ TTL: '5s', CheckID: 'a/b' }))).toBe('check.CheckID');
  });

  it('does not modify its input', () => {
    const input: AgentServiceCheck = { TTL: 15_000, CheckID: 'x' };
    const out = normalizeServiceCheck(input);
    expect(out).toEqual({ TTL: '15s', CheckID: 'x' });
    expect(input).toEqual({ TTL: 15_000, CheckID: 'x' });
  });
});

describe('service registration validation', () => {
  it('normalizes the checks and keeps the rest as given', () => {
    const body = serviceRegistrationBody({
      Name: 'web',
      ID: 'web-1',
      Port: 8080,
      Tags: ['a'],
      Meta: { version: '1_2-3' },
      Weights: { Passing: 3, Warning: 0 },
      Check: { TTL: 10_000 },
      Checks: [Check.tcp('127.0.0.1:8080', 5000)],
    });
    expect(body).toEqual({
      Name: 'web',
      ID: 'web-1',
      Port: 8080,
      Tags: ['a'],
      Meta: { version: '1_2-3' },
      Weights: { Passing: 3, Warning: 0 },
      Check: { TTL: '10s' },
      Checks: [{ TCP: '127.0.0.1:8080', Interval: '5s' }],
    });
  });

  it('rejects bad names, IDs, ports, weights, meta and checks with the offending field', () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'Name'],
      [{ Name: '  ' }, 'Name'],
      [{ Name: 'a', ID: 'x/y' }, 'ID'],
      [{ Name: 'a', Port: 65_536 }, 'Port'],
      [{ Name: 'a', Port: -1 }, 'Port'],
      [{ Name: 'a', Port: 80.5 }, 'Port'],
      [{ Name: 'a', Weights: { Passing: 0, Warning: 1 } }, 'Weights.Passing'],
      [{ Name: 'a', Weights: { Passing: 1, Warning: -1 } }, 'Weights.Warning'],
      [{ Name: 'a', Weights: { Passing: 1.5, Warning: 1 } }, 'Weights.Passing'],
      [{ Name: 'a', Meta: { 'a.b': 'x' } }, 'Meta'],
      [{ Name: 'a', Meta: { 'consul-x': 'x' } }, 'Meta'],
      [{ Name: 'a', Meta: { k: 1 } }, 'Meta.k'],
      [{ Name: 'a', Tags: 'a' }, 'Tags'],
      [{ Name: 'a', Kind: 'sidecar' }, 'Kind'],
      [{ Name: 'a', Check: { HTTP: 'http://x/' } }, 'Check.Interval'],
      [{ Name: 'a', Checks: [{ TTL: '1s' }, { TTL: '0s' }] }, 'Checks[1].TTL'],
      [
        { Name: 'a', TaggedAddresses: { lan: { Address: '10.0.0.1', Port: 99_999 } } },
        'TaggedAddresses.lan.Port',
      ],
    ];
    for (const [definition, field] of cases) {
      expect(
        validationField(() => serviceRegistrationBody(definition as never)),
        JSON.stringify(definition),
      ).toBe(field);
    }
  });

  it('allows the Meta limits and no more', () => {
    const meta = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(512)]));
    expect(() => serviceRegistrationBody({ Name: 'a', Meta: meta })).not.toThrow();
    expect(validationField(() => serviceRegistrationBody({ Name: 'a', Meta: { ...meta, k64: 'v' } }))).toBe(
      'Meta',
    );
    expect(validationField(() => serviceRegistrationBody({ Name: 'a', Meta: { k: 'v'.repeat(513) } }))).toBe(
      'Meta.k',
    );
  });
});

describe('check registration validation', () => {
  it('takes a builder output plus Name and ID', () => {
    expect(
      checkRegistrationBody({ ...Check.ttl('30s'), Name: 'heartbeat', ID: 'hb-1', ServiceID: 'web-1' }),
    ).toEqual({
      TTL: '30s',
      Name: 'heartbeat',
      ID: 'hb-1',
      ServiceID: 'web-1',
    });
  });

  it('requires a Name, refuses CheckID and checks the definition', () => {
    expect(validationField(() => checkRegistrationBody({ TTL: '1s' } as never))).toBe('Name');
    expect(
      validationField(() => checkRegistrationBody({ ...Check.ttl('1s'), CheckID: 'x', Name: 'n' } as never)),
    ).toBe('CheckID');
    expect(validationField(() => checkRegistrationBody({ Name: 'n', TCP: 'x:1' }))).toBe('check.Interval');
    expect(validationField(() => checkRegistrationBody({ Name: 'n', TTL: '1s', ServiceID: '' }))).toBe(
      'ServiceID',
    );
  });
});

describe('catalog registration validation and query encoding', () => {
  it('requires Node and Address (unless SkipNodeUpdate) and validates service and checks', () => {
    expect(validationField(() => catalogRegistrationBody({ Address: '1.2.3.4' } as never))).toBe('Node');
    expect(validationField(() => catalogRegistrationBody({ Node: 'n' }))).toBe('Address');
    expect(() => catalogRegistrationBody({ Node: 'n', SkipNodeUpdate: true })).not.toThrow();
    expect(
      validationField(() =>
        catalogRegistrationBody({ Node: 'n', Address: 'a', Service: { Service: 's', Port: 1e6 } }),
      ),
    ).toBe('Service.Port');
    expect(
      validationField(() =>
        catalogRegistrationBody({
          Node: 'n',
          Address: 'a',
          Checks: [{ Name: 'c', Status: 'fine' as never }],
        }),
      ),
    ).toBe('Checks[0].Status');
  });

  it('formats check definition durations', () => {
    const body = catalogRegistrationBody({
      Node: 'n',
      Address: 'a',
      Check: { Name: 'c', Definition: { TCP: 'a:1', Interval: 10_000, Timeout: '1s' } },
    });
    expect(body.Check?.Definition).toEqual({ TCP: 'a:1', Interval: '10s', Timeout: '1s' });
  });

  it('encodes node-meta as key:value pairs and refuses keys with a colon', () => {
    expect(nodeMetaQuery({ env: 'prod', url: 'http://x' })).toEqual(['env:prod', 'url:http://x']);
    expect(nodeMetaQuery(undefined)).toBeUndefined();
    expect(validationField(() => nodeMetaQuery({ 'a:b': 'c' }))).toBe('nodeMeta');
    expect(validationField(() => nodeMetaQuery({ '': 'c' }))).toBe('nodeMeta');
  });

  it('encodes one or several tags', () => {
    expect(tagQuery('a')).toEqual(['a']);
    expect(tagQuery(['a', 'b'])).toEqual(['a', 'b']);
    expect(validationField(() => tagQuery(''))).toBe('tag');
    expect(validationField(() => tagQuery(['a', 3 as never]))).toBe('tag');
  });
});
