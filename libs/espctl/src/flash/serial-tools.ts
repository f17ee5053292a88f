/** Local serial flashing and monitoring (stdio only). The real one wraps Node serialport for libs/flasher. */
export interface FlashImage {
  address: number;
  data: Uint8Array;
  name: string;
}

export interface SerialTools {
  flash(opts: {
    port: string;
    baud: number;
    erase: boolean;
    images: FlashImage[];
    timeoutMs: number;
    onProgress?: (written: number, total: number) => void;
  }): Promise<{ chip: string; bytes_written: number; verified: boolean }>;
  monitor(opts: {
    port: string;
    baud: number;
    durationMs: number;
    maxBytes: number;
  }): Promise<{ text: string; bytes: number; truncated: boolean }>;
}
