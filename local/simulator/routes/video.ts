/** GET and HEAD /videos/{id}.mp4: the task's MP4, cut short when the download fault hits. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveVideo } from '../serve-video.js';
import { recordFault, type SimulatorContext } from './context.js';
import { invalidRequest } from './http.js';

export async function handleVideo(sim: SimulatorContext, request: IncomingMessage, response: ServerResponse, id: string): Promise<void> {
  const { dice, faults, store, stats } = sim;
  const task = store.get(id);
  const video = task?.video;
  if (!task || !video) throw invalidRequest(404, 'no such video', 'not_found');
  const isGet = request.method === 'GET';
  if (isGet) stats.count('downloads');
  if (isGet && faults().downloadLatencyMs > 0) await sleep(faults().downloadLatencyMs);
  const cut = isGet && dice.hits(faults().downloadCutRate);
  const served = await serveVideo(request, response, video, cut ? { cutAfterBytes: faults().downloadCutAfterBytes } : {});
  if (served === 'cut') {
    recordFault(sim, 'downloadCut', task);
    stats.count('downloadsCut');
  } else if (served === 'full') {
    task.fullDownloads += 1;
    stats.count('fullDownloads');
  }
}
