// Building elements from text: every text from the API is set as a text node, never parsed as markup.

/**
 * h('button', {type: 'button', class: 'primary', onclick: fn}, 'text', childNode, …)
 * Attributes starting with "on" become listeners; `hidden`, `disabled`, `checked`… are set as
 * properties when given a boolean; null/undefined/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (typeof value === 'boolean') {
      // a property where the element has one (checked, hidden…); else the attribute: the
      // property of `novalidate` is `noValidate`, so `element.novalidate` would do nothing
      if (name in element) element[name] = value;
      else if (value) element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything in `element` with `children`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

let counter = 0;
/** A page-unique id for label/aria wiring. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * Show `nodes` in `element` (a section's results, after it was drawn again) and move the focus
 * to the first: the button acted on is gone, and the focus must not fall back to the page.
 */
export function showAndFocus(element, ...nodes) {
  replace(element, ...nodes);
  const first = nodes.flat()[0];
  if (first instanceof HTMLElement) {
    first.setAttribute('tabindex', '-1');
    first.focus();
  }
}
