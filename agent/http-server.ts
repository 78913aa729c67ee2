// The node agent's HTTP API (docs/NODES.md, "The agent's HTTP API"): the node's own
// shard files, served to the CLI, the coordinator, writers and peer agents. Every
// request is checked for the cluster token before anything else runs — unknown paths,
// every method, malformed bodies — so a request without it is answered 401 and has no
// effect. Path ids go through the same validation as every other surface before they
// come near a file name.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorType, TasksdError } from '../common/errors';
import { parseId, parseJobId, quote } from '../common/validation';
import type { TaskInput } from '../store/replicator';
import { MAX_LOAD_TASKS, MAX_REQUEST_BYTES, type AgentHealth, type ErrorBody, type LoadResult, type PutResult, type WireTask } from '../transport/wire';
import { bearerChecker } from './auth';
import { errorReply } from './http-errors';
import type { NodeStore } from './node-store';
import type { SnapshotPins } from './snapshots';

export interface AgentServerOptions {
  nodeId: string;
  dir: string;
  clusterId: string;
  /** TASKSD_CLUSTER_TOKEN: the bearer token every request must carry. */
  token: string;
  store: NodeStore;
  snapshots: SnapshotPins;
  /** PEM: with both, the agent serves HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  logger?: false;
  /** A socket silent this long is closed (a stalled reader must not hold a pin forever). Default 2 min. */
  idleSocketMs?: number;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_TITLE_CHARS = 4096;

const bodySchema = z
  .string({ error: 'body must be base64 text or null' })
  .regex(BASE64, { error: 'body must be base64' })
  .nullable()
  .optional();
const titleSchema = z.string({ error: 'title must be a string' }).min(1, { error: 'title must not be empty' }).max(MAX_TITLE_CHARS, {
  error: `title must be at most ${MAX_TITLE_CHARS} characters`,
});
const putSchema = z.object({ title: titleSchema, body: bodySchema }).strict();
const loadSchema = z
  .object({
    tasks: z
      .array(z.object({ id: z.string(), title: titleSchema, body: bodySchema }).strict(), { error: 'tasks must be an array' })
      .min(1, { error: 'tasks must not be empty' })
      .max(MAX_LOAD_TASKS, { error: `at most ${MAX_LOAD_TASKS} tasks per request` }),
  })
  .strict();
const pinSchema = z.object({ mode: z.enum(['offline', 'online'], { error: 'mode must be offline or online' }).optional() }).strict();

export function createAgentServer(opts: AgentServerOptions): FastifyInstance {
  const authorized = bearerChecker(opts.token);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: MAX_REQUEST_BYTES,
    connectionTimeout: opts.idleSocketMs ?? 120_000,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    // A URL fastify cannot even route (bad percent-encoding) is answered here, before any hook: token first.
    frameworkErrors: (err, req, reply) => {
      if (!authorized(req.headers.authorization)) return void unauthorized(reply);
      sendError(reply, err);
    },
  }) as unknown as FastifyInstance;
  const { store, snapshots } = opts;

  app.addHook('onRequest', async (req, reply) => {
    if (!authorized(req.headers.authorization)) return unauthorized(reply);
  });
  app.setErrorHandler((err, _req, reply) => sendError(reply, err));
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: ErrorType.InvalidInput, message: `no such endpoint: ${req.method} ${quote(req.url)}` } satisfies ErrorBody);
  });
  // Releasing the pins first ends any snapshot stream in flight, so closing does not wait for a long copy.
  app.addHook('preClose', async () => snapshots.close());

  app.get('/v1/health', async (): Promise<AgentHealth> => ({ node: opts.nodeId, dir: opts.dir, cluster: opts.clusterId }));

  app.get('/v1/shards', async () => store.listShards());

  app.post('/v1/shards/:org/:ns', async (req, reply) => {
    const { org, ns } = shardParams(req);
    reply.code(201);
    return store.createShard(org, ns);
  });

  app.put('/v1/shards/:org/:ns/tasks/:id', async (req): Promise<PutResult> => {
    const { org, ns } = shardParams(req);
    const id = parseId('task id', (req.params as { id: string }).id);
    const body = parse(putSchema, req.body);
    const { seq } = await store.put(org, ns, { id, title: body.title, body: decode(body.body) });
    return { id, title: body.title, seq };
  });

  app.get('/v1/shards/:org/:ns/tasks/:id', async (req): Promise<WireTask> => {
    const { org, ns } = shardParams(req);
    const id = parseId('task id', (req.params as { id: string }).id);
    const task = await store.get(org, ns, id);
    if (!task) throw new TasksdError(ErrorType.UnknownTask, `task ${id} not found in shard ${org}/${ns}`);
    return { id: task.id, title: task.title, body: task.body ? task.body.toString('base64') : null, seq: task.seq };
  });

  app.post('/v1/shards/:org/:ns/tasks', async (req): Promise<LoadResult> => {
    const { org, ns } = shardParams(req);
    const { tasks } = parse(loadSchema, req.body);
    // Every id is checked before the one transaction starts: a bad one applies nothing.
    const inputs: TaskInput[] = tasks.map((t) => ({ id: parseId('task id', t.id), title: t.title, body: decode(t.body) }));
    const { seq } = await store.load(org, ns, inputs);
    return { org, ns, rows: inputs.length, seq };
  });

  app.post('/v1/shards/:org/:ns/snapshots/:job', async (req) => {
    const { org, ns, jobId } = snapshotParams(req);
    const { mode } = parse(pinSchema, req.body ?? {});
    return snapshots.pin(org, ns, jobId, mode);
  });

  app.get('/v1/shards/:org/:ns/snapshots/:job/bytes', async (req, reply) => {
    const { org, ns, jobId } = snapshotParams(req);
    const query = req.query as Record<string, string | undefined>;
    const snapshotId = snapshotIdOf(query.snapshot);
    const offset = wholeNumber('offset', query.offset ?? '0');
    const { info, stream } = await snapshots.read(org, ns, jobId, snapshotId, offset);
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-length', String(info.size - offset));
    reply.header('x-snapshot-id', info.snapshotId);
    reply.header('x-snapshot-size', String(info.size));
    return reply.send(stream);
  });

  app.get('/v1/shards/:org/:ns/snapshots/:job/digest', async (req) => {
    const { org, ns, jobId } = snapshotParams(req);
    const snapshotId = snapshotIdOf((req.query as Record<string, string | undefined>).snapshot);
    return { snapshotId, sha256: await snapshots.digest(org, ns, jobId, snapshotId) };
  });

  app.delete('/v1/shards/:org/:ns/snapshots/:job', async (req) => {
    const { org, ns, jobId } = snapshotParams(req);
    return { unpinned: await snapshots.unpin(org, ns, jobId) };
  });

  app.get('/v1/shards/:org/:ns/frames', async (req) => {
    const { org, ns } = shardParams(req);
    const query = req.query as Record<string, string | undefined>;
    const since = wholeNumber('since', query.since ?? '');
    const limit = query.limit === undefined ? undefined : wholeNumber('limit', query.limit, 1);
    return store.framesSince(org, ns, since, limit);
  });

  return app;
}

function unauthorized(reply: FastifyReply): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer')
    .send({ error: ErrorType.Unauthorized, message: 'this node agent needs the cluster token: send Authorization: Bearer $TASKSD_CLUSTER_TOKEN' });
}

function sendError(reply: FastifyReply, err: unknown): void {
  const { status, body } = errorReply(err);
  reply.code(status).send(body);
}

function shardParams(req: FastifyRequest): { org: string; ns: string } {
  const params = req.params as { org: string; ns: string };
  return { org: parseId('org', params.org), ns: parseId('namespace', params.ns) };
}

function snapshotParams(req: FastifyRequest): { org: string; ns: string; jobId: string } {
  return { ...shardParams(req), jobId: parseJobId((req.params as { job: string }).job) };
}

function snapshotIdOf(value: string | undefined): string {
  if (!value || !/^\d+-\d+-[0-9a-f]{1,32}$/.test(value)) {
    throw new TasksdError(ErrorType.InvalidInput, `snapshot ${quote(value)} is not a snapshot id (<seq>-<size>-<checksum prefix>)`);
  }
  return value;
}

function wholeNumber(what: string, value: string, min = 0): number {
  const n = Number(value);
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new TasksdError(ErrorType.InvalidInput, `${what} ${quote(value)} must be a whole number >= ${min}`);
  }
  return n;
}

function decode(body: string | null | undefined): Buffer | null {
  return body === undefined || body === null ? null : Buffer.from(body, 'base64');
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new TasksdError(ErrorType.InvalidInput, result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  }
  return result.data;
}
