// The dashboard's entry: the router (hash routes, so `GET /` is the only page), signing
// in and out, and the header's live-connection status.

import { UNAUTHORIZED, session } from './api.js';
import { campaignView } from './campaign.js';
import { clear } from './dom.js';
import { formView } from './form.js';
import { listView } from './list.js';
import { signInView } from './signin.js';
import { closeAll, onStateChange } from './sse.js';

const main = document.getElementById('main');
const signOut = document.getElementById('sign-out');
const connection = document.getElementById('connection');
let leave = null; // the current view's cleanup

function show(view, ...args) {
  if (leave) leave();
  closeAll();
  clear(main);
  leave = view(main, ...args) || null;
  // Keyboard and screen-reader users land on the new view, not on a vanished element.
  const target = main.querySelector('[autofocus]') || main.querySelector('h1');
  if (target) {
    if (target.tagName === 'H1') target.setAttribute('tabindex', '-1');
    target.focus({ preventScroll: true });
  }
}

function route(message) {
  const signedIn = Boolean(session.key);
  signOut.hidden = !signedIn;
  if (!signedIn) {
    show(signInView, typeof message === 'string' ? message : '', () => route());
    return;
  }
  const hash = window.location.hash;
  const campaign = /^#\/campaigns\/([^/?#]+)$/.exec(hash);
  const page = /^#\/page\/(\d+)$/.exec(hash);
  if (campaign) show(campaignView, decodeURIComponent(campaign[1]));
  else if (hash === '#/new') show(formView);
  else show(listView, page ? Math.max(1, Number(page[1])) : 1);
}

signOut.addEventListener('click', () => {
  session.clear();
  window.location.hash = '#/';
  route();
});

window.addEventListener(UNAUTHORIZED, () => {
  if (!session.key) return;
  session.clear();
  route('Invalid API key');
});

window.addEventListener('hashchange', () => route());

onStateChange((state) => {
  connection.textContent = state === 'reconnecting' ? 'Reconnecting…' : state === 'live' ? 'Live' : '';
  connection.dataset.state = state;
});

route();
