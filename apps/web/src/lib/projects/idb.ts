/**
 * The few promise helpers the project store needs over IndexedDB (no wrapper library). Requests are issued inside
 * one transaction and awaited in microtasks, which keeps the transaction alive; awaiting anything else would not.
 */
export function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

export function finished(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

export const PROJECT_DB_NAME = 'aegis-projects';
const VERSION = 1;

/**
 * Stores: `projects` (id → Project), `files` ([projectId, path] → ProjectFile, index byProject), `builds` (jobId →
 * ProjectBuild, index byProject: small, read by the build history) and `sources` (jobId → the files that build
 * was started with, index byProject: large, read only for the diff).
 */
export function openProjectDb(factory: IDBFactory, name = PROJECT_DB_NAME): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = factory.open(name, VERSION);
    r.onupgradeneeded = () => {
      const db = r.result;
      db.createObjectStore('projects', { keyPath: 'id' });
      db.createObjectStore('files', { keyPath: ['projectId', 'path'] }).createIndex('byProject', 'projectId');
      db.createObjectStore('builds', { keyPath: 'jobId' }).createIndex('byProject', 'projectId');
      db.createObjectStore('sources', { keyPath: 'jobId' }).createIndex('byProject', 'projectId');
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB could not be opened'));
    r.onblocked = () =>
      reject(new Error('The project database is held by an older version of this page in another tab; close it.'));
  });
}
