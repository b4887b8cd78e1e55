/**
 * The bad-input sweep (issue 10): every public method of every API group of the low-level
 * client, and every option it forwards, given wrong types, empty strings, huge values,
 * control characters, negative and NaN durations. Each must be refused with a
 * ValidationError before anything is sent, and nothing already stored may be lost.
 *
 * The table is checked against the client at run time: a method added to a group without a
 * row here fails the sweep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul, UnknownOptionError, ValidationError } from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { quietLogger } from '../support/clients.js';

/** Calls one method with valid arguments and the given options object in the options slot. */
type Call = (consul: Consul, options: Record<string, unknown>) => unknown;

interface Row {
  /** The method with valid arguments; `options` goes where its options go. */
  call: Call;
  /** Which option probes apply: every call takes call options; reads also take read options. */
  kind: 'call' | 'read' | 'none';
  /** Options the method does not take by design (with the reason in a comment on the row). */
  omit?: readonly string[];
  /** Extra bad calls specific to the method (wrong types, empty strings, bad values). */
  bad?: readonly ((consul: Consul) => unknown)[];
}

const ID = '6a5d1c2e-0000-4000-8000-000000000001';
const NUL = 'a\u0000b';
const CRLF = 'a\r\nb';
/** An argument of the wrong type where a string is expected. */
const notString = 42 as unknown as string;
const huge = Buffer.alloc(600 * 1024, 1);

const coord = { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 };

/** The table: group → method → row. Groups are the client's properties, dotted for nested ones. */
const TABLE: Record<string, Record<string, Row>> = {
  kv: {
    get: {
      kind: 'read',
      call: (c, o) => c.kv.get('sweep/a', o),
      bad: [(c) => c.kv.get(''), (c) => c.kv.get('a//b'), (c) => c.kv.get(notString)],
    },
    getRaw: { kind: 'read', call: (c, o) => c.kv.getRaw('sweep/a', o), bad: [(c) => c.kv.getRaw('../x')] },
    list: {
      kind: 'read',
      call: (c, o) => c.kv.list('sweep/', o),
      bad: [(c) => c.kv.list('/abs'), (c) => c.kv.list(notString)],
    },
    keys: { kind: 'read', call: (c, o) => c.kv.keys('sweep/', o), bad: [(c) => c.kv.keys('a/./b')] },
    put: {
      kind: 'call',
      call: (c, o) => c.kv.put('sweep/a', 'overwritten', o),
      bad: [
        (c) => c.kv.put('sweep/a', huge),
        (c) => c.kv.put('sweep/a', 42 as unknown as string),
        (c) => c.kv.put('sweep/a', 'x', { flags: -1 }),
        (c) => c.kv.put('sweep/a', 'x', { cas: Number.NaN }),
        (c) => c.kv.put('sweep/a', 'x', { acquire: '' }),
        (c) => c.kv.put('', 'x'),
      ],
    },
    delete: {
      kind: 'call',
      call: (c, o) => c.kv.delete('sweep/a', o),
      bad: [(c) => c.kv.delete('sweep/a', { cas: 'x' }), (c) => c.kv.delete('..')],
    },
  },
  session: {
    create: {
      kind: 'call',
      call: (c, o) => c.session.create({}, o),
      bad: [(c) => c.session.create({ TTL: '-5s' }), (c) => c.session.create({ LockDelay: Number.NaN })],
    },
    destroy: { kind: 'call', call: (c, o) => c.session.destroy(ID, o), bad: [(c) => c.session.destroy('')] },
    info: { kind: 'read', call: (c, o) => c.session.info(ID, o), bad: [(c) => c.session.info(notString)] },
    node: { kind: 'read', call: (c, o) => c.session.node('n1', o), bad: [(c) => c.session.node('')] },
    list: { kind: 'read', call: (c, o) => c.session.list(o) },
    renew: { kind: 'call', call: (c, o) => c.session.renew(ID, o), bad: [(c) => c.session.renew('a/b')] },
  },
  status: {
    leader: { kind: 'call', call: (c, o) => c.status.leader(o) },
    peers: { kind: 'call', call: (c, o) => c.status.peers(o) },
  },
  agent: {
    readService: {
      kind: 'read',
      call: (c, o) => c.agent.readService('web', o),
      bad: [(c) => c.agent.readService('')],
    },
    updateToken: {
      kind: 'call',
      call: (c, o) => c.agent.updateToken('default', 'tok', o),
      bad: [(c) => c.agent.updateToken('default', CRLF)],
    },
    self: { kind: 'call', call: (c, o) => c.agent.self(o) },
    members: { kind: 'call', call: (c, o) => c.agent.members(o) },
    join: { kind: 'call', call: (c, o) => c.agent.join('192.0.2.1', o), bad: [(c) => c.agent.join('')] },
    forceLeave: {
      kind: 'call',
      call: (c, o) => c.agent.forceLeave('no-such-node', o),
      bad: [(c) => c.agent.forceLeave(notString)],
    },
    reload: { kind: 'call', call: (c, o) => c.agent.reload(o) },
    maintenance: {
      kind: 'call',
      call: (c, o) => c.agent.maintenance(false, undefined, o),
      bad: [(c) => c.agent.maintenance('yes' as unknown as boolean)],
    },
  },
  'agent.service': {
    list: { kind: 'call', call: (c, o) => c.agent.service.list(o) },
    get: {
      kind: 'call',
      call: (c, o) => c.agent.service.get('web', o),
      bad: [(c) => c.agent.service.get('')],
    },
    register: {
      kind: 'call',
      call: (c, o) => c.agent.service.register({ Name: 'sweep-svc' }, o),
      bad: [
        (c) => c.agent.service.register({ Name: '' }),
        (c) => c.agent.service.register({ Name: 'x', Port: -1 }),
      ],
    },
    deregister: {
      kind: 'call',
      call: (c, o) => c.agent.service.deregister('sweep-svc', o),
      bad: [(c) => c.agent.service.deregister('')],
    },
    maintenance: {
      kind: 'call',
      call: (c, o) => c.agent.service.maintenance('sweep-svc', false, undefined, o),
      bad: [(c) => c.agent.service.maintenance('', true)],
    },
  },
  'agent.check': {
    list: { kind: 'call', call: (c, o) => c.agent.check.list(o) },
    register: {
      kind: 'call',
      call: (c, o) => c.agent.check.register({ Name: 'sweep', TTL: '10s' }, o),
      bad: [(c) => c.agent.check.register({ Name: 'x', TTL: '-1s' })],
    },
    deregister: {
      kind: 'call',
      call: (c, o) => c.agent.check.deregister('sweep', o),
      bad: [(c) => c.agent.check.deregister('')],
    },
    pass: {
      kind: 'call',
      call: (c, o) => c.agent.check.pass('sweep', 'ok', o),
      bad: [(c) => c.agent.check.pass('')],
    },
    warn: {
      kind: 'call',
      call: (c, o) => c.agent.check.warn('sweep', 'hm', o),
      bad: [(c) => c.agent.check.warn(notString)],
    },
    fail: {
      kind: 'call',
      call: (c, o) => c.agent.check.fail('sweep', 'no', o),
      bad: [(c) => c.agent.check.fail('a/b')],
    },
    update: {
      kind: 'call',
      call: (c, o) => c.agent.check.update('sweep', 'passing', undefined, o),
      bad: [(c) => c.agent.check.update('sweep', 'great' as 'passing')],
    },
  },
  'agent.connect': {
    roots: { kind: 'read', call: (c, o) => c.agent.connect.roots(o) },
    leaf: {
      kind: 'read',
      call: (c, o) => c.agent.connect.leaf('web', o),
      bad: [(c) => c.agent.connect.leaf('')],
    },
    authorize: {
      kind: 'call',
      call: (c, o) =>
        c.agent.connect.authorize(
          { Target: 'web', ClientCertURI: 'spiffe://x/ns/default/dc/dc1/svc/a', ClientCertSerial: '01' },
          o,
        ),
      bad: [(c) => c.agent.connect.authorize({ Target: '', ClientCertURI: '', ClientCertSerial: '' })],
    },
  },
  catalog: {
    register: {
      kind: 'call',
      call: (c, o) => c.catalog.register({ Node: 'sweep-node', Address: '192.0.2.9' }, o),
      bad: [
        (c) => c.catalog.register({ Node: '', Address: 'x' }),
        (c) => c.catalog.register({ Node: 'n', Address: '' }),
      ],
    },
    deregister: {
      kind: 'call',
      call: (c, o) => c.catalog.deregister({ Node: 'sweep-node' }, o),
      bad: [(c) => c.catalog.deregister({ Node: '' })],
    },
    datacenters: { kind: 'call', call: (c, o) => c.catalog.datacenters(o) },
    nodes: { kind: 'read', call: (c, o) => c.catalog.nodes(o) },
    services: { kind: 'read', call: (c, o) => c.catalog.services(o) },
    service: {
      kind: 'read',
      call: (c, o) => c.catalog.service('web', o),
      bad: [(c) => c.catalog.service('..')],
    },
    node: { kind: 'read', call: (c, o) => c.catalog.node('n1', o), bad: [(c) => c.catalog.node('')] },
  },
  health: {
    node: { kind: 'read', call: (c, o) => c.health.node('n1', o), bad: [(c) => c.health.node('')] },
    checks: {
      kind: 'read',
      call: (c, o) => c.health.checks('web', o),
      bad: [(c) => c.health.checks(notString)],
    },
    service: {
      kind: 'read',
      call: (c, o) => c.health.service('web', o),
      bad: [(c) => c.health.service('.')],
    },
    state: {
      kind: 'read',
      call: (c, o) => c.health.state('passing', o),
      bad: [(c) => c.health.state('great' as 'passing')],
    },
  },
  event: {
    fire: {
      kind: 'call',
      call: (c, o) => c.event.fire('sweep', 'x', o),
      bad: [(c) => c.event.fire(''), (c) => c.event.fire('a/../b'), (c) => c.event.fire('e', huge)],
    },
    list: { kind: 'read', call: (c, o) => c.event.list(o) },
  },
  acl: {
    login: {
      kind: 'call',
      call: (c, o) => c.acl.login({ AuthMethod: 'm', BearerToken: 'jwt' }, o),
      bad: [(c) => c.acl.login({ AuthMethod: '', BearerToken: '' })],
    },
    // Sent with the token being logged out (its own argument), never a per-call one.
    logout: {
      kind: 'call',
      omit: ['token'],
      call: (c, o) => c.acl.logout(ID, o),
      bad: [(c) => c.acl.logout(CRLF)],
    },
    bootstrap: { kind: 'call', call: (c, o) => c.acl.bootstrap(o) },
    replication: { kind: 'read', call: (c, o) => c.acl.replication(o) },
    create: { kind: 'call', call: (c, o) => c.acl.create({ Name: 'legacy' }, o) },
    update: {
      kind: 'call',
      call: (c, o) => c.acl.update({ ID, Name: 'legacy' }, o),
      bad: [(c) => c.acl.update({ ID: '' })],
    },
    destroy: { kind: 'call', call: (c, o) => c.acl.destroy(ID, o), bad: [(c) => c.acl.destroy('')] },
    info: { kind: 'read', call: (c, o) => c.acl.info(ID, o), bad: [(c) => c.acl.info('')] },
    clone: { kind: 'call', call: (c, o) => c.acl.clone(ID, o), bad: [(c) => c.acl.clone('')] },
    list: { kind: 'read', call: (c, o) => c.acl.list(o) },
  },
  'acl.token': {
    create: {
      kind: 'call',
      call: (c, o) => c.acl.token.create({ Description: 'd' }, o),
      bad: [(c) => c.acl.token.create({ Policies: [{}] })],
    },
    read: { kind: 'read', call: (c, o) => c.acl.token.read(ID, o), bad: [(c) => c.acl.token.read('')] },
    self: { kind: 'read', call: (c, o) => c.acl.token.self(o) },
    update: {
      kind: 'call',
      call: (c, o) => c.acl.token.update(ID, { Description: 'd' }, o),
      bad: [(c) => c.acl.token.update('', {})],
    },
    clone: { kind: 'call', call: (c, o) => c.acl.token.clone(ID, o), bad: [(c) => c.acl.token.clone('')] },
    delete: {
      kind: 'call',
      call: (c, o) => c.acl.token.delete(ID, o),
      bad: [(c) => c.acl.token.delete('a/b')],
    },
    list: { kind: 'read', call: (c, o) => c.acl.token.list(o) },
  },
  'acl.policy': {
    create: {
      kind: 'call',
      call: (c, o) => c.acl.policy.create({ Name: 'p', Rules: '' }, o),
      bad: [(c) => c.acl.policy.create({ Name: '' })],
    },
    read: { kind: 'read', call: (c, o) => c.acl.policy.read(ID, o), bad: [(c) => c.acl.policy.read('')] },
    readByName: {
      kind: 'read',
      call: (c, o) => c.acl.policy.readByName('p', o),
      bad: [(c) => c.acl.policy.readByName('')],
    },
    update: {
      kind: 'call',
      call: (c, o) => c.acl.policy.update(ID, { Name: 'p' }, o),
      bad: [(c) => c.acl.policy.update('', { Name: 'p' })],
    },
    delete: {
      kind: 'call',
      call: (c, o) => c.acl.policy.delete(ID, o),
      bad: [(c) => c.acl.policy.delete('')],
    },
    list: { kind: 'read', call: (c, o) => c.acl.policy.list(o) },
  },
  'acl.role': {
    create: {
      kind: 'call',
      call: (c, o) => c.acl.role.create({ Name: 'r' }, o),
      bad: [(c) => c.acl.role.create({ Name: '' })],
    },
    read: { kind: 'read', call: (c, o) => c.acl.role.read(ID, o), bad: [(c) => c.acl.role.read('')] },
    readByName: {
      kind: 'read',
      call: (c, o) => c.acl.role.readByName('r', o),
      bad: [(c) => c.acl.role.readByName('')],
    },
    update: {
      kind: 'call',
      call: (c, o) => c.acl.role.update(ID, { Name: 'r' }, o),
      bad: [(c) => c.acl.role.update('', { Name: 'r' })],
    },
    delete: { kind: 'call', call: (c, o) => c.acl.role.delete(ID, o), bad: [(c) => c.acl.role.delete('')] },
    list: { kind: 'read', call: (c, o) => c.acl.role.list(o) },
  },
  'acl.legacy': {
    create: { kind: 'call', call: (c, o) => c.acl.legacy.create({ Name: 'l' }, o) },
    update: {
      kind: 'call',
      call: (c, o) => c.acl.legacy.update({ ID, Name: 'l' }, o),
      bad: [(c) => c.acl.legacy.update({ ID: '' })],
    },
    destroy: {
      kind: 'call',
      call: (c, o) => c.acl.legacy.destroy(ID, o),
      bad: [(c) => c.acl.legacy.destroy('')],
    },
    info: { kind: 'read', call: (c, o) => c.acl.legacy.info(ID, o), bad: [(c) => c.acl.legacy.info('')] },
    clone: { kind: 'call', call: (c, o) => c.acl.legacy.clone(ID, o), bad: [(c) => c.acl.legacy.clone('')] },
    list: { kind: 'read', call: (c, o) => c.acl.legacy.list(o) },
  },
  'acl.authMethod': {
    create: {
      kind: 'call',
      call: (c, o) => c.acl.authMethod.create({ Name: 'm', Type: 'jwt', Config: {} }, o),
      bad: [(c) => c.acl.authMethod.create({ Name: '', Type: 'jwt' } as never)],
    },
    read: {
      kind: 'read',
      call: (c, o) => c.acl.authMethod.read('m', o),
      bad: [(c) => c.acl.authMethod.read('')],
    },
    update: {
      kind: 'call',
      call: (c, o) => c.acl.authMethod.update('m', { Name: 'm', Type: 'jwt', Config: {} }, o),
      bad: [(c) => c.acl.authMethod.update('', { Name: 'm', Type: 'jwt' } as never)],
    },
    delete: {
      kind: 'call',
      call: (c, o) => c.acl.authMethod.delete('m', o),
      bad: [(c) => c.acl.authMethod.delete('')],
    },
    list: { kind: 'read', call: (c, o) => c.acl.authMethod.list(o) },
  },
  'acl.bindingRule': {
    create: {
      kind: 'call',
      call: (c, o) => c.acl.bindingRule.create({ AuthMethod: 'm', BindType: 'service', BindName: 'x' }, o),
      bad: [(c) => c.acl.bindingRule.create({ AuthMethod: '', BindType: 'service', BindName: '' })],
    },
    read: {
      kind: 'read',
      call: (c, o) => c.acl.bindingRule.read(ID, o),
      bad: [(c) => c.acl.bindingRule.read('')],
    },
    update: {
      kind: 'call',
      call: (c, o) =>
        c.acl.bindingRule.update(ID, { AuthMethod: 'm', BindType: 'service', BindName: 'x' }, o),
      bad: [(c) => c.acl.bindingRule.update('', { AuthMethod: 'm', BindType: 'service', BindName: 'x' })],
    },
    delete: {
      kind: 'call',
      call: (c, o) => c.acl.bindingRule.delete(ID, o),
      bad: [(c) => c.acl.bindingRule.delete('')],
    },
    list: { kind: 'read', call: (c, o) => c.acl.bindingRule.list(o) },
  },
  txn: {
    execute: {
      kind: 'call',
      call: (c, o) => c.txn.execute([c.txn.kv.get('sweep/a')], o),
      bad: [(c) => c.txn.execute([]), (c) => c.txn.execute('x' as never)],
    },
  },
  query: {
    list: { kind: 'read', call: (c, o) => c.query.list(o) },
    create: {
      kind: 'call',
      call: (c, o) => c.query.create({ Service: { Service: 'web' } }, o),
      bad: [(c) => c.query.create({ Service: { Service: '' } })],
    },
    update: {
      kind: 'call',
      call: (c, o) => c.query.update(ID, { Service: { Service: 'web' } }, o),
      bad: [(c) => c.query.update('', { Service: { Service: 'web' } })],
    },
    get: { kind: 'read', call: (c, o) => c.query.get(ID, o), bad: [(c) => c.query.get('')] },
    delete: { kind: 'call', call: (c, o) => c.query.delete(ID, o), bad: [(c) => c.query.delete('')] },
    execute: { kind: 'read', call: (c, o) => c.query.execute('web', o), bad: [(c) => c.query.execute('')] },
    explain: { kind: 'read', call: (c, o) => c.query.explain('web', o), bad: [(c) => c.query.explain('')] },
  },
  coordinate: {
    datacenters: { kind: 'call', call: (c, o) => c.coordinate.datacenters(o) },
    nodes: { kind: 'read', call: (c, o) => c.coordinate.nodes(o) },
    node: { kind: 'read', call: (c, o) => c.coordinate.node('n1', o), bad: [(c) => c.coordinate.node('')] },
    update: {
      kind: 'call',
      call: (c, o) => c.coordinate.update({ Node: 'n1', Coord: coord }, o),
      bad: [(c) => c.coordinate.update({ Node: 'n1', Coord: { ...coord, Error: Number.NaN } })],
    },
  },
  operator: {
    raftConfiguration: { kind: 'read', call: (c, o) => c.operator.raftConfiguration(o) },
    raftRemovePeer: {
      kind: 'call',
      call: (c, o) => c.operator.raftRemovePeer({ address: '192.0.2.1:8300' }, o),
      bad: [(c) => c.operator.raftRemovePeer({} as never)],
    },
    autopilotConfiguration: { kind: 'read', call: (c, o) => c.operator.autopilotConfiguration(o) },
    autopilotHealth: { kind: 'call', call: (c, o) => c.operator.autopilotHealth(o) },
    keyringList: { kind: 'call', call: (c, o) => c.operator.keyringList(o) },
    keyringInstall: {
      kind: 'call',
      call: (c, o) => c.operator.keyringInstall('pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=', o),
      bad: [(c) => c.operator.keyringInstall('not base64!')],
    },
    keyringUse: {
      kind: 'call',
      call: (c, o) => c.operator.keyringUse('pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=', o),
      bad: [(c) => c.operator.keyringUse('')],
    },
    keyringRemove: {
      kind: 'call',
      call: (c, o) => c.operator.keyringRemove('pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=', o),
      bad: [(c) => c.operator.keyringRemove(notString)],
    },
    autopilotSetConfiguration: {
      kind: 'call',
      call: (c, o) => c.operator.autopilotSetConfiguration({ CleanupDeadServers: true } as never, o),
      bad: [(c) => c.operator.autopilotSetConfiguration({ LastContactThreshold: '-1s' } as never)],
    },
    raftTransferLeader: { kind: 'call', call: (c, o) => c.operator.raftTransferLeader(o) },
  },
  'connect.intentions': {
    create: {
      kind: 'call',
      call: (c, o) =>
        c.connect.intentions.create({ SourceName: 'a', DestinationName: 'b', Action: 'allow' }, o),
      bad: [(c) => c.connect.intentions.create({ SourceName: '', DestinationName: 'b', Action: 'allow' })],
    },
    get: {
      kind: 'read',
      call: (c, o) => c.connect.intentions.get(ID, o),
      bad: [(c) => c.connect.intentions.get('')],
    },
    list: { kind: 'read', call: (c, o) => c.connect.intentions.list(o) },
    match: {
      kind: 'read',
      call: (c, o) => c.connect.intentions.match('web', { by: 'source', ...o }),
      bad: [(c) => c.connect.intentions.match('', { by: 'source' })],
    },
    check: {
      kind: 'call',
      call: (c, o) => c.connect.intentions.check('a', 'b', o),
      bad: [(c) => c.connect.intentions.check('', 'b')],
    },
    update: {
      kind: 'call',
      call: (c, o) =>
        c.connect.intentions.update(ID, { SourceName: 'a', DestinationName: 'b', Action: 'allow' }, o),
      bad: [
        (c) => c.connect.intentions.update('', { SourceName: 'a', DestinationName: 'b', Action: 'allow' }),
      ],
    },
    delete: {
      kind: 'call',
      call: (c, o) => c.connect.intentions.delete(ID, o),
      bad: [(c) => c.connect.intentions.delete('')],
    },
  },
  'connect.ca': {
    roots: { kind: 'read', call: (c, o) => c.connect.ca.roots(o) },
    config: { kind: 'read', call: (c, o) => c.connect.ca.config(o) },
    setConfig: {
      kind: 'call',
      call: (c, o) => c.connect.ca.setConfig({ Provider: 'consul', Config: {} }, o),
      bad: [(c) => c.connect.ca.setConfig({ Provider: '' } as never)],
    },
  },
  configEntry: {
    get: {
      kind: 'read',
      call: (c, o) => c.configEntry.get('service-defaults', 'web', o),
      bad: [(c) => c.configEntry.get('nonsense' as never, 'web')],
    },
    list: {
      kind: 'read',
      call: (c, o) => c.configEntry.list('service-defaults', o),
      bad: [(c) => c.configEntry.list('' as never)],
    },
    set: {
      kind: 'call',
      call: (c, o) => c.configEntry.set({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' }, o),
      bad: [(c) => c.configEntry.set({ Kind: 'service-defaults', Name: '' } as never)],
    },
    delete: {
      kind: 'call',
      call: (c, o) => c.configEntry.delete('service-defaults', 'web', o),
      bad: [(c) => c.configEntry.delete('service-defaults', '')],
    },
  },
  snapshot: {
    save: { kind: 'call', call: (c, o) => c.snapshot.save(o) },
    saveToFile: {
      kind: 'call',
      call: (c, o) => c.snapshot.saveToFile('/tmp/consulkit-sweep.snap', o),
      bad: [(c) => c.snapshot.saveToFile('')],
    },
    restore: {
      kind: 'call',
      call: (c, o) => c.snapshot.restore(Buffer.from('not a snapshot'), o),
      bad: [(c) => c.snapshot.restore(42 as never)],
    },
  },
  watch: {
    key: {
      kind: 'call',
      call: (c, o) => c.watch.key('sweep/a', o),
      bad: [(c) => c.watch.key('a//b'), (c) => c.watch.key('k', { wait: -1 })],
    },
    keyPrefix: {
      kind: 'call',
      call: (c, o) => c.watch.keyPrefix('sweep/', o),
      bad: [(c) => c.watch.keyPrefix('/x')],
    },
    service: {
      kind: 'call',
      call: (c, o) => c.watch.service('web', o),
      bad: [(c) => c.watch.service(''), (c) => c.watch.service('web', { passing: 'yes' as never })],
    },
    services: { kind: 'call', call: (c, o) => c.watch.services(o) },
    nodes: { kind: 'call', call: (c, o) => c.watch.nodes(o) },
    checks: {
      kind: 'call',
      call: (c, o) => c.watch.checks('critical', o),
      bad: [(c) => c.watch.checks('bad' as never)],
    },
    events: {
      kind: 'call',
      call: (c, o) => c.watch.events('sweep', o),
      bad: [(c) => c.watch.events('a/../b')],
    },
    agentService: {
      kind: 'call',
      call: (c, o) => c.watch.agentService('web', o),
      bad: [(c) => c.watch.agentService('')],
    },
    connectRoots: { kind: 'call', call: (c, o) => c.watch.connectRoots(o) },
    connectLeaf: {
      kind: 'call',
      call: (c, o) => c.watch.connectLeaf('web', o),
      bad: [(c) => c.watch.connectLeaf('')],
    },
    query: {
      kind: 'call',
      call: (c, o) =>
        c.watch.query({ endpoint: 'sweep', params: {}, read: (r) => c.kv.get('sweep/a', r) }, o),
      bad: [(c) => c.watch.query({ endpoint: '', params: {}, read: (r) => c.kv.get('sweep/a', r) })],
    },
    stats: { kind: 'none', call: (c) => c.watch.stats() },
  },
};

/** Option values every call must refuse. */
const BAD_CALL_OPTIONS: readonly Record<string, unknown>[] = [
  { timeout: -1 },
  { timeout: Number.NaN },
  { timeout: 'soon' },
  { timeout: '-5s' },
  { token: CRLF },
  { token: NUL },
  { token: '' },
  { token: 42 },
  { datacenter: '' },
  { datacenter: 42 },
  { signal: 'not a signal' },
];

/** Option values every read must refuse, on top of the call options. */
const BAD_READ_OPTIONS: readonly Record<string, unknown>[] = [
  { wait: -1 },
  { wait: Number.NaN },
  { wait: '11m' },
  { index: -1 },
  { index: 'abc' },
  { index: 2 ** 60 },
  { consistency: 'eventual' },
];

const BAD_DURATIONS: readonly unknown[] = [-1, Number.NaN, 'soon', '-5s', ''];

/**
 * Probes of the primitives' options: each builds the primitive and, for the session
 * primitives, makes the first call that would reach Consul (`tryAcquire`, `leader`).
 */
function primitiveProbes(consul: Consul): [string, () => unknown][] {
  const probes: [string, () => unknown][] = [];
  const sessionKinds = {
    lock: (options: object) => consul.lock('sweep/lock', options).tryAcquire(),
    semaphore: (options: object) => consul.semaphore('sweep/sem', { limit: 2, ...options }).tryAcquire(),
    election: (options: object) =>
      consul.election('sweep/elect', options).campaign({ signal: AbortSignal.timeout(2000) }),
  };
  for (const [kind, make] of Object.entries(sessionKinds)) {
    for (const field of ['ttl', 'lockDelay']) {
      for (const value of BAD_DURATIONS)
        probes.push([`${kind} ${field}=${String(value)}`, () => make({ [field]: value })]);
    }
    probes.push([`${kind} token=CRLF`, () => make({ token: CRLF })]);
    probes.push([`${kind} value=600KB`, () => make({ value: huge })]);
  }
  probes.push(['lock key=""', () => consul.lock('').tryAcquire()]);
  probes.push(['lock key=a//b', () => consul.lock('a//b').tryAcquire()]);
  probes.push(['semaphore prefix=a//b', () => consul.semaphore('a//b', { limit: 1 }).tryAcquire()]);
  probes.push(['election key=../x', () => consul.election('../x').leader()]);
  probes.push(['semaphore limit=0', () => consul.semaphore('sweep/sem', { limit: 0 })]);
  probes.push(['semaphore limit=NaN', () => consul.semaphore('sweep/sem', { limit: Number.NaN })]);
  probes.push(['lock acquire timeout=-1', () => consul.lock('sweep/lock').acquire({ timeout: -1 })]);
  probes.push(['lock acquire timeout=NaN', () => consul.lock('sweep/lock').acquire({ timeout: Number.NaN })]);
  for (const value of BAD_DURATIONS) {
    probes.push([
      `registerService ttl=${String(value)}`,
      () => consul.registerService({ name: 'sweep', ttl: value as string }),
    ]);
    probes.push([
      `configMap wait=${String(value)}`,
      () => consul.configMap('sweep/', { wait: value as string }),
    ]);
    probes.push([
      `balancer watch.wait=${String(value)}`,
      () => consul.balancer('web', { watch: { wait: value as string } }),
    ]);
    probes.push([
      `balancer requestTimeout=${String(value)}`,
      () => consul.balancer('web', { requestTimeout: value as string }),
    ]);
  }
  probes.push(['registerService name=""', () => consul.registerService({ name: '' })]);
  probes.push(['registerService name=CRLF', () => consul.registerService({ name: CRLF })]);
  probes.push(['registerService port=-1', () => consul.registerService({ name: 'sweep', port: -1 })]);
  probes.push([
    'registerService port=NaN',
    () => consul.registerService({ name: 'sweep', port: Number.NaN }),
  ]);
  probes.push(['configMap prefix=a//b', () => consul.configMap('a//b')]);
  probes.push(['configMap decode=bogus', () => consul.configMap('sweep/', { decode: 'bogus' as never })]);
  probes.push(['configMap token=CRLF', () => consul.configMap('sweep/', { token: CRLF })]);
  probes.push(['balancer service=""', () => consul.balancer('')]);
  probes.push(['balancer service=..', () => consul.balancer('..')]);
  probes.push(['balancer strategy=bogus', () => consul.balancer('web', { strategy: 'fastest' as never })]);
  probes.push(['balancer token=CRLF', () => consul.balancer('web', { token: CRLF })]);
  probes.push(['balancer datacenter=""', () => consul.balancer('web', { datacenter: '' })]);
  return probes;
}

/**
 * Client properties that are not API groups: the logger, the transport and the telemetry
 * hooks (they take no user input). Anything else with methods must have rows.
 */
const NOT_API_GROUPS: ReadonlySet<string> = new Set(['logger', 'transport', 'telemetry']);

/** The client's API groups, found at run time: every object property with methods. */
function groups(consul: Consul): Map<string, object> {
  const found = new Map<string, object>();
  const visit = (path: string, value: unknown, depth: number): void => {
    if (depth > 2 || value === null || typeof value !== 'object') return;
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === null || proto === Object.prototype) return;
    if (methodsOf(value).length > 0) found.set(path, value);
    for (const key of Object.keys(value))
      visit(`${path}.${key}`, (value as Record<string, unknown>)[key], depth + 1);
  };
  for (const key of Object.keys(consul)) {
    if (NOT_API_GROUPS.has(key)) continue;
    visit(key, (consul as unknown as Record<string, unknown>)[key], 0);
  }
  return found;
}

function methodsOf(value: object): string[] {
  const proto = Object.getPrototypeOf(value) as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto).filter(
    (name) =>
      name !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, name)?.value === 'function',
  );
}

describe('bad-input sweep (dedicated agent)', () => {
  let agent: ConsulInstance;
  let consul: Consul;

  beforeAll(async () => {
    agent = await startConsul();
    consul = new Consul({ address: agent.address, env: {}, logger: quietLogger });
    await consul.kv.put('sweep/a', 'original');
  });
  afterAll(async () => {
    await consul?.close();
    await agent?.stop();
  });

  /** Runs a call and expects a ValidationError before any request left the client. */
  async function expectRefused(label: string, run: () => unknown): Promise<string | undefined> {
    const before = consul.stats().requests;
    let error: unknown;
    try {
      const result = run();
      // Watches are returned, not awaited: close one that was wrongly accepted.
      if (result !== null && typeof result === 'object' && 'close' in result && !('then' in result)) {
        await (result as { close(): Promise<void> }).close();
      } else {
        await result;
      }
    } catch (caught) {
      error = caught;
    }
    const sent = consul.stats().requests - before;
    if (error instanceof ValidationError && sent === 0) return undefined;
    const what =
      error === undefined
        ? 'accepted'
        : `${(error as Error).name}: ${(error as Error).message.slice(0, 120)}`;
    return `${label}: ${what}${sent > 0 ? ` (${sent} request(s) sent)` : ''}`;
  }

  it('has a row for every method of every API group', () => {
    const missing: string[] = [];
    for (const [group, object] of groups(consul)) {
      for (const method of methodsOf(object))
        if (TABLE[group]?.[method] === undefined) missing.push(`${group}.${method}`);
    }
    const stale = Object.entries(TABLE).flatMap(([group, rows]) =>
      Object.keys(rows)
        .filter((method) => !methodsOf(groups(consul).get(group) ?? {}).includes(method))
        .map((method) => `${group}.${method}`),
    );
    expect(missing).toEqual([]);
    expect(stale).toEqual([]);
  });

  it('refuses every bad option of every method before sending', async () => {
    const failures: string[] = [];
    for (const [group, rows] of Object.entries(TABLE)) {
      for (const [method, row] of Object.entries(rows)) {
        if (row.kind === 'none') continue;
        const probes = row.kind === 'read' ? [...BAD_CALL_OPTIONS, ...BAD_READ_OPTIONS] : BAD_CALL_OPTIONS;
        for (const options of probes) {
          if (Object.keys(options).some((name) => row.omit?.includes(name))) continue;
          const label = `${group}.${method}(${JSON.stringify(options) ?? ''})`;
          const failure = await expectRefused(label, () => row.call(consul, options));
          if (failure !== undefined) failures.push(failure);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses a misspelt option key of every method with UnknownOptionError before sending', async () => {
    const failures: string[] = [];
    let probed = 0;
    for (const [group, rows] of Object.entries(TABLE)) {
      for (const [method, row] of Object.entries(rows)) {
        if (row.kind === 'none') continue;
        probed++;
        // `timeuot` is no option of any method: the misspelling a caller might make of `timeout`.
        const label = `${group}.${method}({ timeuot })`;
        const before = consul.stats().requests;
        const error = await Promise.resolve()
          .then(() => row.call(consul, { timeuot: '5s' }))
          .then(
            () => undefined,
            (caught: unknown) => caught,
          );
        const sent = consul.stats().requests - before;
        if (!(error instanceof UnknownOptionError) || sent !== 0) {
          failures.push(`${label}: ${error === undefined ? 'accepted' : String(error)} (${sent} sent)`);
        } else if (error.field !== 'timeuot' || error.suggestion !== 'timeout') {
          failures.push(`${label}: field ${error.field}, suggestion ${String(error.suggestion)}`);
        }
      }
    }
    expect(probed).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });

  it('refuses kv.put with { cass } and writes nothing; the suggestion names cas', async () => {
    const key = 'sweep/misspelt-cas';
    const before = consul.stats().requests;
    const error = await consul.kv.put(key, 'lost update', { cass: 0 } as never).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UnknownOptionError);
    expect((error as UnknownOptionError).field).toBe('cass');
    expect((error as UnknownOptionError).suggestion).toBe('cas');
    expect(consul.stats().requests).toBe(before);
    expect(await consul.kv.get(key)).toBeUndefined();
    await expect(consul.kv.delete('sweep/a', { recuse: true } as never)).rejects.toMatchObject({
      name: 'UnknownOptionError',
      suggestion: 'recurse',
    });
    await expect(consul.kv.keys('sweep/', { separtor: '/' } as never)).rejects.toMatchObject({
      suggestion: 'separator',
    });
    expect(String((await consul.kv.get('sweep/a'))?.Value)).toBe('original');
  });

  it("accepts every read option and each method's own options", async () => {
    const failures: string[] = [];
    for (const [group, rows] of Object.entries(TABLE)) {
      for (const [method, row] of Object.entries(rows)) {
        if (row.kind !== 'read') continue;
        // Every common read key with a harmless value; the call may still fail for other
        // reasons (an absent node, no ACLs), but never for an option key.
        const options = { timeout: '10s', retries: 0, consistency: 'default', wait: '1s' };
        const error = await Promise.resolve()
          .then(() => row.call(consul, options))
          .then(
            async (result) => {
              // A watch is returned open: close it.
              if (result !== null && typeof result === 'object' && 'close' in result)
                await (result as { close(): Promise<void> }).close();
            },
            (caught: unknown) => caught,
          );
        if (error instanceof UnknownOptionError) failures.push(`${group}.${method}: ${error.message}`);
      }
    }
    expect(failures).toEqual([]);
    await consul.kv.put('sweep/own-options', 'x', { cas: 0, flags: 7n });
    expect((await consul.kv.get('sweep/own-options'))?.Flags).toBe(7n);
    expect(await consul.kv.keys('sweep/', { separator: '/' })).toContain('sweep/own-options');
    expect(await consul.kv.delete('sweep/own-options', { recurse: false })).toBe(true);
  });

  it('refuses every bad argument before sending', async () => {
    const failures: string[] = [];
    for (const [group, rows] of Object.entries(TABLE)) {
      for (const [method, row] of Object.entries(rows)) {
        for (const [i, bad] of (row.bad ?? []).entries()) {
          const failure = await expectRefused(`${group}.${method} bad[${i}]`, () => bad(consul));
          if (failure !== undefined) failures.push(failure);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses bad options of the primitives (lock, semaphore, election, registerService, configMap, balancer) before sending', async () => {
    const failures: string[] = [];
    for (const [label, run] of primitiveProbes(consul)) {
      const failure = await expectRefused(label, run);
      if (failure !== undefined) failures.push(failure);
    }
    expect(failures).toEqual([]);
  });

  it('lost nothing already stored', async () => {
    expect(String((await consul.kv.get('sweep/a'))?.Value)).toBe('original');
  });
});
