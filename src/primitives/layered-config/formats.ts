/**
 * Turning a layer's KV entries into a config tree, per format. Parsing is left to
 * well-kept parsers: `yaml` for YAML, `dot-properties` for Java properties, `JSON.parse`.
 *
 * @packageDocumentation
 */
import { parse as parseProperties } from 'dot-properties';
import { parse as parseYaml } from 'yaml';
import type { KVPair } from '../../api/kv.js';
import { ConfigDecodeError } from '../../errors.js';
import { isPlainObject, setPath, type ConfigTree } from './merge.js';

/**
 * How a layer is stored:
 * - `yaml`, `json`, `properties`: one document per layer, in the key `<layer>/<dataKey>`
 *   (Spring Cloud Consul's `data` key by default);
 * - `files`: every key under the layer folder is a file; `.yml`/`.yaml`, `.json` and
 *   `.properties` files are parsed and merged into the layer in key order, and any other key
 *   is one value whose path is the key (`db/host` sets `db.host` to the text).
 */
export type ConfigFormat = 'yaml' | 'json' | 'properties' | 'files';

/** The formats {@link ConfigFormat} names. */
export const CONFIG_FORMATS: readonly ConfigFormat[] = Object.freeze(['yaml', 'json', 'properties', 'files']);

type DocumentFormat = Exclude<ConfigFormat, 'files'>;

/** Parses one document into a tree; throws when it is not a mapping at the top. */
export function parseDocument(text: string, format: DocumentFormat): ConfigTree {
  let value: unknown;
  switch (format) {
    case 'yaml':
      // An empty document is an empty layer, not `null`.
      value = parseYaml(text, { prettyErrors: true }) ?? {};
      break;
    case 'json':
      value = text.trim() === '' ? {} : JSON.parse(text);
      break;
    case 'properties':
      // `path: true` turns `db.pool.max=5` into { db: { pool: { max: '5' } } }, as Spring reads it.
      value = parseProperties(text, true);
      break;
  }
  if (!isPlainObject(value)) throw new TypeError(`the document is not a mapping of keys to values`);
  return value;
}

function formatOfFile(key: string): DocumentFormat | undefined {
  if (/\.ya?ml$/i.test(key)) return 'yaml';
  if (/\.json$/i.test(key)) return 'json';
  if (/\.properties$/i.test(key)) return 'properties';
  return undefined;
}

/** The tree one Consul key contributes to a layer. */
export interface ConfigSource {
  /** The full Consul key. */
  readonly key: string;
  /** What it contributes. */
  readonly tree: ConfigTree;
}

/**
 * What each KV entry under a layer's folder contributes, in key order; `[]` when the layer
 * has no data. Throws {@link ConfigDecodeError} naming the key whose value could not be
 * parsed.
 *
 * @param pairs - entries under the config root, in key order
 * @param rootFolder - the config root with a trailing slash, so errors name keys relative to it
 */
export function layerSources(
  pairs: readonly KVPair[],
  folder: string,
  rootFolder: string,
  format: ConfigFormat,
  dataKey: string,
): ConfigSource[] {
  const decode = (pair: KVPair, as: DocumentFormat): ConfigSource => {
    try {
      return { key: pair.Key, tree: parseDocument(pair.Value.toString('utf8'), as) };
    } catch (error) {
      throw new ConfigDecodeError(pair.Key.slice(rootFolder.length), pair.Key, { cause: error });
    }
  };
  if (format !== 'files') {
    const pair = pairs.find((entry) => entry.Key === `${folder}${dataKey}`);
    return pair === undefined ? [] : [decode(pair, format)];
  }
  const sources: ConfigSource[] = [];
  for (const pair of pairs) {
    if (!pair.Key.startsWith(folder)) continue;
    const relative = pair.Key.slice(folder.length);
    // Folder markers (`x/` with no value) carry nothing.
    if (relative === '' || relative.endsWith('/')) continue;
    const as = formatOfFile(relative);
    if (as !== undefined) {
      sources.push(decode(pair, as));
      continue;
    }
    const tree: ConfigTree = {};
    setPath(tree, relative.split('/'), pair.Value.toString('utf8'));
    sources.push({ key: pair.Key, tree });
  }
  return sources;
}
