// Sign in with an API key, checked against the API before it is kept (sessionStorage).

import { request, session } from './api.js';
import { field, h } from './dom.js';

export function signInView(main, message, done) {
  const input = h('input', {
    type: 'password',
    name: 'api_key',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    autofocus: true,
  });
  const error = h('p', { class: 'error', role: 'alert' }, message || '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card signin', novalidate: true },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Use the API key the gateway’s operator gave your tenant.'),
    field('api-key', 'API key', input),
    error,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    error.textContent = '';
    if (!key) {
      error.textContent = 'Invalid API key';
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await request('GET', '/options', { key });
      session.set(key);
      input.value = '';
      done();
    } catch (exc) {
      error.textContent = exc.status === 401 ? 'Invalid API key' : `Cannot sign in: ${exc.message}`;
      input.select();
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.append(form);
  input.focus();
}
