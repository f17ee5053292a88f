export * from './api.js';
export * from './machine.js';
export * from './spawn-service.js';
export * from './idf-store.js';
