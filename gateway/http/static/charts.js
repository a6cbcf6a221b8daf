// Small charts drawn as SVG by hand: a stacked bar of the contacts by status, and
// sparklines of the live figures.

import { h, svg } from './dom.js';
import { CONTACT_STATUSES } from './progress.js';

/** One bar, a segment per contact status, and its legend (text, not colour alone). */
export function stackedBar() {
  const segments = new Map();
  const legend = new Map();
  const bar = h('div', { class: 'stack', role: 'img' });
  const list = h('ul', { class: 'legend' });
  for (const status of CONTACT_STATUSES) {
    const segment = h('span', { class: `segment fill-${status}` });
    segments.set(status, segment);
    bar.append(segment);
    const count = h('span', { class: 'count' }, '0');
    legend.set(status, count);
    list.append(h('li', {}, h('span', { class: `swatch fill-${status}`, 'aria-hidden': 'true' }), `${status} `, count));
  }
  return {
    el: h('div', { class: 'stacked' }, bar, list),
    update(counts) {
      const total = counts.total || 0;
      const words = [];
      for (const status of CONTACT_STATUSES) {
        const n = counts[status] || 0;
        segments.get(status).style.width = total ? `${(n * 100) / total}%` : '0';
        legend.get(status).textContent = String(n);
        words.push(`${status} ${n}`);
      }
      bar.setAttribute('aria-label', `Contacts by status: ${words.join(', ')} of ${total}`);
    },
  };
}

const WIDTH = 240;
const HEIGHT = 48;

/** A sparkline of (time, value) points over the last `seconds`. */
export function sparkline(label, seconds) {
  const line = svg('polyline', { class: 'line', points: '' });
  const base = svg('line', { class: 'base', x1: 0, y1: HEIGHT - 1, x2: WIDTH, y2: HEIGHT - 1 });
  const chart = svg(
    'svg',
    { class: 'spark', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label },
    base,
    line,
  );
  return {
    el: chart,
    update(points, now) {
      const shown = points.filter((p) => p.t >= now - seconds * 1000 && p.v !== null && p.v !== undefined);
      // The x axis spans what there is (at least 20 s), up to `seconds`: a fresh page's
      // first samples fill the chart rather than a sliver at its right edge.
      const from = shown.length ? shown[0].t : now;
      const span = Math.max(now - from, 20000);
      const top = Math.max(1e-9, ...shown.map((p) => p.v)) * 1.1;
      line.setAttribute(
        'points',
        shown
          .map((p) => {
            const x = ((p.t - from) / span) * WIDTH;
            const y = HEIGHT - 2 - (p.v / top) * (HEIGHT - 4);
            return `${x.toFixed(1)},${y.toFixed(1)}`;
          })
          .join(' '),
      );
    },
  };
}
