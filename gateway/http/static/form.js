// The new-campaign form. Its controls come from FIELDS: one entry per form field of
// POST /api/v1/campaigns, so adding a field is adding an entry. Empty controls, and the
// retry_on boxes left as they came, are not sent (the server's defaults apply); the
// server validates everything and its 400 is shown beside the form, naming the field
// (marked and focused) or the CSV row.

import { ApiError, request } from './api.js';
import { field, h } from './dom.js';
import { flashCampaign } from './campaign.js';

function localToRfc3339(value) {
  const moment = new Date(value); // datetime-local: the browser's local time
  return Number.isNaN(moment.getTime()) ? value : moment.toISOString();
}

// retry_on: what it may name, and its default (the server's, not sent when unchanged).
const RETRY_ON = ['busy', 'no_answer', 'congestion', 'failed', 'machine'];
const RETRY_ON_DEFAULT = ['busy', 'no_answer', 'congestion', 'failed'];

/**
 * name: the API's field; label: the control's label (tests find it by this name);
 * type: input type, 'select' (fixed `choices` [value, text], or ids from
 * GET /api/v1/options[options] after an `empty` choice) or 'checkboxes' (one per
 * `choices` value, `checked` by default; sent as a comma list);
 * convert: value -> what is sent; hint: shown under the control.
 */
export const FIELDS = [
  { name: 'name', label: 'Name', type: 'text', attrs: { maxlength: 200, required: true } },
  {
    name: 'contacts',
    label: 'Contacts CSV',
    type: 'file',
    attrs: { accept: '.csv,text/csv', required: true },
    hint: 'A header line with a phone_number column; other columns become custom fields.',
  },
  { name: 'agent_id', label: 'Agent', type: 'select', options: 'agents' },
  { name: 'phone_number_id', label: 'Phone number', type: 'select', options: 'phone_numbers' },
  {
    name: 'amd',
    label: 'Answering-machine detection',
    type: 'select',
    choices: [['off', 'Off'], ['on', 'On']],
    hint: 'On: Asterisk listens first; a person goes to the agent, a machine to the machine agent or is hung up on.',
  },
  {
    name: 'machine_agent_id',
    label: 'Machine agent',
    type: 'select',
    options: 'agents',
    empty: 'None: a machine is hung up on',
    hint: 'With detection on: takes the calls a machine answered, e.g. to leave a message.',
  },
  { name: 'max_concurrent_calls', label: 'Max concurrent calls', type: 'number', attrs: { min: 1, max: 100, placeholder: '5' } },
  { name: 'retries_per_contact', label: 'Retries per contact', type: 'number', attrs: { min: 0, max: 5, placeholder: '0' } },
  {
    name: 'retry_on',
    label: 'Retry on',
    type: 'checkboxes',
    choices: RETRY_ON,
    checked: RETRY_ON_DEFAULT,
    hint: 'The outcomes retried while retries are left; a machine only when ticked.',
  },
  { name: 'retry_delay_seconds', label: 'Retry delay (seconds)', type: 'number', attrs: { min: 60, max: 604800, placeholder: '300' } },
  {
    name: 'scheduled_at',
    label: 'Scheduled at',
    type: 'datetime-local',
    convert: localToRfc3339,
    hint: 'In your local time. Empty: dialling begins when the campaign is started.',
  },
  {
    name: 'max_calls_per_second',
    label: 'Calls per second',
    type: 'number',
    attrs: { min: 0.01, max: 1000, step: 'any', placeholder: 'no cap of its own' },
    hint: 'This campaign’s pace; the tenant’s and the host’s caps apply too.',
  },
  { name: 'ring_timeout_seconds', label: 'Ring timeout (seconds)', type: 'number', attrs: { min: 5, max: 300, placeholder: '30' } },
  {
    name: 'timezone',
    label: 'Time zone',
    type: 'text',
    attrs: { list: 'time-zones', placeholder: 'the configured default', autocomplete: 'off' },
    hint: 'IANA name of the calling window’s zone, e.g. America/New_York.',
  },
  { name: 'calling_window_start', label: 'Calling window start', type: 'time' },
  {
    name: 'calling_window_end',
    label: 'Calling window end',
    type: 'time',
    hint: 'Both or neither; an end before the start wraps midnight.',
  },
];

function checkboxes(spec) {
  const id = `field-${spec.name}`;
  const boxes = spec.choices.map((value) =>
    h('input', { type: 'checkbox', id: `${id}-${value}`, name: spec.name, value, checked: spec.checked.includes(value) }),
  );
  const group = h(
    'fieldset',
    { class: 'field-group', id, 'aria-describedby': spec.hint ? `${id}-hint` : null },
    h('legend', {}, spec.label),
    h('div', { class: 'choices' }, boxes.map((box) => h('div', { class: 'choice' }, box, h('label', { for: box.id }, box.value.replace('_', ' '))))),
    spec.hint && h('small', { id: `${id}-hint`, class: 'hint' }, spec.hint),
  );
  return {
    el: group,
    inputs: boxes,
    read() {
      const picked = boxes.filter((box) => box.checked).map((box) => box.value);
      const same = picked.length === spec.checked.length && picked.every((v) => spec.checked.includes(v));
      return same ? null : picked.join(','); // nothing ticked: '' (retry no outcome)
    },
  };
}

/** A field's element, its inputs (the first takes the focus) and read(): what is sent, or null. */
function control(spec) {
  if (spec.type === 'checkboxes') return checkboxes(spec);
  let el;
  if (spec.type === 'select') {
    const choices = spec.choices || [['', spec.empty || 'Configured default']];
    el = h('select', { name: spec.name }, choices.map(([value, text]) => h('option', { value }, text)));
  } else {
    el = h('input', { type: spec.type, name: spec.name, ...(spec.attrs || {}) });
  }
  return {
    el: field(`field-${spec.name}`, spec.label, el, spec.hint),
    inputs: [el],
    read() {
      const value = el.value.trim();
      if (value === '') return null;
      return spec.convert ? spec.convert(value) : value;
    },
  };
}

export function formView(main) {
  const controller = new AbortController();
  const controls = new Map();
  const error = h('p', { class: 'error', role: 'alert', id: 'form-error' });
  const create = h('button', { type: 'submit' }, 'Create');
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  cancel.addEventListener('click', () => {
    window.location.hash = '#/';
  });
  const fields = FIELDS.map((spec) => {
    const made = control(spec);
    controls.set(spec.name, made);
    return made.el;
  });
  const zones = h('datalist', { id: 'time-zones' });
  for (const zone of Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : []) {
    zones.append(h('option', { value: zone }));
  }
  const form = h(
    'form',
    { class: 'card new-campaign', novalidate: true, 'aria-labelledby': 'new-title' },
    h('h1', { id: 'new-title' }, 'New campaign'),
    h('div', { class: 'fields' }, fields),
    zones,
    h('div', { class: 'actions' }, create, cancel),
    error,
  );
  main.append(form);

  request('GET', '/options', { signal: controller.signal })
    .then((options) => {
      for (const spec of FIELDS.filter((f) => f.options)) {
        for (const id of options[spec.options] || []) {
          controls.get(spec.name).inputs[0].append(h('option', { value: id }, id));
        }
      }
    })
    .catch((exc) => {
      if (exc.name !== 'AbortError') error.textContent = `Cannot read the agents and phone numbers: ${exc.message}`;
    });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    for (const made of controls.values()) {
      for (const input of made.inputs) input.removeAttribute('aria-invalid');
    }
    const data = new FormData();
    let file = null;
    for (const spec of FIELDS) {
      const made = controls.get(spec.name);
      if (spec.type === 'file') {
        file = made.inputs[0].files[0] || null;
        continue;
      }
      const value = made.read();
      if (value !== null) data.append(spec.name, value);
    }
    if (file) data.append('contacts', file, file.name); // last: the fields are read first
    create.disabled = true;
    try {
      const created = await request('POST', '/campaigns', { body: data, signal: controller.signal });
      const report = created.import || {};
      const skipped = report.duplicates ? `, ${report.duplicates} duplicate row${report.duplicates === 1 ? '' : 's'} skipped` : '';
      flashCampaign(`Created with ${created.counts.total} contact${created.counts.total === 1 ? '' : 's'}${skipped}.`);
      window.location.hash = `#/campaigns/${encodeURIComponent(created.id)}`;
    } catch (exc) {
      if (exc.name === 'AbortError') return;
      error.textContent = exc instanceof ApiError ? exc.message : `Cannot reach the gateway: ${exc.message}`;
      const bad = exc.body && controls.get(exc.body.field);
      if (bad) {
        for (const input of bad.inputs) {
          input.setAttribute('aria-invalid', 'true');
          input.setAttribute('aria-errormessage', 'form-error');
        }
        bad.inputs[0].focus();
      }
    } finally {
      create.disabled = false;
    }
  });

  return () => controller.abort();
}
