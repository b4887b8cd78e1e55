/**
 * An HTTP proxy in front of a real Consul. It forwards every request untouched and records
 * its URL; it can be switched to another agent (a client behind a load balancer that moves
 * it to an agent with an older state), and it can answer chosen requests with a 500 (as Go's
 * api lock/semaphore tests do with httputil.ReverseProxy), to replay "retries through
 * transient 5xx". It can also play a misbehaving proxy: answer chosen requests with a 200
 * HTML page, or strip response headers. It never answers by itself otherwise.
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { listenOnLoopback } from './loopback.js';

/** A running proxy from {@link startHttpProxy}. */
export interface HttpProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Path and query of every request received, oldest first (failed ones included). */
  readonly urls: string[];
  /** Where requests go (`http://host:port`); set it to switch agents. */
  target: string;
  /** The next `count` requests matching `match` get a 500 (`Infinity` for all of them). */
  failNext(count: number, match: (method: string, path: string) => boolean): void;
  /** The next `count` requests matching `match` get a 200 HTML page, as a broken proxy sends. */
  htmlNext(count: number, match: (method: string, path: string) => boolean): void;
  /** Response headers (lower-case names) removed from every forwarded answer. */
  readonly stripHeaders: Set<string>;
  /** Stops failing. */
  heal(): void;
  /** Requests answered with an injected 500 or HTML page so far. */
  readonly failed: number;
  close(): Promise<void>;
}

/** Starts an {@link HttpProxy} forwarding to `target` (`http://host:port`). */
export async function startHttpProxy(target: string): Promise<HttpProxy> {
  let upstream = new URL(target);
  const urls: string[] = [];
  let remaining = 0;
  let matcher: (method: string, path: string) => boolean = () => false;
  let failed = 0;
  let html = 0;
  let htmlMatcher: (method: string, path: string) => boolean = () => false;
  const stripHeaders = new Set<string>();
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    urls.push(req.url ?? '');
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (remaining > 0 && matcher(method, path)) {
      remaining--;
      failed++;
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('injected failure');
      return;
    }
    if (html > 0 && htmlMatcher(method, path)) {
      html--;
      failed++;
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1><p>upstream is being restarted</p></body></html>');
      return;
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method,
        path: req.url,
        headers: req.headers,
      },
      (answer: IncomingMessage) => {
        const headers = { ...answer.headers };
        for (const name of stripHeaders) delete headers[name];
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  const listener = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${listener.port}`,
    urls,
    get target() {
      return upstream.origin;
    },
    set target(value: string) {
      upstream = new URL(value);
    },
    failNext(count, match) {
      remaining = count;
      matcher = match;
    },
    htmlNext(count, match) {
      html = count;
      htmlMatcher = match;
    },
    stripHeaders,
    heal() {
      remaining = 0;
      html = 0;
    },
    get failed() {
      return failed;
    },
    close: () => listener.close(),
  };
}
