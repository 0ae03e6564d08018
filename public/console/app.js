// The operator console: signs in with the admin token (kept in this tab only), follows every meeting over one
// server-sent event stream (read with fetch, so the token travels in a header, never in a URL), and acts through
// POSTs that carry the token and a header a cross-site page cannot send.

const $ = (selector, root = document) => root.querySelector(selector);
const session = { token: sessionStorage.getItem('console-token') ?? '', operator: sessionStorage.getItem('console-operator') ?? '' };
const cards = new Map();
let abort;

function headers(extra = {}) {
  return { authorization: `Bearer ${session.token}`, 'x-console-operator': session.operator, ...extra };
}

function setConnection(text) {
  $('#connection').textContent = text;
}

async function follow() {
  abort?.abort();
  abort = new AbortController();
  for (let attempt = 0; session.token; attempt++) {
    try {
      const response = await fetch('/console/api/events', { headers: headers(), signal: abort.signal });
      if (response.status === 401) return signOut('The admin token was not accepted.');
      // The console is off (no http.adminToken): the server says so, and no token would help.
      if (response.status === 404) return signOut((await response.json().catch(() => ({}))).error ?? 'The console is off on this bridge.');
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      setConnection('live');
      attempt = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
          if (data) render(JSON.parse(data));
        }
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      setConnection(`reconnecting (${err.message ?? err})`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * 2 ** attempt)));
  }
}

function render(state) {
  const seen = new Set();
  for (const meeting of state.meetings) {
    seen.add(meeting.id);
    let card = cards.get(meeting.id);
    if (!card) {
      card = $('#meeting-template').content.firstElementChild.cloneNode(true);
      card.dataset.meeting = meeting.id;
      wire(card, meeting.id);
      $('#meetings').append(card);
      cards.set(meeting.id, card);
    }
    card.latest = meeting;
    fill(card, meeting);
  }
  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      card.remove();
      cards.delete(id);
    }
  }
}

function fill(card, m) {
  $('.id', card).textContent = m.id;
  $('.state', card).textContent = m.state;
  $('.paused', card).hidden = !m.paused;
  $('.pause', card).hidden = m.paused;
  $('.resume', card).hidden = !m.paused;
  $('.source', card).textContent = `source ${m.source}${m.streaming ? ' (connected)' : ' (no audio now)'}`;
  $('.engine', card).textContent = m.engine;
  $('.problem', card).textContent = [m.sourceProblem, ...m.destinations.map((d) => d.problem)].filter(Boolean).join(' ');
  $('.level', card).value = m.audioLevelDb ?? -60;
  // One destination at a time, as its audience reads it: the first Zoom one unless the operator picks another.
  const pick = $('.destination-pick', card);
  const labels = m.destinations.map((d) => d.description);
  if (pick.dataset.labels !== JSON.stringify(labels)) {
    const chosen = pick.value;
    pick.replaceChildren(...labels.map((label, index) => Object.assign(document.createElement('option'), { value: String(index), textContent: label })));
    const firstZoom = m.destinations.findIndex((d) => d.kind === 'zoom');
    pick.value = chosen !== '' && Number(chosen) < labels.length ? chosen : String(Math.max(0, firstZoom));
    pick.dataset.labels = JSON.stringify(labels);
  }
  const shown = m.destinations[Number(pick.value)] ?? m.destinations[0];
  $('.caption-box', card).textContent = shown?.lastPost?.text ?? '';
  $('.settled', card).textContent = m.words.settled;
  $('.interim', card).textContent = m.words.interim;
  const list = $('.transcript', card);
  const posts = shown?.recentPosts ?? [];
  const newest = `${pick.value}:${posts.at(-1)?.at}`;
  if (list.dataset.count !== String(posts.length) || list.dataset.last !== newest) {
    list.replaceChildren(
      ...posts.map((post) => {
        const item = document.createElement('li');
        const time = document.createElement('time');
        time.textContent = new Date(post.at).toLocaleTimeString();
        item.append(time, post.text);
        if (post.seq !== undefined) item.value = post.seq;
        return item;
      }),
    );
    list.dataset.count = String(posts.length);
    list.dataset.last = newest;
    list.scrollTop = list.scrollHeight;
  }
  const latencies = shown?.recentLatencies ?? [];
  const top = Math.max(4, ...latencies);
  $(".sparkline polyline", card).setAttribute("points", latencies.map((v, i) => `${(i / Math.max(1, latencies.length - 1)) * 240},${40 - (Math.max(0, v) / top) * 38}`).join(" "));
  $('.latency-now', card).textContent = latencies.length ? `now ${latencies.at(-1).toFixed(1)} s` : '';
  $('.next-engine', card).hidden = !m.canSwitchEngine;
  const rows = m.destinations.map((d) => {
    const row = document.createElement('tr');
    const s = d.sender ?? {};
    for (const cell of [d.description, d.display, s.lastSeq ?? '', s.retries ?? '', s.retryBudgetsSpent ?? '', s.skipped === undefined ? '' : `${s.skipped} / ${s.unsent}`, s.clockOffsetMs === undefined ? '' : `${(s.clockOffsetMs / 1000).toFixed(2)} s`]) {
      const td = document.createElement('td');
      td.textContent = String(cell);
      row.append(td);
    }
    return row;
  });
  $('.destinations tbody', card).replaceChildren(...rows);
  fillDesk(card, m.desk);
}

/**
 * The captioner's desk: each held caption an input the pen holder edits in place. The list is kept, not rebuilt, as
 * the view refreshes: a caption being edited keeps its cursor and its unsaved words until Enter or Esc.
 */
function fillDesk(card, desk) {
  const hold = $('.hold-ms', card);
  if (document.activeElement !== hold) hold.value = String(desk.holdMs);
  const mine = desk.pen !== undefined && desk.pen.startsWith(`${session.operator} (`);
  $('.pen', card).textContent = desk.pen ? `${mine ? 'You hold' : `${desk.pen} holds`} the pen.` : 'Nobody holds the pen.';
  $('.take-pen', card).hidden = mine;
  const notHeld = desk.notHeld ?? [];
  $('.not-held', card).hidden = notHeld.length === 0;
  $('.not-held', card).textContent = `Not held (roll-up: the words as they come, uncorrected): ${notHeld.join(', ')}.`;
  const held = editableList($('.held', card), desk.held, { key: 'id', className: 'held-text', label: (h) => `held caption ${h.id}`, readOnly: !mine });
  for (const [item, caption] of held) {
    if (!item.querySelector('.left')) item.append(Object.assign(document.createElement('span'), { className: 'left' }));
    item.classList.toggle('edited', caption.edited);
    $('.left', item).textContent = ` ${Math.max(0, (caption.goesAt - Date.now()) / 1000).toFixed(1)} s`;
  }
  const sent = desk.sent ?? [];
  $('.sent-title', card).hidden = sent.length === 0;
  editableList($('.sent', card), sent, { key: 'seq', className: 'sent-text', label: (c) => `caption ${c.seq} on the caption page`, readOnly: !mine });
  const offers = $('.offers', card);
  const key = JSON.stringify(desk.offers);
  if (offers.dataset.key !== key) {
    offers.dataset.key = key;
    offers.replaceChildren(
      ...desk.offers.map((offer) => {
        const row = document.createElement('p');
        row.append(`Corrected twice: always write "${offer.from}" as "${offer.to}"? `);
        for (const [label, accept] of [['Yes', true], ['No', false]]) {
          const button = Object.assign(document.createElement('button'), { type: 'button', textContent: label, className: accept ? 'offer-yes' : 'offer-no' });
          button.addEventListener('click', () => card.act('answer-offer', { from: offer.from, to: offer.to, accept }));
          row.append(button);
        }
        return row;
      }),
    );
  }
}

/**
 * A list of captions as inputs, kept (not rebuilt) as the view refreshes: one per entry, keyed by `key`, in order.
 * Words typed and not yet kept stay; otherwise each input shows what the desk has (a split, a join, a takeover).
 */
function editableList(list, entries, { key, className, label, readOnly }) {
  const present = new Set(entries.map((entry) => String(entry[key])));
  for (const item of [...list.children]) if (!present.has(item.dataset[key])) item.remove();
  let previous = null;
  return entries.map((entry) => {
    let item = list.querySelector(`[data-${key}="${entry[key]}"]`);
    if (!item) {
      item = document.createElement('li');
      item.dataset[key] = String(entry[key]);
      const input = Object.assign(document.createElement('input'), { className, value: entry.text });
      input.setAttribute('aria-label', label(entry));
      item.append(input);
    }
    // In the desk's order (a piece split off goes right after its caption), moving only what is out of place.
    const wanted = previous ? previous.nextElementSibling : list.firstElementChild;
    if (wanted !== item) list.insertBefore(item, wanted);
    previous = item;
    const input = item.querySelector('input');
    const unsaved = input.dataset.saved !== undefined && input.value !== input.dataset.saved;
    if (document.activeElement !== input || !unsaved) input.value = entry.text;
    input.dataset.saved = entry.text;
    input.readOnly = readOnly;
    return [item, entry];
  });
}

function wire(card, id) {
  const act = async (action, extra = {}) => {
    const result = $('.action-result', card);
    result.textContent = '…';
    try {
      const response = await fetch(`/console/api/meetings/${encodeURIComponent(id)}/actions`, {
        method: 'POST',
        headers: headers({ 'content-type': 'application/json', 'x-console-action': '1' }),
        body: JSON.stringify({ action, ...extra }),
      });
      const body = await response.json().catch(() => ({}));
      result.textContent = body.message ?? body.error ?? `HTTP ${response.status}`;
    } catch (err) {
      result.textContent = `failed: ${err.message ?? err}`;
    }
  };
  card.act = act;
  $('.destination-pick', card).addEventListener('change', () => card.latest && fill(card, card.latest));
  $('.hold-form', card).addEventListener('submit', (event) => {
    event.preventDefault();
    void act('hold', { ms: Number($('.hold-ms', card).value) || 0 });
  });
  $('.take-pen', card).addEventListener('click', () => act('take-pen'));
  $('.sent', card).addEventListener('keydown', (event) => {
    const input = event.target;
    if (!input.classList?.contains('sent-text')) return;
    if (event.key === 'Enter') {
      event.preventDefault();
      if (input.value.trim() && input.value !== input.dataset.saved) void act('correct-sent', { seq: Number(input.closest('li').dataset.seq), text: input.value.trim() });
    } else if (event.key === 'Escape') input.value = input.dataset.saved ?? input.value;
  });
  // Keyboard first: the held captions are a list of inputs; arrows move, Enter keeps, Esc undoes, Ctrl+Delete drops.
  $('.held', card).addEventListener('keydown', (event) => {
    const input = event.target;
    if (!input.classList?.contains('held-text')) return;
    const item = input.closest('li');
    const id = Number(item.dataset.id);
    if (event.key === 'Enter' && event.ctrlKey) {
      // Split at the cursor (the words as saved: keep a correction with Enter first).
      event.preventDefault();
      void act('split', { id, at: input.selectionStart ?? 0 });
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (input.value.trim() && input.value !== input.dataset.saved) void act('edit', { id, text: input.value.trim() });
    } else if (event.key === 'Backspace' && input.selectionStart === 0 && input.selectionEnd === 0 && item.previousElementSibling) {
      // At the very start of a caption, Backspace joins it to the one before, as in a text editor.
      event.preventDefault();
      void act('join', { id: Number(item.previousElementSibling.dataset.id) });
    } else if (event.key === 'Escape') {
      input.value = input.dataset.saved ?? input.value;
    } else if (event.key === 'Delete' && event.ctrlKey) {
      event.preventDefault();
      void act('drop', { id });
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = event.key === 'ArrowDown' ? item.nextElementSibling : item.previousElementSibling;
      $('.held-text', next ?? item)?.focus();
    }
  });
  $('.pause', card).addEventListener('click', () => act('pause'));
  $('.resume', card).addEventListener('click', () => act('resume'));
  $('.end-stream', card).addEventListener('click', () => act('end-stream'));
  $('.next-engine', card).addEventListener('click', () => act('next-engine'));
  $('.caption-form', card).addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('.caption-text', card);
    if (input.value.trim()) void act('caption', { text: input.value.trim() });
    input.value = '';
  });
  $('.replacement-form', card).addEventListener('submit', (event) => {
    event.preventDefault();
    const from = $('.replace-from', card).value.trim();
    const to = $('.replace-to', card).value.trim();
    if (from && to) void act('replacement', { from, to });
  });
}

function signOut(message = '') {
  abort?.abort();
  sessionStorage.removeItem('console-token');
  session.token = '';
  for (const card of cards.values()) card.remove();
  cards.clear();
  $('#signin').hidden = false;
  $('#signout').hidden = true;
  $('#signin-error').textContent = message;
  setConnection('signed out');
}

function signedIn() {
  $('#signin').hidden = true;
  $('#signout').hidden = false;
  setConnection('connecting');
  void follow();
}

$('#signin').addEventListener('submit', (event) => {
  event.preventDefault();
  session.token = $('#token').value;
  session.operator = $('#operator').value.trim();
  sessionStorage.setItem('console-token', session.token);
  sessionStorage.setItem('console-operator', session.operator);
  $('#signin-error').textContent = '';
  signedIn();
});
$('#signout').addEventListener('click', () => signOut());
$('#operator').value = session.operator;
if (session.token) signedIn();
