// Building DOM nodes. Every string becomes a text node or an attribute value set through
// the DOM: nothing here ever parses HTML, so a campaign named `<img src=x onerror=...>`
// shows as those characters. (The dashboard never assigns HTML as a string.)

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, props) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') || name === 'style') {
      throw new Error(`h(): ${name} is not allowed; use addEventListener or el.style`);
    }
    if (name === 'class') el.setAttribute('class', value);
    else if (name === 'text') el.textContent = String(value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** h('a', {href: '#/'}, 'text', otherNode): an HTML element. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  return append(el, children);
}

/** svg('rect', {x: 0, ...}): an SVG element. */
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, props);
  return append(el, children);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** A labelled control: <div class=field><label for=id>text</label>control hint</div>. */
export function field(id, label, control, hint) {
  control.id = id;
  const parts = [h('label', { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('small', { id: hintId, class: 'hint' }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

export function formatTime(value, withDate = true) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return withDate ? date.toLocaleString() : date.toLocaleTimeString();
}

export function percent(part, whole) {
  return whole ? Math.floor((part * 100) / whole) : 0;
}
