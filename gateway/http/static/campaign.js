// A campaign's page: status and progress, live figures, the commands, a live log of the
// last transitions, and the contacts. Live from the campaign's event stream.

import { ApiError, request } from './api.js';
import { stackedBar, sparkline } from './charts.js';
import { contactsSection } from './contacts.js';
import { formatTime, h } from './dom.js';
import { flashNext } from './list.js';
import { progressBar, setBadge, statusBadge } from './progress.js';
import { EventStream } from './sse.js';

const LOG_SIZE = 100;
const CHART_SECONDS = 300;
let flash = '';

/** A message for the next campaign page (e.g. the import report after a create). */
export function flashCampaign(message) {
  flash = message;
}

/** Which commands the campaign's state allows (the server's state machine). */
export function allowed(campaign) {
  const s = campaign.status;
  const inFlight = (campaign.counts.originated || 0) + (campaign.counts.connected || 0);
  const terminal = s === 'stopped' || s === 'completed' || s === 'deleted';
  return {
    start: s === 'draft' || s === 'paused',
    pause: s === 'running',
    resume: s === 'paused',
    stop: !terminal,
    delete: s !== 'running' && s !== 'deleted' && inFlight === 0,
  };
}

function confirmDialog() {
  const title = h('h2', { id: 'confirm-title' });
  const text = h('p', { id: 'confirm-text' });
  const yes = h('button', { type: 'button', class: 'danger' });
  const no = h('button', { type: 'button', class: 'secondary', autofocus: true }, 'Cancel');
  const dialog = h('dialog', { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' }, title, text, h('div', { class: 'actions' }, yes, no));
  yes.addEventListener('click', () => dialog.close('yes'));
  no.addEventListener('click', () => dialog.close('no'));
  return {
    el: dialog,
    ask(heading, message, confirm) {
      title.textContent = heading;
      text.textContent = message;
      yes.textContent = confirm;
      dialog.returnValue = '';
      dialog.showModal();
      no.focus();
      return new Promise((resolve) => {
        dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
      });
    },
  };
}

function figure(label) {
  const value = h('p', { class: 'figure-value' }, '—');
  const chart = sparkline(`${label} over the last 5 minutes`, CHART_SECONDS);
  return {
    el: h('figure', { class: 'figure' }, h('figcaption', {}, label), value, chart.el),
    value,
    chart,
  };
}

export function campaignView(main, id) {
  const controller = new AbortController();
  const path = `/campaigns/${encodeURIComponent(id)}`;
  let campaign = null;
  let stream = null;
  let refreshTimer = null;
  const history = []; // metrics: {t, inFlight, cps, answerRate}

  const title = h('h1', {}, 'Campaign');
  const badge = statusBadge('…');
  const notice = h('p', { class: 'notice', role: 'status' }, flash);
  flash = '';
  const actionError = h('p', { class: 'error', role: 'alert' });
  const settings = h('dl', { class: 'settings' });
  const progress = progressBar('Progress');
  const stack = stackedBar();
  const figures = { inFlight: figure('Calls in flight'), cps: figure('Calls per second'), answer: figure('Answer rate') };
  const logBody = h('tbody');
  const logEmpty = h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No transitions yet: they appear here as they happen.'));
  logBody.append(logEmpty);
  const contacts = contactsSection(id, controller.signal);
  const dialog = confirmDialog();
  const buttons = {};
  for (const [name, label] of [['start', 'Start'], ['pause', 'Pause'], ['resume', 'Resume'], ['stop', 'Stop'], ['delete', 'Delete']]) {
    buttons[name] = h('button', { type: 'button', class: name === 'stop' || name === 'delete' ? 'danger' : '', disabled: true }, label);
    buttons[name].addEventListener('click', () => command(name));
  }

  main.append(
    h('p', { class: 'back' }, h('a', { href: '#/' }, '← All campaigns')),
    h('div', { class: 'title-bar campaign-title' }, title, badge),
    notice,
    h('div', { class: 'commands', role: 'group', 'aria-label': 'Campaign commands' }, Object.values(buttons)),
    actionError,
    h(
      'div',
      { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'progress-title' }, h('h2', { id: 'progress-title' }, 'Progress'), progress.el, stack.el),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'figures-title' },
        h('h2', { id: 'figures-title' }, 'Live figures'),
        h('p', { class: 'figures-hint' }, 'Every 2 s while the campaign runs; the charts cover up to the last 5 minutes.'),
        h('div', { class: 'figures' }, figures.inFlight.el, figures.cps.el, figures.answer.el),
      ),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'settings-title' }, h('h2', { id: 'settings-title' }, 'Settings'), settings),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'log-title' },
      h('h2', { id: 'log-title' }, 'Live log'),
      h(
        'div',
        { class: 'table-wrap log-wrap', tabindex: 0, role: 'region', 'aria-label': 'Live log of transitions' },
        h('table', { class: 'log' }, h('thead', {}, h('tr', {}, ['Time', 'Number', 'From → to', 'Outcome'].map((t) => h('th', { scope: 'col' }, t)))), logBody),
      ),
    ),
    contacts.el,
    dialog.el,
  );

  function renderSettings() {
    const c = campaign;
    const window_ = c.calling_window_start ? `${c.calling_window_start}–${c.calling_window_end} (${c.timezone})` : `always (${c.timezone})`;
    const rows = [
      ['Agent', c.agent_id],
      ['Phone number', c.phone_number_id],
      ['Answering-machine detection', c.amd || 'off'],
      ['Machine agent', c.machine_agent_id ?? 'none: a machine is hung up on'],
      ['Max concurrent calls', c.max_concurrent_calls],
      ['Calls per second', c.max_calls_per_second ?? 'no cap of its own'],
      ['Retries per contact', c.retries_per_contact],
      ['Retry delay', `${c.retry_delay_seconds} s`],
      ['Retry on', c.retry_on && c.retry_on.length ? c.retry_on.join(', ') : 'no outcome'],
      ['Ring timeout', `${c.ring_timeout_seconds} s`],
      ['Calling window', window_],
      ['Scheduled at', c.scheduled_at ? formatTime(c.scheduled_at) : '—'],
      ['Created', formatTime(c.created_at)],
      ['Started', formatTime(c.started_at)],
      ['Ended', formatTime(c.completed_at)],
    ];
    settings.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
  }

  function renderState() {
    setBadge(badge, campaign.status);
    progress.update(campaign.counts);
    stack.update(campaign.counts);
    const can = allowed(campaign);
    for (const [name, button] of Object.entries(buttons)) button.disabled = !can[name];
    // The counts are fresher than the last metrics snapshot (none come while paused).
    figures.inFlight.value.textContent = String((campaign.counts.originated || 0) + (campaign.counts.connected || 0));
  }

  function renderFigures() {
    const last = history[history.length - 1];
    const now = Date.now();
    figures.cps.value.textContent = last.cps === null || last.cps === undefined ? '—' : Number(last.cps).toFixed(2);
    figures.answer.value.textContent = last.answerRate === null || last.answerRate === undefined ? '—' : `${Math.round(last.answerRate * 100)}%`;
    figures.inFlight.chart.update(history.map((p) => ({ t: p.t, v: p.inFlight })), now);
    figures.cps.chart.update(history.map((p) => ({ t: p.t, v: p.cps })), now);
    figures.answer.chart.update(history.map((p) => ({ t: p.t, v: p.answerRate })), now);
  }

  function addLog(data) {
    logEmpty.remove();
    const row = h(
      'tr',
      {},
      h('td', { class: 'time' }, formatTime(data.time, false)),
      h('td', { class: 'number' }, data.phone_number),
      h('td', {}, `${data.from} → ${data.to}`),
      h('td', {}, data.outcome || '—'),
    );
    logBody.prepend(row);
    while (logBody.rows.length > LOG_SIZE) logBody.lastElementChild.remove();
  }

  async function refresh() {
    try {
      campaign = await request('GET', path, { signal: controller.signal });
      renderState();
      renderSettings();
    } catch (exc) {
      if (exc.status === 404) gone();
    }
  }

  function refreshSoon() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refresh();
    }, 500);
  }

  function gone() {
    campaign = { ...(campaign || { counts: {} }), status: 'deleted' };
    setBadge(badge, 'deleted');
    for (const button of Object.values(buttons)) button.disabled = true;
    actionError.textContent = 'This campaign no longer exists.';
  }

  function onEvent(type, data) {
    if (type === 'contact') {
      addLog(data);
      refreshSoon();
      contacts.refreshSoon();
    } else if (type === 'campaign') {
      // Read the state again rather than take data.to: the events the log opens with
      // (?history) replay older transitions, which must not show an old state.
      refreshSoon();
    } else if (type === 'metrics') {
      campaign = { ...campaign, status: data.status, counts: data.counts };
      renderState();
      history.push({ t: Date.now(), inFlight: data.in_flight, cps: data.calls_per_second, answerRate: data.answer_rate });
      while (history.length && history[0].t < Date.now() - CHART_SECONDS * 1000) history.shift();
      renderFigures();
    } else if (type === 'end') {
      if (data.status === 'deleted') gone();
      else {
        refresh();
        contacts.load();
      }
    }
  }

  async function command(name) {
    actionError.textContent = '';
    if (name === 'stop' && !(await dialog.ask('Stop this campaign?', 'Contacts not dialled yet are cancelled; calls in flight finish. A stopped campaign cannot be started again.', 'Yes, stop'))) return;
    if (name === 'delete' && !(await dialog.ask('Delete this campaign?', 'The campaign, its contacts and their outcomes are removed for good.', 'Yes, delete'))) return;
    for (const button of Object.values(buttons)) button.disabled = true;
    try {
      if (name === 'delete') {
        await request('DELETE', path, { signal: controller.signal });
        flashNext(`Campaign “${campaign.name}” deleted.`);
        window.location.hash = '#/';
        return;
      }
      campaign = await request('POST', `${path}/${name}`, { signal: controller.signal });
      renderState();
      renderSettings();
      contacts.refreshSoon();
      // Keep the keyboard user among the commands: the one used, or the next one allowed.
      const target = [buttons[name], ...Object.values(buttons)].find((b) => !b.disabled);
      (target || title).focus();
    } catch (exc) {
      if (exc.name === 'AbortError') return;
      actionError.textContent = exc instanceof ApiError ? exc.message : `Cannot reach the gateway: ${exc.message}`;
      refresh();
    }
  }

  async function load() {
    try {
      campaign = await request('GET', path, { signal: controller.signal });
    } catch (exc) {
      if (exc.name === 'AbortError') return;
      if (exc.status === 404) {
        title.textContent = 'Campaign not found';
        badge.remove();
        for (const button of Object.values(buttons)) button.disabled = true;
        actionError.textContent = 'There is no such campaign for this API key.';
      } else actionError.textContent = `Cannot read the campaign: ${exc.message}`;
      return;
    }
    title.textContent = campaign.name;
    document.title = `${campaign.name} · Campaign gateway`;
    renderState();
    renderSettings();
    contacts.setCustomFields(campaign.custom_field_names);
    contacts.load();
    // history: the log starts with the campaign's last LOG_SIZE transitions, then goes on live.
    stream = new EventStream(`${path}/events?history=${LOG_SIZE}`, { event: onEvent, gone });
  }
  load();

  return () => {
    controller.abort();
    stream?.close();
    clearTimeout(refreshTimer);
    contacts.stop();
    document.title = 'Campaign gateway';
  };
}
