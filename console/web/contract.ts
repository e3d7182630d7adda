import { useEffect, useState } from 'preact/hooks';
import { call, describeError } from './api.js';

/**
 * The choices the page offers come from the API's own OpenAPI document (GET /openapi.json, made from
 * runtime/domain/request-schema.ts), so the form and the filters follow the contract without a copy
 * of its lists here.
 */
export interface Contract {
  statuses: string[];
  triggers: string[];
  ratios: string[];
  resolutions: string[];
  imageRoles: string[];
  priorities: string[];
  duration: { min: number; max: number; modelDecides: number | undefined; default: number };
  defaults: { ratio: string; resolution: string; generateAudio: boolean; watermark: boolean; model: string };
}

type Json = unknown;

function at(node: Json, ...keys: (string | number)[]): Json {
  let current = node;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, Json>)[key];
  }
  return current;
}

function strings(node: Json, what: string): string[] {
  if (!Array.isArray(node) || node.length === 0 || !node.every((item) => typeof item === 'string')) {
    throw new Error(`the OpenAPI document has no list of ${what}`);
  }
  return node;
}

function number(node: Json, what: string): number {
  if (typeof node !== 'number') throw new Error(`the OpenAPI document has no ${what}`);
  return node;
}

/** The request example's model, since the document lists models in prose only (they are configuration). */
function exampleModel(document: Json): string {
  const examples = at(document, 'paths', '/jobs', 'post', 'requestBody', 'content', 'application/json', 'examples');
  for (const example of Object.values((examples ?? {}) as Record<string, Json>)) {
    const model = at(example, 'value', 'model');
    if (typeof model === 'string') return model;
  }
  throw new Error('the OpenAPI document has no example model');
}

export function readContract(document: Json): Contract {
  const request = at(document, 'components', 'schemas', 'JobRequest', 'properties');
  const view = at(document, 'components', 'schemas', 'JobView', 'properties');
  const items = at(request, 'content', 'items', 'oneOf');
  const imageItem = Array.isArray(items) ? items.find((item) => at(item, 'properties', 'type', 'const') === 'image_url') : undefined;
  const durationParts = at(request, 'duration', 'anyOf');
  const range = Array.isArray(durationParts) ? durationParts.find((part) => at(part, 'minimum') !== undefined) : undefined;
  const single = Array.isArray(durationParts) ? durationParts.find((part) => typeof at(part, 'const') === 'number') : undefined;
  return {
    statuses: strings(at(view, 'status', 'enum'), 'statuses'),
    triggers: strings(at(view, 'trigger', 'properties', 'type', 'enum'), 'triggers'),
    ratios: strings(at(request, 'ratio', 'enum'), 'ratios'),
    resolutions: strings(at(request, 'resolution', 'enum'), 'resolutions'),
    imageRoles: strings(at(imageItem, 'properties', 'role', 'enum'), 'image roles'),
    priorities: strings(at(request, 'priority', 'enum'), 'priorities'),
    duration: {
      min: number(at(range, 'minimum'), 'minimum duration'),
      max: number(at(range, 'maximum'), 'maximum duration'),
      modelDecides: typeof at(single, 'const') === 'number' ? (at(single, 'const') as number) : undefined,
      default: number(at(request, 'duration', 'default'), 'default duration'),
    },
    defaults: {
      ratio: String(at(request, 'ratio', 'default')),
      resolution: String(at(request, 'resolution', 'default')),
      generateAudio: at(request, 'generate_audio', 'default') === true,
      watermark: at(request, 'watermark', 'default') === true,
      model: exampleModel(document),
    },
  };
}

let loading: Promise<Contract> | undefined;

function loadContract(): Promise<Contract> {
  loading ??= call<Json>('GET', '/openapi.json').then(readContract);
  // A failed load is not kept: the next view that needs the contract asks again.
  loading.catch(() => (loading = undefined));
  return loading;
}

export type ContractState = { contract: Contract; error?: undefined } | { contract?: undefined; error: string } | { contract?: undefined; error?: undefined };

export function useContract(): ContractState {
  const [state, setState] = useState<ContractState>({});
  useEffect(() => {
    let current = true;
    loadContract().then(
      (contract) => current && setState({ contract }),
      (error: unknown) => current && setState({ error: `cannot read the API's contract: ${describeError(error)}` }),
    );
    return () => {
      current = false;
    };
  }, []);
  return state;
}
