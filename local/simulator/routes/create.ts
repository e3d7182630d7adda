/** POST /v1/video/generations: a create, with the account's quota and the create faults. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { toFieldIssues, type ProviderRequest } from '../../../runtime/domain/request-schema.js';
import type { Create5xxKind } from '../faults.js';
import { concurrencyLimited, createdBody, gatewayFault, rateLimited, type GatewayFaultStatus } from '../responses.js';
import type { SimulatedTask } from '../task-store.js';
import { recordFault, type SimulatorContext } from './context.js';
import { authorize, invalidRequest, readJson, sendJson, sendRaw } from './http.js';

/** What fault injection decided for one create. */
type CreatePlan = { answer: 'created' } | { answer: 'rate-limited' } | { answer: '5xx'; kind: Create5xxKind } | { answer: 'hang' };

/** Whether the create makes a task: everything but a 429 and a bare 503 (see faults.ts). */
const makesTask = (plan: CreatePlan) => plan.answer === 'created' || plan.answer === 'hang' || (plan.answer === '5xx' && plan.kind !== '503-empty');

async function readCreate(sim: SimulatorContext, request: IncomingMessage): Promise<ProviderRequest> {
  authorize(request, sim.apiKey);
  const parsed = sim.schema.safeParse(await readJson(request));
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`);
    throw invalidRequest(400, `invalid request: ${issues.join('; ')}`);
  }
  return parsed.data;
}

function planCreate({ dice, faults }: SimulatorContext): CreatePlan {
  if (dice.hits(faults().create429Rate)) return { answer: 'rate-limited' };
  if (dice.hits(faults().create5xxRate)) return { answer: '5xx', kind: dice.pick(faults().create5xxKinds) };
  if (dice.hits(faults().createHangRate)) return { answer: 'hang' };
  return { answer: 'created' };
}

function createTask(sim: SimulatorContext, body: ProviderRequest): SimulatedTask {
  const { dice, faults, store, stats } = sim;
  const failure = dice.hits(faults().taskFailureRate);
  const neverFinish = !failure && dice.hits(faults().taskNeverFinishRate);
  const task = store.create(body, { failure, neverFinish });
  stats.count('tasksCreated');
  stats.activeTasks(store.unfinished());
  if (failure) recordFault(sim, 'taskFailure', task);
  if (neverFinish) recordFault(sim, 'taskNeverFinish', task);
  return task;
}

/**
 * A create, with the quota and its faults. A task that is made is made before any delay or fault
 * answer: like a gateway that relayed the request upstream and then lost, or never sent, the answer.
 */
export async function handleCreate(sim: SimulatorContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { dice, store, stats } = sim;
  stats.count('creates');
  let body: ProviderRequest;
  try {
    body = await readCreate(sim, request);
  } catch (error) {
    stats.count('createsInvalid');
    throw error;
  }

  // From the quota check to the task being made nothing awaits: creates whose bodies arrive
  // together are checked one after the other, so they cannot share the last free slot.
  const { maxActiveTasks } = sim.quota();
  if (store.unfinished() >= maxActiveTasks) {
    stats.count('quotaRefusals');
    stats.count('createsRefused');
    return sendRaw(response, concurrencyLimited(maxActiveTasks));
  }
  const latencyMs = dice.createLatencyMs();
  const plan = planCreate(sim);
  const task = makesTask(plan) ? createTask(sim, body) : undefined;
  if (plan.answer === 'rate-limited') recordFault(sim, 'create429');
  if (plan.answer === '5xx') recordFault(sim, 'create5xx', task);

  if (plan.answer === 'hang') {
    // Counted at once: whatever happens next, the client will not get the id.
    recordFault(sim, 'createHang', task);
    stats.count('createsUnanswered');
    if (!response.destroyed) await new Promise((resolve) => response.once('close', resolve));
    return;
  }

  // On disk before any answer: a client that got the id must find the task after a restart.
  if (task) await store.save();

  if (latencyMs > 0) {
    recordFault(sim, 'createLatency', task);
    await sleep(latencyMs, undefined, { signal: sim.stopping }).catch(() => undefined);
  }
  if (response.destroyed || request.socket.destroyed) {
    // The client gave up (or the simulator is stopping) while the answer was held back.
    if (task) {
      if (plan.answer === 'created') recordFault(sim, 'createAbandoned', task);
      stats.count('createsUnanswered');
    } else {
      stats.count('createsRefused');
    }
    response.destroy();
    return;
  }

  switch (plan.answer) {
    case 'created':
      task!.createAnswered = true;
      void store.save();
      stats.count('createsAccepted');
      return sendJson(response, 200, createdBody(task!));
    case 'rate-limited':
      stats.count('createsRefused');
      return sendRaw(response, rateLimited());
    case '5xx':
      if (plan.kind === '503-empty') {
        stats.count('createsRefused');
        return sendRaw(response, gatewayFault(503, { emptyBody: true }));
      }
      stats.count('createsUnanswered');
      return sendRaw(response, gatewayFault(Number(plan.kind) as GatewayFaultStatus));
  }
}
