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
ws.on('unexpected-response', (_req, res) => {
  console.error(`refused: HTTP ${res.statusCode}`);
  res.pipe(process.stderr);
  res.on('end', () => process.exit(1));
});
ws.on('open', () => {
  process.stdin.on('data', (chunk) => ws.send(chunk));
  process.stdin.on('end', () => ws.send(JSON.stringify({ type: 'CloseStream' })));
});
ws.on('message', (data) => console.error(`bridge: ${data}`));
ws.on('close', (code, reason) => {
  console.error(`closed ${code} ${reason}`);
  process.exit(code === 1000 ? 0 : 1);
});
