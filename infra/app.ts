import { createPipelineApp } from './pipeline-app.js';

createPipelineApp().app.synth();
