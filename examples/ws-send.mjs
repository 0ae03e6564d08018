#!/usr/bin/env node
// Streams raw 16 kHz mono s16le audio from stdin to a caption-bridge meeting, then asks the bridge to flush.
//   ffmpeg -re -i talk.mp3 -f s16le -ac 1 -ar 16000 - | node examples/ws-send.mjs ws://127.0.0.1:8080/ingest/demo demo-token
import WebSocket from 'ws';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node examples/ws-send.mjs WS_URL TOKEN < audio.s16le');
  process.exit(2);
}
const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
ws.on('error', (err) => {
  console.error(`cannot stream to ${url}: ${err.message}`);
  process.exit(1);
});
ws.on('unexpected-response', (_req, res) => {
  console.error(`refused: HTTP ${res.statusCode}`);
  res.pipe(process.stderr);
  res.on('end', () => process.exit(1));
});
/** A file format's first bytes: such a file piped in as it is would be taken as PCM noise and give no captions. */
function containerOf(head) {
  const text = head.subarray(0, 4).toString('latin1');
  if (text === 'ID3' + text[3] || (head[0] === 0xff && (head[1] & 0xe0) === 0xe0)) return 'an MP3 file';
  if (text === 'RIFF') return 'a WAV file';
  if (text === 'OggS') return 'an Ogg file';
  if (text === 'fLaC') return 'a FLAC file';
  if (head.readUInt32BE(0) === 0x1a45dfa3) return 'a WebM/Matroska file';
  if (head.subarray(4, 8).toString('latin1') === 'ftyp') return 'an MP4/M4A file';
  return undefined;
}

ws.on('open', () => {
  let first = true;
  process.stdin.on('data', (chunk) => {
    if (first && chunk.length >= 8) {
      first = false;
      const container = containerOf(chunk);
      if (container) {
        console.error(`stdin is ${container}, not raw 16 kHz mono s16le PCM: convert it on the way, e.g.\n  ffmpeg -re -i talk.mp3 -f s16le -ac 1 -ar 16000 - | node examples/ws-send.mjs ${url} TOKEN`);
        ws.close(1000);
        process.exit(2);
      }
    }
    ws.send(chunk);
  });
  process.stdin.on('end', () => ws.send(JSON.stringify({ type: 'CloseStream' })));
});
ws.on('message', (data) => console.error(`bridge: ${data}`));
ws.on('close', (code, reason) => {
  console.error(`closed ${code} ${reason}`);
  process.exit(code === 1000 ? 0 : 1);
});
