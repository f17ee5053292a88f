export * from './api.js';
export * from './machine.js';
