/**
 * An HTTP server that records every request and answers with a configurable response, for
 * tests asserting exactly what a client sends (headers, query strings, retries).
 */
import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:http';
import { listenOnLoopback } from './loopback.js';

/** One request as received. */
export interface RecordedRequest {
  method: string;
  /** Path plus query string, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the server answers; a function can vary it per request. */
export interface RecordedResponse {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
}

/** A running server from {@link startRecordingServer}. */
export interface RecordingServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  readonly port: number;
  /** Every request received so far, oldest first. */
  readonly requests: RecordedRequest[];
  /** Replaces the response for subsequent requests. */
  respondWith(response: RecordedResponse | ((request: RecordedRequest) => RecordedResponse)): void;
  /** Forgets recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 (random port); default answer: 200 with body `{}`. */
export async function startRecordingServer(
  initial: RecordedResponse | ((request: RecordedRequest) => RecordedResponse) = {},
): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  let responder = initial;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const response = typeof responder === 'function' ? responder(recorded) : responder;
      res.writeHead(response.status ?? 200, { 'content-type': 'application/json', ...response.headers });
      res.end(response.body ?? '{}');
    });
  });
  const listener = await listenOnLoopback(server);
  const port = listener.port;

  return {
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    requests,
    respondWith(response) {
      responder = response;
    },
    reset() {
      requests.length = 0;
    },
    close: () => listener.close(),
  };
}
