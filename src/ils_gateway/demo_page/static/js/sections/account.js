// Account settings (GET/PATCH …/patron/settings): the e-mail addresses. A new address is not
// saved by the change: the gateway answers 202 with `pending_confirmation` and mails a link to
// it (docs/account.md), so the page says where the link went; an address emptied is removed at
// once.
import { replace, showAndFocus, uid } from '../dom.js';
import { problemBox } from '../problems.js';

const FIELDS = ['email1', 'email2'];

export default {
  id: 'account',
  titleKey: 'account.title',
  async render(ctx) {
    const { api, h, t, body, announce } = ctx;
    const settings = await api.get('/patron/settings');
    const results = h('div', { class: 'results', 'aria-live': 'polite' });
    const hint = uid('account-hint');
    const form = h('form', { class: 'account-form', novalidate: true },
      h('p', { id: hint, class: 'hint' }, t('account.email_hint')),
      FIELDS.map((name) => {
        const id = uid(`account-${name}`);
        return h('div', { class: 'field' }, h('label', { for: id }, t(`account.${name}`)),
          h('input', { id, name, type: 'email', autocomplete: name === 'email1' ? 'email' : 'off',
            maxlength: '254', value: settings[name] || '', 'aria-describedby': hint }));
      }),
      results,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('account.save'))));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const change = {};
      for (const name of FIELDS) {
        const value = form.elements[name].value.trim();
        if (value !== (settings[name] || '')) change[name] = value || null;
      }
      if (!Object.keys(change).length) {
        replace(results, h('p', { class: 'hint' }, t('account.unchanged')));
        return;
      }
      try {
        const answer = await api.patch('/patron/settings', change);
        const lines = (answer.pending_confirmation || []).map((pending) => t('account.pending', {
          to: pending.confirm_sent_to, until: new Date(pending.expires_at).toLocaleString(document.documentElement.lang) }));
        const shown = lines.length ? lines : [t('account.saved')];
        await ctx.refresh('account', 'notices');
        const fresh = body.querySelector('.results');
        if (fresh) showAndFocus(fresh, shown.map((line) => h('p', { class: 'ok pending' }, line)));
        announce(shown.join(' '));
      } catch (error) {
        replace(results, problemBox(error));
      }
    });
    replace(body, form);
  },
};
