import { describe, expect, it } from 'vitest';
import { ESPLoader, Transport } from 'esptool-js';
import { remoteDevice, serveDevice, SimDevice, SimSerialPort } from '@aegis/device-sim';

const quiet = { clean() {}, writeLine() {}, write() {} };
class QuietTransport extends Transport {
  override trace(): void {}
}

describe('SimSerialPort (Web Serial shim)', () => {
  it('behaves like a SerialPort: streams only while open, one owner at a time', async () => {
    const device = new SimDevice();
    const port = new SimSerialPort(device);
    expect(port.readable).toBeNull();
    expect(port.getInfo()).toEqual({ usbVendorId: 0x10c4, usbProductId: 0xea60 });
    expect('setBaudRate' in port && port.setBaudRate).toBeFalsy();
    await port.open({ baudRate: 115200 });
    const first = port.readable;
    expect(first).toBeInstanceOf(ReadableStream);
    await expect(port.open({ baudRate: 115200 })).rejects.toMatchObject({ name: 'InvalidStateError' });
    // Another tab/program: the OS device is taken.
    const other = new SimSerialPort(device);
    await expect(other.open({ baudRate: 115200 })).rejects.toMatchObject({
      name: 'NetworkError',
      message: 'Failed to open serial port.',
    });
    const reader = port.readable!.getReader();
    await expect(port.close()).rejects.toThrow(TypeError);
    reader.releaseLock();
    await port.close();
    expect(port.readable).toBeNull();
    await other.open({ baudRate: 115200 });
    expect(other.readable).not.toBe(first);
    await other.close();
  });

  it('keeps the last value of each signal across partial setSignals calls', async () => {
    const device = new SimDevice();
    const port = new SimSerialPort(device);
    await port.open({ baudRate: 115200 });
    await port.setSignals({ dataTerminalReady: false });
    await port.setSignals({ requestToSend: true });
    expect(device.mode).toBe('reset');
    // DTR alone: RTS must still read as set, so EN is released (DTR=RTS=1) and IO0 follows once RTS drops.
    await port.setSignals({ dataTerminalReady: true });
    await port.setSignals({ requestToSend: false });
    await new Promise((r) => setTimeout(r, 20));
    expect(device.mode).toBe('rom');
    await port.close();
  });

  it('offers setBaudRate only when asked, and reports USB-Serial-JTAG ids for that variant', async () => {
    const port = new SimSerialPort(new SimDevice({ usbJtagSerial: true }), { inPlaceBaudChange: true });
    expect(port.getInfo()).toEqual({ usbVendorId: 0x303a, usbProductId: 0x1001 });
    expect(typeof port.setBaudRate).toBe('function');
  });
});

describe('worker bridge (SimDevice in a worker, SerialPort in the page)', () => {
  it('esptool-js connects through a MessageChannel to a served device', async () => {
    const device = new SimDevice({ chip: 'esp32s3' });
    const { port1, port2 } = new MessageChannel();
    const stop = serveDevice(device, port1);
    const port = new SimSerialPort(remoteDevice(port2));
    const transport = new QuietTransport(port as never);
    const loader = new ESPLoader({ transport, baudrate: 460800, terminal: quiet });
    const chip = await loader.main('default_reset');
    expect(chip).toContain('ESP32-S3');
    expect(device.mode).toBe('stub');
    expect(device.baud).toBe(460800);
    await transport.disconnect();
    // The device side saw the close: a second page-side port can open it.
    const again = new SimSerialPort(remoteDevice(port2));
    await again.open({ baudRate: 115200 });
    await again.close();
    stop();
    port1.close();
    port2.close();
  });

  it('a device already held on the worker side refuses a second page port', async () => {
    const device = new SimDevice();
    device.attachHost(() => {}, 115200);
    const { port1, port2 } = new MessageChannel();
    const stop = serveDevice(device, port1);
    const port = new SimSerialPort(remoteDevice(port2));
    await expect(port.open({ baudRate: 115200 })).rejects.toMatchObject({ name: 'NetworkError' });
    stop();
    port1.close();
    port2.close();
  });
});
