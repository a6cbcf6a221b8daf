// A campaign's contacts: a status filter, pages, and the CSV export of the same filter.

import { download, request } from './api.js';
import { clear, field, h } from './dom.js';
import { CONTACT_STATUSES } from './progress.js';

const PAGE_SIZE = 25;

function talk(seconds) {
  return seconds === null || seconds === undefined ? '—' : `${Number(seconds).toFixed(1)} s`;
}

function dash(value) {
  return value === null || value === undefined || value === '' ? '—' : String(value);
}

export function contactsSection(campaignId, signal) {
  let page = 1;
  let customFields = [];
  const filter = h('select', { name: 'status' }, h('option', { value: '' }, 'All'), CONTACT_STATUSES.map((s) => h('option', { value: s }, s)));
  const exportButton = h('button', { type: 'button', class: 'secondary' }, 'Export CSV');
  const error = h('p', { class: 'error', role: 'alert' });
  const head = h('thead');
  const body = h('tbody');
  const info = h('span', { class: 'page-info' });
  const previous = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Previous');
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Next');
  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'contacts-title' },
    h('h2', { id: 'contacts-title' }, 'Contacts'),
    h('div', { class: 'toolbar' }, field('contact-status', 'Status', filter), exportButton),
    error,
    h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Contacts table' }, h('table', { class: 'contacts' }, head, body)),
    h('nav', { class: 'pager', 'aria-label': 'Contact pages' }, previous, info, next),
  );

  function header() {
    const names = ['Number', 'Status', 'Outcome', 'Cause', 'SIP code', 'Attempts', 'Talk time', ...customFields];
    clear(head).append(h('tr', {}, names.map((n) => h('th', { scope: 'col' }, n))));
  }

  async function load() {
    try {
      const data = await request('GET', `/campaigns/${encodeURIComponent(campaignId)}/contacts`, {
        query: { status: filter.value, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE },
        signal,
      });
      const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
      if (page > pages) {
        page = pages;
        return load();
      }
      clear(body);
      for (const c of data.contacts) {
        body.append(
          h(
            'tr',
            {},
            h('td', { class: 'number' }, c.phone_number),
            h('td', {}, h('span', { class: `status status-${c.status}` }, c.status)),
            h('td', {}, dash(c.last_outcome)),
            h('td', {}, dash(c.hangup_cause_text)),
            h('td', {}, dash(c.sip_code)),
            h('td', { class: 'num' }, String(c.attempts)),
            h('td', { class: 'num' }, talk(c.talk_seconds)),
            customFields.map((name) => h('td', {}, dash(c.custom_fields[name]))),
          ),
        );
      }
      if (!data.contacts.length) {
        body.append(h('tr', {}, h('td', { colspan: 7 + customFields.length, class: 'empty' }, 'No contacts.')));
      }
      info.textContent = `Page ${page} of ${pages} · ${data.total} contact${data.total === 1 ? '' : 's'}`;
      previous.disabled = page <= 1;
      next.disabled = page >= pages;
      error.textContent = '';
    } catch (exc) {
      if (exc.name !== 'AbortError') error.textContent = `Cannot list the contacts: ${exc.message}`;
    }
    return undefined;
  }

  filter.addEventListener('change', () => {
    page = 1;
    load();
  });
  previous.addEventListener('click', () => {
    page -= 1;
    load();
  });
  next.addEventListener('click', () => {
    page += 1;
    load();
  });
  exportButton.addEventListener('click', async () => {
    exportButton.disabled = true;
    try {
      const suffix = filter.value ? `-${filter.value}` : '';
      await download(`/campaigns/${encodeURIComponent(campaignId)}/contacts.csv`, { status: filter.value }, `contacts-${campaignId}${suffix}.csv`);
    } catch (exc) {
      error.textContent = `Cannot export the contacts: ${exc.message}`;
    } finally {
      exportButton.disabled = false;
    }
  });

  let timer = null;
  return {
    el,
    setCustomFields(names) {
      customFields = names || [];
      header();
    },
    load,
    /** Reload soon (live changes), at most once a second. */
    refreshSoon() {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        load();
      }, 1000);
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
