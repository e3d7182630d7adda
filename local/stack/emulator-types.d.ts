// The emulators ship no type declarations; these cover the parts the local stack uses.
declare module 'dynalite' {
  import type { Server } from 'node:http';
  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }
  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}

declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { AddressInfo } from 'node:net';
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
    key?: string | Buffer;
    cert?: string | Buffer;
  }
  /**
   * What s3rver 3.7.1 emits as 'event' (lib/models/event.js), checked against the real client: eventName
   * ObjectCreated:Put | ObjectCreated:Copy | ObjectCreated:Post (CompleteMultipartUpload and browser POST
   * alike) | ObjectRemoved:Delete; the key raw (not URL-encoded, unlike S3's own notifications); eTag
   * the bare MD5 hex, no quotes, even after a multipart upload; Copy events carry no eTag (the local S3's
   * thread adds it, local/emulators/s3/s3rver-thread.ts) and deletes no size.
   */
  export interface S3rverEvent {
    Records: {
      eventName: string;
      eventTime: string;
      requestParameters: { sourceIPAddress: string };
      responseElements: { 'x-amz-request-id': string; 'x-amz-id-2': string };
      s3: {
        bucket: { name: string; arn: string };
        object: { key: string; sequencer: string; size?: number; eTag?: string; versionId?: string };
      };
    }[];
  }
  export default class S3rver extends EventEmitter {
    constructor(options: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
}
