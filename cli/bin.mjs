#!/usr/bin/env node
// The `video-pipeline` command: a plain-node launcher that registers tsx, then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./main.ts', import.meta.url).href);
