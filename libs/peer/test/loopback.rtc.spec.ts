import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection, type RTCDataChannel } from 'werift';
import { waitOpen } from '../src/channel.js';
import { wrapDataChannel } from '../src/werift-channel.js';
import { fileSourceFromBuffer, sendFile } from '../src/file-transfer.js';
import { FirmwareClient } from '../src/firmware-client.js';
import { iceGatheringComplete } from '../src/gather.js';
import { LimitedSender } from '../src/limited-sender.js';
import { withOwnCertificate } from '../src/dtls-keys.js';
import { loopbackRtcConfig } from '../src/rtc-config.js';
import { fingerprintFromSdp } from '../src/sdp.js';

/** Two werift peers in this process, loopback only; the answerer hands its channels to `onChannel`. */
async function pair(labels: string[], onChannel: (dc: RTCDataChannel) => void) {
  const a = new RTCPeerConnection(await withOwnCertificate(loopbackRtcConfig));
  const b = new RTCPeerConnection(await withOwnCertificate(loopbackRtcConfig));
  b.onDataChannel.subscribe(onChannel);
  const chans = labels.map((l) => wrapDataChannel(a.createDataChannel(l, { ordered: true })));
  await a.setLocalDescription(await a.createOffer());
  await iceGatheringComplete(a);
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await iceGatheringComplete(b);
  await a.setRemoteDescription(b.localDescription!);
  await Promise.all(chans.map((c) => waitOpen(c)));
  return { a, b, chans };
}

describe('libs/peer over real werift data channels (loopback)', () => {
  const pcs: RTCPeerConnection[] = [];
  afterAll(async () => {
    for (const pc of pcs) await pc.close();
  });

  it('gives each connection its own DTLS certificate', async () => {
    const { a, b } = await pair(['x'], () => undefined);
    pcs.push(a, b);
    expect(fingerprintFromSdp(a.localDescription!.sdp)).not.toEqual(fingerprintFromSdp(b.localDescription!.sdp));
  });

  it('sends 8 MiB with back-pressure and sha256 intact', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const { a, b, chans } = await pair(['firmware'], (dc) => {
      const ch = wrapDataChannel(dc);
      const sender = new LimitedSender(ch);
      let maxBuffered = 0;
      ch.onMessage(() => {
        const timer = setInterval(() => (maxBuffered = Math.max(maxBuffered, ch.bufferedAmount)), 5);
        void sendFile(sender, fileSourceFromBuffer('big.bin', data), 0).finally(() => {
          clearInterval(timer);
          // The sender never let the buffer grow far past its high-water mark.
          expect(maxBuffered).toBeLessThan(2 * 1024 * 1024);
        });
      });
    });
    pcs.push(a, b);
    const fw = await new FirmwareClient(chans[0]).fetch('big.bin');
    expect(fw.sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });
});
