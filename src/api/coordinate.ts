/**
 * Network coordinates: `/v1/coordinate`. Consul's Vivaldi estimates of round-trip time
 * between nodes (LAN) and between servers of different datacenters (WAN), which `near`
 * sorting and prepared query failover use.
 *
 * @packageDocumentation
 */
import { optionKeys } from '../options-check.js';
import { ValidationError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import { READ_OPTION_KEYS, type CallOptions, type ReadOptions } from '../transport/types.js';
import type { AgentCoordinate } from './agent/agent-types.js';
import { read, type ConsulRead } from './read.js';
import { requireName, segment } from './validate.js';

/**
 * A network coordinate: a point in Consul's Vivaldi space. The estimated round-trip time
 * between two nodes, in seconds, is the Euclidean distance of their `Vec` plus both `Height`s,
 * adjusted by both `Adjustment`s when the sum stays positive.
 */
export type Coordinate = AgentCoordinate;

/** One node's coordinate, as `/v1/coordinate/nodes` and `/v1/coordinate/node/:node` report it. */
export interface CoordinateEntry {
  /** Node name. */
  Node: string;
  /** Network segment (Consul Enterprise); `''` for the default segment. */
  Segment: string;
  /** The node's LAN coordinate. */
  Coord: Coordinate;
}

/** The WAN coordinates of the servers of one datacenter. */
export interface CoordinateDatacenterMap {
  /** Datacenter name. */
  Datacenter: string;
  /** Network area (`wan` for the WAN pool; an area ID with Consul Enterprise network areas). */
  AreaID: string;
  /** The datacenter's servers with their WAN coordinates; node names carry a `.<dc>` suffix. */
  Coordinates: CoordinateEntry[];
}

/** Body of `PUT /v1/coordinate/update`. */
export interface CoordinateUpdate {
  /** Node whose coordinate is set; it must be registered in the catalog. */
  Node: string;
  /** Network segment (Consul Enterprise). Default `''`. */
  Segment?: string;
  /** The new coordinate; `Vec` must have the servers' dimensionality (8). */
  Coord: Coordinate;
}

/** Options of the coordinate reads: blocking and consistency, no filter or cache. */
export interface CoordinateReadOptions extends Omit<ReadOptions, 'filter' | 'cached'> {
  /** Only nodes of this network segment (Consul Enterprise). Default: all segments. */
  segment?: string;
}

function rejectUnsupportedRead(options: object, endpoint: string): void {
  for (const name of ['filter', 'cached']) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw new ValidationError(name, `${endpoint} does not support ${name}`);
    }
  }
}

function segmentQuery(segmentName: string | undefined): string | undefined {
  if (segmentName !== undefined && typeof segmentName !== 'string') {
    throw new ValidationError('segment', 'must be a string');
  }
  return segmentName;
}

function finite(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ValidationError(field, 'must be a finite number');
}

/**
 * Validates a coordinate update and returns the body to send. Consul checks the
 * dimensionality itself (500 `incompatible coordinate`).
 *
 * @throws ValidationError for a missing `Node`, or a `Coord` with a non-finite component
 */
export function coordinateUpdateBody(entry: CoordinateUpdate): CoordinateUpdate {
  if (entry === null || typeof entry !== 'object') throw new ValidationError('entry', 'must be an object');
  requireName('Node', entry.Node);
  if (entry.Segment !== undefined && typeof entry.Segment !== 'string') {
    throw new ValidationError('Segment', 'must be a string');
  }
  const coord: unknown = entry.Coord;
  if (coord === null || typeof coord !== 'object') throw new ValidationError('Coord', 'must be an object');
  const { Vec: vec, Error: error, Adjustment: adjustment, Height: height } = coord as Record<string, unknown>;
  if (!Array.isArray(vec) || vec.length === 0)
    throw new ValidationError('Coord.Vec', 'must be a non-empty array');
  vec.forEach((component, i) => finite(`Coord.Vec[${i}]`, component));
  finite('Coord.Error', error);
  finite('Coord.Adjustment', adjustment);
  finite('Coord.Height', height);
  return { ...entry, Coord: { ...entry.Coord, Vec: [...entry.Coord.Vec] } };
}

/** Every key of {@link CoordinateReadOptions}, for the refusal of a misspelt one. */
const COORDINATE_READ_OPTION_KEYS = optionKeys<ReadOptions & CoordinateReadOptions>()([
  ...READ_OPTION_KEYS,
  'segment',
]);

/** The `coordinate` endpoint group. */
export class Coordinates {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** The WAN coordinates of the servers of every known datacenter. */
  datacenters(options: CallOptions = {}): ConsulRead<CoordinateDatacenterMap[]> {
    return read<CoordinateDatacenterMap[] | null, CoordinateDatacenterMap[]>(
      this.#transport,
      { method: 'GET', path: '/v1/coordinate/datacenters', call: options, response: 'json' },
      (body) => (body ?? []).map((dc) => ({ ...dc, Coordinates: dc.Coordinates ?? [] })),
    );
  }

  /**
   * The LAN coordinates of the nodes of the datacenter. Blocks with `index`. A node appears
   * once its agent has measured round-trip times to other members and the servers have
   * applied the batch (every few seconds), so a lone dev agent may answer `[]` at first.
   */
  nodes(options: CoordinateReadOptions = {}): ConsulRead<CoordinateEntry[]> {
    rejectUnsupportedRead(options, 'coordinate.nodes');
    const { segment: segmentName, ...rest } = options;
    return read<CoordinateEntry[] | null, CoordinateEntry[]>(
      this.#transport,
      {
        method: 'GET',
        path: '/v1/coordinate/nodes',
        query: { segment: segmentQuery(segmentName) },
        read: rest,
        optionKeys: COORDINATE_READ_OPTION_KEYS,
        response: 'json',
      },
      (body) => body ?? [],
    );
  }

  /**
   * The LAN coordinates of one node, one per segment (Consul 1.0+). Blocks with `index`.
   * Resolves to `[]` when Consul holds no coordinate for the node (it answers 404).
   */
  node(name: string, options: CoordinateReadOptions = {}): ConsulRead<CoordinateEntry[]> {
    const path = `/v1/coordinate/node/${segment('name', name)}`;
    rejectUnsupportedRead(options, 'coordinate.node');
    const { segment: segmentName, ...rest } = options;
    return read<CoordinateEntry[] | null | undefined, CoordinateEntry[]>(
      this.#transport,
      {
        method: 'GET',
        path,
        query: { segment: segmentQuery(segmentName) },
        read: rest,
        optionKeys: COORDINATE_READ_OPTION_KEYS,
        allowNotFound: true,
        response: 'json',
      },
      (body) => body ?? [],
    );
  }

  /**
   * Sets a node's LAN coordinate (Consul 1.0+), for nodes whose coordinates come from
   * elsewhere than a Consul agent. The servers apply updates in batches (every 5 s by
   * default), and silently drop one for a node the catalog does not know.
   *
   * @throws ValidationError for an invalid entry (see {@link coordinateUpdateBody})
   */
  async update(entry: CoordinateUpdate, options: CallOptions = {}): Promise<void> {
    const body = coordinateUpdateBody(entry);
    await this.#transport.request({
      method: 'PUT',
      path: '/v1/coordinate/update',
      body: { json: body },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }
}
