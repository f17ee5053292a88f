/** A tiny observable value for useSyncExternalStore: immutable snapshots, shallow-merged updates. */
export class Store<T extends object> {
  private listeners = new Set<() => void>();
  constructor(private value: T) {}
  get = (): T => this.value;
  set(patch: Partial<T> | ((v: T) => Partial<T>)) {
    const p = typeof patch === 'function' ? patch(this.value) : patch;
    this.value = { ...this.value, ...p };
    for (const l of this.listeners) l();
  }
  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
}
