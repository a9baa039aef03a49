// Logging in, and the temporary-password screen a session with password_change_required gets
// (the API lets it do nothing but change the password or log out).
import { ApiProblem } from './api.js';
import { h, replace, uid } from './dom.js';
import { t } from './i18n.js';
import { problemBox } from './problems.js';

function field(labelKey, attrs, hintKey = null) {
  const id = uid('field');
  const hintId = hintKey ? `${id}-hint` : null;
  return h('div', { class: 'field' },
    h('label', { for: id, 'data-i18n': labelKey }, t(labelKey)),
    hintKey && h('p', { id: hintId, class: 'hint', 'data-i18n': hintKey }, t(hintKey)),
    h('input', { id, 'aria-describedby': hintId, ...attrs }));
}

export function showLogin(app, { api, onLoggedIn, announce, notice = null }) {
  const message = h('div', { class: 'form-message' },
    notice && h('p', { class: 'notice', role: 'status' }, notice));
  const card = field('login.card', { name: 'card_number', autocomplete: 'username',
    inputmode: 'numeric', required: true, maxlength: '64' }, 'login.card_hint');
  const password = field('login.password', { name: 'password', type: 'password',
    autocomplete: 'current-password', required: true, maxlength: '128' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-i18n': 'login.submit' },
    t('login.submit'));
  const form = h('form', { class: 'login-form', novalidate: true, 'aria-labelledby': 'login-heading' },
    h('h2', { id: 'login-heading', 'data-i18n': 'login.heading' }, t('login.heading')),
    h('p', { 'data-i18n': 'login.intro' }, t('login.intro')),
    message, card, password, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const cardNumber = form.elements.card_number.value.trim();
    const secret = form.elements.password.value;
    if (!cardNumber) { form.elements.card_number.focus(); return; }
    if (!secret) { form.elements.password.focus(); return; }
    submit.disabled = true;
    announce(t('login.busy'));
    try {
      const created = await api.post('/sessions', { card_number: cardNumber, password: secret });
      onLoggedIn(created);
    } catch (error) {
      replace(message, problemBox(error));
      form.elements.password.value = '';
      form.elements.password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  replace(app, form);
  form.elements.card_number.focus();
}

export function showPasswordChange(app, { api, session, announce, onChanged }) {
  const message = h('div', { class: 'form-message' });
  const elsewhereLink = (url) => h('p', {},
    h('a', { href: url, rel: 'noopener noreferrer', target: '_blank',
      'data-i18n': 'password.elsewhere_link' }, t('password.elsewhere_link')));
  const old = field('password.old', { name: 'old_password', type: 'password',
    autocomplete: 'current-password', required: true, maxlength: '128' });
  const fresh = field('password.new', { name: 'new_password', type: 'password',
    autocomplete: 'new-password', required: true, maxlength: '128' });
  const form = h('form', { class: 'password-form', novalidate: true,
    'aria-labelledby': 'password-heading' },
    h('h2', { id: 'password-heading', 'data-i18n': 'password.heading' }, t('password.heading')),
    h('p', { 'data-i18n': 'password.intro' }, t('password.intro')),
    session.passwordChangeUrl && h('div', { class: 'notice' },
      h('p', { 'data-i18n': 'password.elsewhere' }, t('password.elsewhere')),
      elsewhereLink(session.passwordChangeUrl)),
    message, old, fresh,
    h('button', { type: 'submit', class: 'primary', 'data-i18n': 'password.submit' },
      t('password.submit')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api.post('/patron/password', {
        old_password: form.elements.old_password.value,
        new_password: form.elements.new_password.value,
      });
      announce(t('password.changed'));
      onChanged();
    } catch (error) {
      // the detail names each rule broken (password-rejected) in the patron's language;
      // password-change-elsewhere names the library's own page
      const extra = [];
      if (error instanceof ApiProblem && error.problem.change_url) {
        extra.push(elsewhereLink(error.problem.change_url));
      }
      replace(message, problemBox(error, ...extra));
    }
  });
  replace(app, form);
  form.elements.old_password.focus();
}
