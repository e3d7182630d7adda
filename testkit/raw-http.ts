import { request } from 'node:http';

/**
 * One HTTP request sent exactly as written, which fetch cannot do: the request target as is (a lone
 * `%`, `//`), a header line repeated (fetch joins the values into one line), and any bytes as the body.
 */
export interface RawRequest {
  method: string;
  /** Path and query, sent verbatim. */
  target: string;
  /** One header line per pair, in order; a name given twice is sent twice. */
  headers?: readonly (readonly [string, string])[];
  body?: string | Uint8Array;
}

export interface RawAnswer {
  status: number;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
}

export function sendRaw(baseUrl: string, raw: RawRequest): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  // Node writes every [name, value] pair of a flat array as its own line, and then adds no Host itself.
  const headers = ['host', url.host, ...(raw.headers ?? []).flatMap(([name, value]) => [name, value])];
  if (raw.body !== undefined) headers.push('content-length', String(Buffer.byteLength(raw.body)));
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: url.hostname, port: url.port, method: raw.method, path: raw.target, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, text, json });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(raw.body);
  });
}

/** The `error.code` and `error.issues[].path` of an answer. */
export function errorOf(answer: RawAnswer): { code?: string; message?: string; paths: string[] } {
  const error = (answer.json as { error?: { code?: string; message?: string; issues?: { path: string }[] } } | undefined)?.error;
  return { code: error?.code, message: error?.message, paths: error?.issues?.map((issue) => issue.path) ?? [] };
}
