import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A "null" S3 endpoint for the copy bench: it speaks just enough of the S3 REST API for PutObject,
 * multipart upload (create, upload part, complete), HeadObject and HeadBucket, counts the bytes and
 * throws them away. Copying into it measures the client side of a copy (our code and the SDK) without
 * the cost of an emulator that hashes and writes every byte to disk on the same two cores.
 */
export interface NullS3 {
  url: string;
  close(): Promise<void>;
}

async function drain(request: IncomingMessage): Promise<number> {
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) bytes += chunk.length;
  return bytes;
}

const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

export async function startNullS3(): Promise<NullS3> {
  const uploads = new Map<string, number>();
  const objects = new Map<string, number>();
  let nextUpload = 1;
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://null-s3');
      const [, bucket = '', ...keyParts] = url.pathname.split('/');
      const key = decodeURIComponent(keyParts.join('/'));
      const method = request.method ?? 'GET';
      const uploadId = url.searchParams.get('uploadId');
      const send = (status: number, body = '', headers: Record<string, string | number> = {}) => {
        response.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
        response.end(body);
      };
      if (method === 'HEAD' && !key) return send(200);
      if (method === 'HEAD') {
        const size = objects.get(`${bucket}/${key}`);
        if (size === undefined) return send(404);
        response.writeHead(200, { 'Content-Length': size, ETag: '"null"', 'Content-Type': 'video/mp4' });
        return response.end();
      }
      if (method === 'POST' && url.searchParams.has('uploads')) {
        await drain(request);
        const id = `upload-${nextUpload++}`;
        uploads.set(id, 0);
        return send(
          200,
          xml(`<InitiateMultipartUploadResult ${NS}><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`),
          { 'Content-Type': 'application/xml' },
        );
      }
      if (method === 'PUT' && uploadId) {
        const bytes = await drain(request);
        uploads.set(uploadId, (uploads.get(uploadId) ?? 0) + bytes);
        return send(200, '', { ETag: `"part-${url.searchParams.get('partNumber')}"` });
      }
      if (method === 'POST' && uploadId) {
        await drain(request);
        objects.set(`${bucket}/${key}`, uploads.get(uploadId) ?? 0);
        uploads.delete(uploadId);
        return send(
          200,
          xml(
            `<CompleteMultipartUploadResult ${NS}><Location>http://null-s3/${bucket}/${key}</Location><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>"null-mpu"</ETag></CompleteMultipartUploadResult>`,
          ),
          { 'Content-Type': 'application/xml' },
        );
      }
      if (method === 'DELETE' && uploadId) {
        uploads.delete(uploadId);
        return send(204);
      }
      if (method === 'PUT') {
        objects.set(`${bucket}/${key}`, await drain(request));
        return send(200, '', { ETag: '"null"' });
      }
      if (method === 'DELETE') {
        objects.delete(`${bucket}/${key}`);
        return send(204);
      }
      send(501, xml(`<Error><Code>NotImplemented</Code><Message>${method} ${url.pathname}${url.search}</Message></Error>`));
    })().catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
