// The tenant's campaigns: a table, newest first, paged; rows of campaigns that can still
// change (scheduled, running, paused) follow their event streams and change live.

import { request } from './api.js';
import { formatTime, h } from './dom.js';
import { LIVE_STATUSES, progressBar, setBadge, statusBadge } from './progress.js';
import { EventStream } from './sse.js';

export const PAGE_SIZE = 20;
const RELOAD_SECONDS = 5;
let flash = '';

/** A message for the next list view (e.g. after a delete). */
export function flashNext(message) {
  flash = message;
}

export function listView(main, page) {
  const controller = new AbortController();
  const rows = new Map(); // campaign id -> row
  const tbody = h('tbody');
  const notice = h('p', { class: 'notice', role: 'status' }, flash);
  flash = '';
  const error = h('p', { class: 'error', role: 'alert' });
  const info = h('span', { class: 'page-info' });
  const previous = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Previous');
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Next');
  const newButton = h('button', { type: 'button' }, 'New campaign');
  newButton.addEventListener('click', () => {
    window.location.hash = '#/new';
  });
  previous.addEventListener('click', () => {
    window.location.hash = `#/page/${page - 1}`;
  });
  next.addEventListener('click', () => {
    window.location.hash = `#/page/${page + 1}`;
  });
  main.append(
    h('div', { class: 'title-bar' }, h('h1', {}, 'Campaigns'), newButton),
    notice,
    error,
    h(
      'div',
      { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Campaigns' },
      h(
        'table',
        { class: 'campaigns' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Progress'), h('th', { scope: 'col', class: 'created' }, 'Created')),
        ),
        tbody,
      ),
    ),
    h('nav', { class: 'pager', 'aria-label': 'Campaign pages' }, previous, info, next),
  );

  function render(campaign) {
    let row = rows.get(campaign.id);
    if (!row) {
      const progress = progressBar(`Progress of ${campaign.name}`);
      const badge = statusBadge(campaign.status);
      const link = h('a', { href: `#/campaigns/${encodeURIComponent(campaign.id)}` }, campaign.name);
      const tr = h(
        'tr',
        { 'data-id': campaign.id },
        h('td', { class: 'name' }, link),
        h('td', {}, badge),
        h('td', {}, progress.el),
        h('td', { class: 'time created' }, formatTime(campaign.created_at)),
      );
      row = { tr, badge, progress, stream: null, timer: null, campaign };
      rows.set(campaign.id, row);
      tbody.append(tr);
    }
    row.campaign = campaign;
    setBadge(row.badge, campaign.status);
    row.progress.update(campaign.counts);
    follow(row);
  }

  function refresh(row) {
    if (row.timer) return;
    row.timer = setTimeout(async () => {
      row.timer = null;
      try {
        render(await request('GET', `/campaigns/${encodeURIComponent(row.campaign.id)}`, { signal: controller.signal }));
      } catch (exc) {
        if (exc.status === 404) drop(row);
      }
    }, 500);
  }

  function follow(row) {
    if (row.stream || !LIVE_STATUSES.has(row.campaign.status)) return;
    row.stream = new EventStream(`/campaigns/${encodeURIComponent(row.campaign.id)}/events`, {
      event(type, data) {
        if (type === 'metrics') {
          row.campaign = { ...row.campaign, status: data.status, counts: data.counts };
          setBadge(row.badge, data.status);
          row.progress.update(data.counts);
        } else {
          refresh(row); // a transition: the campaign's own counts, at most twice a second
        }
      },
      gone() {
        drop(row);
      },
    });
  }

  function drop(row) {
    row.stream?.close();
    clearTimeout(row.timer);
    row.tr.remove();
    rows.delete(row.campaign.id);
  }

  let loaded = false;
  async function load() {
    try {
      const body = await request('GET', '/campaigns', {
        query: { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE },
        signal: controller.signal,
      });
      const pages = Math.max(1, Math.ceil(body.total / PAGE_SIZE));
      info.textContent = `Page ${page} of ${pages} · ${body.total} campaign${body.total === 1 ? '' : 's'}`;
      previous.disabled = page <= 1;
      next.disabled = page >= pages;
      const ids = body.campaigns.map((c) => c.id);
      if (!loaded || ids.join() !== [...rows.keys()].join()) {
        // Campaigns came or went (here or elsewhere): the page's rows anew, in order.
        for (const row of [...rows.values()]) drop(row);
        tbody.replaceChildren();
        if (!ids.length) {
          tbody.append(h('tr', {}, h('td', { colspan: 4, class: 'empty' }, page > 1 ? 'No campaigns on this page.' : 'No campaigns yet.')));
        }
      }
      loaded = true;
      body.campaigns.forEach(render);
      error.textContent = '';
    } catch (exc) {
      if (exc.name !== 'AbortError') error.textContent = `Cannot list the campaigns: ${exc.message}`;
    }
  }
  load();
  // Streams follow the campaigns that run; this picks up what changed elsewhere (a
  // campaign created or started by another client begins to be followed).
  const poll = setInterval(load, RELOAD_SECONDS * 1000);

  return () => {
    controller.abort();
    clearInterval(poll);
    for (const row of [...rows.values()]) drop(row);
  };
}
