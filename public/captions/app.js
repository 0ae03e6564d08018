// The caption page: reads the meeting's captions as server-sent events (fetch, so the viewer token travels in a
// header, not in a URL that logs keep), shows the whole meeting with the newest caption at the bottom, follows
// live unless the reader scrolled back, and reconnects by itself, resuming after the last caption it has.
'use strict';

const body = document.body;
const meeting = body.dataset.meeting;
const isPublic = body.dataset.public === 'true';
const query = new URLSearchParams(location.search);
const overlay = query.has('overlay');
const overlayLines = Math.min(Math.max(Number(query.get('lines')) || 2, 1), 6);
const captions = document.getElementById('captions');
const statusLine = document.getElementById('status');
const liveButton = document.getElementById('live');
const ask = document.getElementById('ask');
const tokenInput = document.getElementById('token');
const themeSelect = document.getElementById('theme');

const SCALES = [0.6, 0.75, 0.9, 1, 1.2, 1.45, 1.75, 2.1];
const settings = { size: 3, theme: 'dark' };
try {
  Object.assign(settings, JSON.parse(localStorage.getItem('caption-page') ?? '{}'));
} catch {
  // Settings are a convenience: a page that cannot read them starts with the defaults.
}
const tokenKey = `caption-page-token:${meeting}`;
let token = new URLSearchParams(location.hash.slice(1)).get('token') ?? sessionStorage.getItem(tokenKey) ?? '';
if (location.hash) history.replaceState(null, '', location.pathname + location.search);

let lastSeq = 0;
let last;
let following = true;
let retryTimer;

function applySettings() {
  // The overlay is white text outlined in black over video, whatever the reader chose for the page on this browser:
  // a stored Light theme there would be near-black text on the stream.
  if (overlay) {
    body.className = 'theme-dark overlay';
    return;
  }
  settings.size = Math.min(Math.max(settings.size, 0), SCALES.length - 1);
  document.documentElement.style.setProperty('--scale', String(SCALES[settings.size]));
  body.className = `theme-${settings.theme}`;
  themeSelect.value = settings.theme;
  try {
    localStorage.setItem('caption-page', JSON.stringify(settings));
  } catch {
    // Private windows may refuse storage; the settings still apply to this visit.
  }
  keepPlace();
}

/**
 * Larger text, another theme, a window resized or turned: the captions reflow without a scroll event, so a reader
 * who was following live is put back on the newest caption, and one who had scrolled back is offered the way back.
 */
function keepPlace() {
  if (overlay) return;
  if (following) captions.scrollTop = captions.scrollHeight;
  else liveButton.hidden = atBottom();
}

function setStatus(text, live = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle('live', live);
}

function atBottom() {
  return captions.scrollHeight - captions.scrollTop - captions.clientHeight < 8;
}

function scrollToLive() {
  captions.scrollTop = captions.scrollHeight;
  following = true;
  liveButton.hidden = true;
}

/** A new paragraph when the speaker changes or the speech paused: the page reads like a transcript. */
function startsParagraph(caption) {
  if (!last) return true;
  if (caption.speaker !== undefined && caption.speaker !== last.speaker) return true;
  const pause = caption.start - last.end;
  return pause > 2.5 || (/[.?!]$/.test(last.text) && pause > 1.2);
}

function show(caption) {
  if (caption.seq <= lastSeq) return;
  lastSeq = caption.seq;
  if (caption.corrects !== undefined) return correct(caption);
  const newParagraph = startsParagraph(caption);
  let paragraph = captions.lastElementChild;
  if (newParagraph || !paragraph) {
    paragraph = document.createElement('p');
    if (caption.speaker) {
      const who = document.createElement('span');
      who.className = 'speaker';
      who.textContent = `${caption.speaker}:`;
      paragraph.append(who);
    }
    captions.append(paragraph);
  } else {
    paragraph.append(' ');
  }
  const span = document.createElement('span');
  span.className = 'caption newest';
  span.dataset.seq = String(caption.seq);
  // The caption box shows who speaks inside the text ("Ana: ..."); here the paragraph's label says it already.
  const said = caption.speaker && caption.text.startsWith(`${caption.speaker}: `) ? caption.text.slice(caption.speaker.length + 2) : caption.text;
  span.textContent = said;
  captions.querySelector('.newest')?.classList.remove('newest');
  paragraph.append(span);
  last = caption;
  if (overlay) {
    // The overlay keeps the last lines only.
    while (captions.querySelectorAll('.caption').length > overlayLines) {
      const first = captions.querySelector('.caption');
      const parent = first.parentElement;
      first.remove();
      if (!parent.querySelector('.caption')) parent.remove();
    }
  } else if (following) {
    captions.scrollTop = captions.scrollHeight;
  } else {
    liveButton.hidden = false;
  }
}

/** A captioner put an earlier caption right: its words change in place, marked as corrected. */
function correct(correction) {
  const span = captions.querySelector(`.caption[data-seq="${correction.corrects}"]`);
  if (!span) return;
  const speaker = span.parentElement.querySelector('.speaker')?.textContent.replace(/:$/, '');
  span.textContent = speaker && correction.text.startsWith(`${speaker}: `) ? correction.text.slice(speaker.length + 2) : correction.text;
  span.classList.add('corrected');
  span.title = 'corrected by the captioner';
}

function handleEvent(block) {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
  }
  if (!data) return;
  const message = JSON.parse(data);
  if (event === 'caption') show(message);
  else if (event === 'end') setStatus(`${message.reason}. Reconnecting…`);
  else if (event === 'refused') {
    setStatus(`${message.reason}`);
    reconnect(10_000);
  }
}

function reconnect(afterMs) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, afterMs);
}

async function connect() {
  clearTimeout(retryTimer);
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  let answer;
  try {
    answer = await fetch(`/captions/${encodeURIComponent(meeting)}/events?after=${lastSeq}`, { headers, cache: 'no-store' });
  } catch {
    setStatus('Connection lost. Reconnecting…');
    return reconnect(2_000);
  }
  if (answer.status === 401 && !isPublic) {
    const problem = await answer.json().catch(() => ({}));
    sessionStorage.removeItem(tokenKey);
    ask.hidden = false;
    setStatus(problem.error ?? 'This caption page needs its viewer token.');
    tokenInput.focus();
    return;
  }
  if (!answer.ok || !answer.body) {
    const problem = await answer.json().catch(() => ({}));
    setStatus(`${problem.error ?? `The bridge answered ${answer.status}`}. Trying again…`);
    return reconnect(5_000);
  }
  if (token) sessionStorage.setItem(tokenKey, token);
  ask.hidden = true;
  setStatus('Live', true);
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch {
      break;
    }
    if (chunk.done) break;
    buffer += chunk.value;
    for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
      handleEvent(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
    }
  }
  if (statusLine.classList.contains('live')) setStatus('Connection lost. Reconnecting…');
  reconnect(2_000);
}

document.getElementById('smaller').addEventListener('click', () => {
  settings.size -= 1;
  applySettings();
});
document.getElementById('larger').addEventListener('click', () => {
  settings.size += 1;
  applySettings();
});
themeSelect.addEventListener('change', () => {
  settings.theme = themeSelect.value;
  applySettings();
});
captions.addEventListener('scroll', () => {
  following = atBottom();
  liveButton.hidden = following;
});
new ResizeObserver(keepPlace).observe(captions);
liveButton.addEventListener('click', scrollToLive);
ask.addEventListener('submit', (event) => {
  event.preventDefault();
  token = tokenInput.value.trim();
  tokenInput.value = '';
  ask.hidden = true;
  setStatus('Connecting…');
  connect();
});

applySettings();
if (!isPublic && !token) {
  ask.hidden = false;
  setStatus('This caption page needs its viewer token.');
} else {
  connect();
}
