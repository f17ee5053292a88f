// The in-page client for bench/rtc.mjs's werift → Chromium measurement: the same protocol libs/peer speaks,
// written against the browser's RTCPeerConnection (grant → offer → SSE → channels → upload → build → firmware).
export const PAGE = `<!doctype html><meta charset="utf-8"><title>aegis rtc bench</title><script>
window.benchRun = async ({ apiUrl, key, tarB64, tarSha256 }) => {
  const auth = { authorization: 'Bearer ' + key };
  const pc = new RTCPeerConnection({ iceServers: [] });
  const ch = {};
  for (const n of ['espctl', 'firmware']) { ch[n] = pc.createDataChannel(n, { ordered: true }); ch[n].binaryType = 'arraybuffer'; }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 3000); });
  const fp = /a=fingerprint:(\\S+) (\\S+)/.exec(pc.localDescription.sdp);
  const t0 = performance.now();
  const grantRes = await fetch(apiUrl + '/grant/request', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ peer_fingerprint: { algorithm: fp[1].toLowerCase(), value: fp[2].toUpperCase() }, required_channels: ['espctl', 'firmware'] }) });
  const grant = await grantRes.json();
  if (!grantRes.ok) throw new Error('grant: ' + JSON.stringify(grant));
  const events = await fetch(apiUrl + '/signaling/' + grant.job_id + '/events', { headers: { ...auth, accept: 'text/event-stream' } });
  await fetch(apiUrl + '/signaling/' + grant.job_id + '/offer', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'offer', sdp: pc.localDescription.sdp }) });
  const reader = events.body.getReader(); const dec = new TextDecoder(); let buf = '';
  for (let answered = false; !answered;) {
    const { value, done } = await reader.read(); if (done) throw new Error('SSE ended');
    buf += dec.decode(value, { stream: true });
    let i; while ((i = buf.indexOf('\\n\\n')) >= 0) {
      const block = buf.slice(0, i); buf = buf.slice(i + 2);
      const data = block.split('\\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\\n');
      if (!data) continue; const e = JSON.parse(data);
      if (e.type === 'error') throw new Error(e.error.code);
      if (e.type === 'answer') { await pc.setRemoteDescription({ type: 'answer', sdp: e.sdp }); answered = true; }
    }
  }
  reader.cancel().catch(() => {});
  await Promise.all(Object.values(ch).map((c) => c.readyState === 'open' ? 0 : new Promise((r) => c.addEventListener('open', r, { once: true }))));
  const openMs = performance.now() - t0;
  // espctl JSON-RPC
  let nextId = 1; const pending = new Map(); let onStatus = () => {};
  ch.espctl.onmessage = (m) => { const msg = JSON.parse(m.data);
    if (msg.id != null && pending.has(msg.id)) { const p = pending.get(msg.id); pending.delete(msg.id); msg.error ? p.rej(new Error(msg.error.message)) : p.res(msg.result); }
    else if (msg.method === 'status') onStatus(msg.params); };
  const call = (method, params) => new Promise((res, rej) => { const id = nextId++; pending.set(id, { res, rej }); ch.espctl.send(JSON.stringify({ jsonrpc: '2.0', id, method, params })); });
  const tar = Uint8Array.from(atob(tarB64), (c) => c.charCodeAt(0));
  const { max_chunk } = await call('upload.begin', { size: tar.length, sha256: tarSha256, format: 'tar' });
  for (let o = 0; o < tar.length; o += max_chunk) ch.espctl.send(tar.subarray(o, o + max_chunk));
  await call('upload.end', {});
  const built = new Promise((r) => { onStatus = (s) => ['succeeded', 'failed'].includes(s.state) && r(s); });
  await call('build.start', {});
  const status = await built; if (status.state !== 'succeeded') throw new Error('build ' + status.state);
  // firmware: header, chunks, end
  const t1 = performance.now();
  const file = await new Promise((resolve, reject) => { let header; const parts = []; let got = 0;
    ch.firmware.onmessage = (m) => { if (typeof m.data === 'string') { const msg = JSON.parse(m.data);
        if (msg.type === 'header') header = msg; else if (msg.type === 'end') resolve({ header, parts, got }); else reject(new Error(msg.error?.message)); }
      else { parts.push(new Uint8Array(m.data)); got += m.data.byteLength; } };
    ch.firmware.send(JSON.stringify({ type: 'get', name: 'app.bin', offset: 0 })); });
  const ms = performance.now() - t1;
  const all = new Uint8Array(file.got); let o = 0; for (const p of file.parts) { all.set(p, o); o += p.length; }
  const hash = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', all)), (b) => b.toString(16).padStart(2, '0')).join('');
  pc.close();
  return { openMs, ms, size: file.got, ok: hash === file.header.sha256 };
};
</script>`;
