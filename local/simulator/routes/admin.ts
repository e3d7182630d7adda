/** `/_admin/faults` and `/_admin/quota` (GET, PUT), `/_admin/stats` (GET): to loopback clients only (they change what the simulator does, so no one off this machine may), without a key. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopbackAddress } from '../../../runtime/net/loopback.js';
import { SimulatorFaultsError } from '../faults.js';
import { SimulatorQuotaError, simulatorQuota } from '../quota.js';
import { gatewayError } from '../responses.js';
import type { SimulatorContext } from './context.js';
import { HttpError, invalidRequest, methodNotAllowed, readJson, sendJson } from './http.js';

export const ADMIN_FAULTS_PATH = '/_admin/faults';
export const ADMIN_STATS_PATH = '/_admin/stats';
export const ADMIN_QUOTA_PATH = '/_admin/quota';

export async function handleAdmin(sim: SimulatorContext, request: IncomingMessage, response: ServerResponse, pathname: string): Promise<void> {
  const method = request.method ?? 'GET';
  if (!isLoopbackAddress(request.socket.remoteAddress)) {
    throw new HttpError(403, gatewayError('the admin routes are served to loopback clients only', 'permission_error', 'forbidden'));
  }
  if (pathname === ADMIN_STATS_PATH) {
    if (method !== 'GET') throw methodNotAllowed(response, 'GET');
    return sendJson(response, 200, sim.stats.snapshot());
  }
  if (pathname === ADMIN_FAULTS_PATH) {
    if (method === 'GET') return sendJson(response, 200, sim.faults());
    if (method !== 'PUT') throw methodNotAllowed(response, 'GET, PUT');
    try {
      return sendJson(response, 200, sim.setFaults(await readJson(request)));
    } catch (error) {
      if (error instanceof SimulatorFaultsError) throw invalidRequest(400, error.message, 'invalid_faults');
      throw error;
    }
  }
  if (pathname === ADMIN_QUOTA_PATH) {
    if (method === 'GET') return sendJson(response, 200, sim.quota());
    if (method !== 'PUT') throw methodNotAllowed(response, 'GET, PUT');
    try {
      return sendJson(response, 200, sim.setMaxActiveTasks(simulatorQuota(await readJson(request)).maxActiveTasks));
    } catch (error) {
      if (error instanceof SimulatorQuotaError) throw invalidRequest(400, error.message, 'invalid_quota');
      throw error;
    }
  }
  throw invalidRequest(404, `no route for ${method} ${pathname}`, 'not_found');
}
