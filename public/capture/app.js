// The capture page: microphone -> AudioWorklet (16 kHz where the browser allows it) -> WebSocket ingest.
const meeting = document.body.dataset.meeting;
const form = document.getElementById('form');
const tokenInput = document.getElementById('token');
const startButton = document.getElementById('start');
const stopButton = document.getElementById('stop');
const stateText = document.getElementById('state');
const levelMeter = document.getElementById('level');
const detail = document.getElementById('detail');

let session;

function show(state, more = '') {
  stateText.textContent = state;
  detail.textContent = more;
  document.body.dataset.state = state;
}

async function start(token) {
  // Created first, while the click still counts as a user gesture: later, the browser would start it suspended.
  // Asking for 16 kHz lets the browser resample; if it refuses, the bridge resamples whatever rate this is.
  const context = new AudioContext({ sampleRate: 16000 });
  const media = await navigator.mediaDevices.getUserMedia({
    // The recognizer wants the voice as spoken: no processing meant for calls.
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  await context.audioWorklet.addModule('/capture/worklet.js');
  await context.resume();
  const source = context.createMediaStreamSource(media);
  const chunker = new AudioWorkletNode(context, 'pcm-chunker', { channelCount: 1, channelCountMode: 'explicit' });
  source.connect(chunker);
  // The browser only runs audio nodes that lead to the output; the chunker writes silence there.
  chunker.connect(context.destination);

  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const query = new URLSearchParams({ token, encoding: 'linear16', sample_rate: String(context.sampleRate), channels: '1' });
  const ws = new WebSocket(`${scheme}://${location.host}/ingest/${encodeURIComponent(meeting)}?${query}`);
  ws.binaryType = 'arraybuffer';
  show('connecting');
  let sentSeconds = 0;
  chunker.port.onmessage = ({ data }) => {
    levelMeter.value = Math.min(1, data.level * 4);
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(data.pcm);
    sentSeconds += data.pcm.byteLength / 2 / context.sampleRate;
    detail.textContent = `${sentSeconds.toFixed(1)} s of audio sent at ${context.sampleRate} Hz (${context.state})`;
  };
  ws.onopen = () => show('streaming', `${context.sampleRate} Hz`);
  ws.onmessage = ({ data }) => {
    const message = JSON.parse(data);
    if (message.type === 'Metadata') detail.textContent = `${message.captions} captions, ${message.words} words`;
  };
  ws.onclose = ({ code, reason }) => {
    stop(false);
    // The browser hides an HTTP refusal's body; 1006 before opening almost always means a wrong token.
    show('closed', code === 1006 && sentSeconds === 0 ? 'refused: check the token and that the meeting exists' : `${code} ${reason}`);
  };
  session = { media, context, ws };
  startButton.disabled = true;
  stopButton.disabled = false;
}

function stop(sendClose = true) {
  if (!session) return;
  const { media, context, ws } = session;
  session = undefined;
  media.getTracks().forEach((track) => track.stop());
  void context.close();
  // CloseStream: the bridge captions what it has, answers with Metadata and closes.
  if (sendClose && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'CloseStream' }));
  levelMeter.value = 0;
  startButton.disabled = false;
  stopButton.disabled = true;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  start(tokenInput.value).catch((err) => show('error', err.message));
});
stopButton.addEventListener('click', () => stop());
