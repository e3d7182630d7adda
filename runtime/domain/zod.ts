// Runtime code keeps one zod import of its own; the dialect and its locale are the contracts' (contracts/zod.ts).
export * from '../../contracts/zod.js';
