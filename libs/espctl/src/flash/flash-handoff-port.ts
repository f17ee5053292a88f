import type { FlashRequest } from '@aegis/protocol/flash-handoff';

/** Over HTTP, `flash.run` asks the user's dashboard tab to flash (the API implements this). */
export interface FlashHandoff {
  /** True when the user has a dashboard tab open that polled recently. */
  dashboardConnected(): Promise<boolean>;
  create(jobId: string): Promise<FlashRequest>;
  get(id: string): Promise<FlashRequest | undefined>;
}
