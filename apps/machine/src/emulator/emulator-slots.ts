/**
 * Machine-wide count of running emulators: at most as many QEMU processes as the machine has build slots. Kept
 * apart from build-slot accounting; an emulator uses CPU like a build but holds no build slot.
 */
export class EmulatorSlots {
  private used = 0;
  constructor(readonly max: number) {}

  get inUse(): number {
    return this.used;
  }

  /** A release function, or undefined when every slot is taken. Releasing twice is harmless. */
  tryAcquire(): (() => void) | undefined {
    if (this.used >= this.max) return undefined;
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
    };
  }
}
