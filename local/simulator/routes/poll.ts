/** GET /v1/video/generations/{id}: the task as the gateway reports it, with the poll faults. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatewayFault, pollBody, rateLimited, taskNotFound, truncatedJson, type GatewayFaultStatus } from '../responses.js';
import { recordFault, type SimulatorContext } from './context.js';
import { authorize, HttpError, sendJson, sendRaw } from './http.js';

const GET_5XX_STATUSES: readonly GatewayFaultStatus[] = [500, 502, 503, 504];

export async function handlePoll(sim: SimulatorContext, request: IncomingMessage, response: ServerResponse, id: string): Promise<void> {
  const { dice, faults, store, stats } = sim;
  stats.count('polls');
  authorize(request, sim.apiKey);
  const task = store.get(id);
  if (!task) throw new HttpError(404, taskNotFound(id));
  if (dice.hits(faults().get429Rate)) {
    recordFault(sim, 'get429', task);
    stats.count('pollFaults');
    return sendRaw(response, rateLimited());
  }
  if (dice.hits(faults().get5xxRate)) {
    recordFault(sim, 'get5xx', task);
    stats.count('pollFaults');
    return sendRaw(response, gatewayFault(dice.pick(GET_5XX_STATUSES)));
  }
  const body = pollBody(store.snapshot(task, sim.videoUrl(id)), sim.style);
  if (dice.hits(faults().malformedJsonRate)) {
    recordFault(sim, 'malformedJson', task);
    stats.count('pollFaults');
    return sendRaw(response, truncatedJson(body));
  }
  return sendJson(response, 200, body);
}
