import { createDocumentClient } from './aws-clients.js';
import { createGenerationHistory, type GenerationHistory } from '../workflow/polling/generation-history.js';

/** SubmitTask reads the generation history and PollTask writes it; without its table there is none. */
export function generationHistoryFrom(env: { GENERATION_HISTORY_TABLE?: string | undefined }): GenerationHistory | undefined {
  return env.GENERATION_HISTORY_TABLE ? createGenerationHistory(createDocumentClient(), env.GENERATION_HISTORY_TABLE) : undefined;
}
