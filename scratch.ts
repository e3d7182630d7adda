import { synthesizePipelineTemplate } from './local/cloud-assembly.js';
import { pipelineDefinitionFrom } from './local/pipeline-definition.js';
const t0 = Date.now();
const t = synthesizePipelineTemplate({ providerBaseUrl: 'http://127.0.0.1:4010' });
console.log('synth ms', Date.now() - t0);
const d = pipelineDefinitionFrom(t);
console.log(d.stateMachineArn, d.tableName, d.bucketName, d.functionEnvironment);
console.log(Object.keys(d.asl.States));
