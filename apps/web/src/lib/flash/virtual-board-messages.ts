/** Messages between the page's WorkerSerialPort and the virtual board's worker. */
export type BoardRequest =
  | { t: 'open'; id: number; baud: number }
  | { t: 'close'; id: number }
  | { t: 'write'; bytes: Uint8Array }
  | { t: 'signals'; dtr: boolean; rts: boolean };

export type BoardReply =
  { t: 'done'; id: number; error?: { name: string; message: string } } | { t: 'data'; bytes: Uint8Array };
