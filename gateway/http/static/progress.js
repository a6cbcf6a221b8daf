// Progress of a campaign: final contacts (completed, failed, cancelled) out of the total.

import { h, percent } from './dom.js';

export const CONTACT_STATUSES = ['pending', 'originated', 'connected', 'completed', 'failed', 'cancelled'];
export const LIVE_STATUSES = new Set(['scheduled', 'running', 'paused']);

export function finalCount(counts) {
  return (counts.completed || 0) + (counts.failed || 0) + (counts.cancelled || 0);
}

/** A <progress> bar and its text, updated in place by `update(counts)`. */
export function progressBar(label) {
  const bar = h('progress', { 'aria-label': label, max: 1, value: 0 });
  const text = h('span', { class: 'progress-text' });
  const el = h('div', { class: 'progress' }, bar, text);
  return {
    el,
    update(counts) {
      const total = counts.total || 0;
      const final = finalCount(counts);
      bar.max = Math.max(total, 1);
      bar.value = final;
      text.textContent = `${final} / ${total} · ${percent(final, total)}%`;
    },
  };
}

export function statusBadge(status) {
  return h('span', { class: `status status-${status}` }, status);
}

export function setBadge(el, status) {
  el.className = `status status-${status}`;
  el.textContent = status;
}
