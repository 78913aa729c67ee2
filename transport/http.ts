// ShardTransport over the node agent's HTTP API, with undici (the client behind Node's
// own fetch; the package gives us its Agent for a private CA and timeouts). Every
// call carries the cluster token; an agent's JSON error comes back as the TasksdError
// it names, and an agent that does not answer becomes one NodeUnreachable line naming
// its URL.
import * as fs from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { ErrorType, TasksdError, type ErrorTypeName } from '../common/errors';
import type { ShardListing } from '../store/cluster';
import type { ChangeBatch } from '../store/replay';
import type { TaskInput } from '../store/replicator';
import type { Task } from '../store/shard-file';
import type { ShardTransport } from './transport';
import {
  ShardMovedError,
  type AgentHealth,
  type CreatedShard,
  type ErrorBody,
  type LoadResult,
  type PutResult,
  type ShardRef,
  type SnapshotInfo,
  type SnapshotMode,
  type WireTask,
} from './wire';

export interface HttpTransportOptions {
  /** The agent's base URL, e.g. http://10.0.0.2:7420 or https://node-b.example:7420. */
  url: string;
  /** TASKSD_CLUSTER_TOKEN. */
  token: string;
  /** PEM of a CA to trust in addition to the system roots (the contents of TASKSD_TLS_CA). */
  ca?: string | Buffer;
  /** A PEM file to read `ca` from (TASKSD_TLS_CA's value). */
  caFile?: string;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Until the response headers arrive; a pin may wait up to 30 s for a checkpoint. Default 90 s. */
  headersTimeoutMs?: number;
  /** The longest silence inside a response body. Default 60 s. */
  bodyTimeoutMs?: number;
}

const KNOWN_TYPES = new Set<string>(Object.values(ErrorType));
/** How much of a snapshot stream is buffered ahead of the disk writes (1 MiB: see WRITE_BUFFER_BYTES in pull-copy.ts). */
const STREAM_BUFFER_BYTES = 1024 * 1024;

export class HttpTransport implements ShardTransport {
  readonly url: string;
  private readonly dispatcher: Agent;
  private readonly auth: string;
  private readonly headersTimeout: number;
  private readonly bodyTimeout: number;

  constructor(options: HttpTransportOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.auth = `Bearer ${options.token}`;
    const ca = options.ca ?? (options.caFile ? readCa(options.caFile) : undefined);
    this.dispatcher = new Agent({
      connect: { timeout: options.connectTimeoutMs ?? 10_000, ...(ca ? { ca: [...rootCertificates, ca.toString()] } : {}) },
    });
    this.headersTimeout = options.headersTimeoutMs ?? 90_000;
    this.bodyTimeout = options.bodyTimeoutMs ?? 60_000;
  }

  health(): Promise<AgentHealth> {
    return this.json('GET', '/v1/health');
  }

  pin(ref: ShardRef, mode: SnapshotMode): Promise<SnapshotInfo> {
    return this.json('POST', `${snapshotPath(ref)}`, { mode });
  }

  /**
   * The snapshot's bytes as a stream: the body is handed on as it arrives, and a body
   * that breaks becomes one NodeUnreachable error naming the byte it broke at.
   */
  readFrom(ref: ShardRef, snapshotId: string, offset: number, signal?: AbortSignal): Readable {
    const path = `${snapshotPath(ref)}/bytes?offset=${offset}&snapshot=${encodeURIComponent(snapshotId)}`;
    const out = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
    this.send('GET', path, undefined, signal).then(
      (res) => {
        if (out.destroyed) return void res.body.destroy();
        let received = 0;
        res.body.on('data', (chunk: Buffer) => (received += chunk.length));
        res.body.once('error', (err) => out.destroy(signal?.aborted ? signal.reason : this.unreachable(err, `the snapshot stream broke after ${offset + received} bytes`)));
        out.once('close', () => res.body.destroy());
        res.body.pipe(out);
      },
      (err) => out.destroy(err),
    );
    return out;
  }

  async digest(ref: ShardRef, snapshotId: string): Promise<string> {
    const body = await this.json<{ sha256: string }>('GET', `${snapshotPath(ref)}/digest?snapshot=${encodeURIComponent(snapshotId)}`);
    return body.sha256;
  }

  async unpin(ref: ShardRef): Promise<void> {
    await this.json('DELETE', snapshotPath(ref));
  }

  framesSince(org: string, ns: string, since: number, limit?: number): Promise<ChangeBatch> {
    return this.json('GET', `${shardPath(org, ns)}/frames?since=${since}${limit === undefined ? '' : `&limit=${limit}`}`);
  }

  listShards(): Promise<ShardListing[]> {
    return this.json('GET', '/v1/shards');
  }

  createShard(org: string, ns: string): Promise<CreatedShard> {
    return this.json('POST', shardPath(org, ns), {});
  }

  put(org: string, ns: string, task: TaskInput): Promise<PutResult> {
    return this.json('PUT', `${shardPath(org, ns)}/tasks/${encodeURIComponent(task.id)}`, { title: task.title, body: encode(task.body) });
  }

  async get(org: string, ns: string, id: string): Promise<Task | undefined> {
    try {
      const task = await this.json<WireTask>('GET', `${shardPath(org, ns)}/tasks/${encodeURIComponent(id)}`);
      return { id: task.id, title: task.title, body: task.body === null ? null : Buffer.from(task.body, 'base64'), seq: task.seq };
    } catch (err) {
      if (err instanceof TasksdError && err.type === ErrorType.UnknownTask) return undefined;
      throw err;
    }
  }

  load(org: string, ns: string, tasks: TaskInput[]): Promise<LoadResult> {
    return this.json('POST', `${shardPath(org, ns)}/tasks`, { tasks: tasks.map((t) => ({ id: t.id, title: t.title, body: encode(t.body) })) });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    try {
      return (await res.body.json()) as T;
    } catch (err) {
      throw this.unreachable(err, `${method} ${path}: the answer was cut off`);
    }
  }

  /** One request; a non-2xx answer is thrown as the error it carries. */
  private async send(method: Dispatcher.HttpMethod, path: string, body?: unknown, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.url}${path}`, {
        method,
        dispatcher: this.dispatcher,
        headers: { authorization: this.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        headersTimeout: this.headersTimeout,
        bodyTimeout: this.bodyTimeout,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw this.unreachable(err, `${method} ${path.replace(/\?.*/, '')}`);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    throw await this.answerError(res, method, path);
  }

  private async answerError(res: Dispatcher.ResponseData, method: string, path: string): Promise<Error> {
    const text = await res.body.text().catch(() => '');
    let parsed: Partial<ErrorBody> = {};
    try {
      parsed = JSON.parse(text) as ErrorBody;
    } catch {
      // not JSON: a proxy, or not an agent at all
    }
    const type = typeof parsed.error === 'string' && KNOWN_TYPES.has(parsed.error) ? (parsed.error as ErrorTypeName) : undefined;
    const message = typeof parsed.message === 'string' ? parsed.message : text.slice(0, 200).replace(/\s+/g, ' ');
    if (type === ErrorType.Moved && typeof parsed.owner === 'string') {
      const [org, ns] = path.split('/').slice(3, 5).map(decodeURIComponent);
      return new ShardMovedError(org ?? '', ns ?? '', parsed.owner, message);
    }
    if (type === ErrorType.Unauthorized) {
      return new TasksdError(type, `node agent at ${this.url} refused the request (401): set TASKSD_CLUSTER_TOKEN to this cluster's token`);
    }
    if (type) return new TasksdError(type, message);
    return new TasksdError(ErrorType.AgentError, `node agent at ${this.url} answered ${res.statusCode} to ${method} ${path.replace(/\?.*/, '')}: ${message}`);
  }

  private unreachable(err: unknown, doing: string): TasksdError {
    if (err instanceof TasksdError) return err;
    const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    const code = e.code ?? e.cause?.code;
    const detail = [code, e.cause?.message ?? e.message].filter(Boolean).join(' ');
    const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL/.test(detail)
      ? ' (TLS: trust the agent\'s CA with TASKSD_TLS_CA=<PEM file>)'
      : '';
    return new TasksdError(ErrorType.NodeUnreachable, `node agent at ${this.url} is unreachable: ${doing}: ${detail}${tls}`);
  }
}

function shardPath(org: string, ns: string): string {
  return `/v1/shards/${encodeURIComponent(org)}/${encodeURIComponent(ns)}`;
}

function snapshotPath(ref: ShardRef): string {
  return `${shardPath(ref.org, ref.ns)}/snapshots/${encodeURIComponent(ref.jobId)}`;
}

function encode(body: Buffer | null | undefined): string | null {
  return body ? body.toString('base64') : null;
}

function readCa(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new TasksdError(ErrorType.InvalidInput, `TASKSD_TLS_CA=${file} cannot be read: ${(err as Error).message}`);
  }
}
