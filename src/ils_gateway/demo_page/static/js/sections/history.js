// Reading history (読書記録; …/reading-history): the most private data the page shows. The
// switch needs the password (it opens the patron's key); the list is read from the API each
// time and kept nowhere in the browser (no localStorage, no sessionStorage).
import { replace, showAndFocus, uid } from '../dom.js';
import { formatDate } from '../i18n.js';
import { seg } from '../api.js';
import { problemBox } from '../problems.js';

function passwordForm(ctx, { submitKey, onPassword }) {
  const { h, t } = ctx;
  const field = uid('history-password');
  const form = h('form', { class: 'inline-form history-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: field }, t('history.password')),
      h('input', { id: field, name: 'password', type: 'password', autocomplete: 'current-password',
        maxlength: '128', required: true })),
    h('button', { type: 'submit', class: 'primary' }, t(submitKey)));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = form.elements.password;
    const password = input.value;
    input.value = ''; // the password is not kept in the page
    if (!password) { input.focus(); return; }
    onPassword(password);
  });
  return form;
}

export default {
  id: 'history',
  titleKey: 'history.title',
  async render(ctx) {
    const { api, h, t, body, announce } = ctx;
    const page = await api.get('/reading-history?limit=100');
    const status = page.status;
    const results = h('div', { class: 'results', 'aria-live': 'polite' });
    const act = (work) => async () => {
      try {
        const text = await work();
        await ctx.refresh('history');
        const fresh = body.querySelector('.results');
        if (fresh) showAndFocus(fresh, h('p', { class: 'ok' }, text));
        announce(text);
      } catch (error) {
        replace(results, problemBox(error));
      }
    };
    if (!status.enabled) {
      replace(body, h('p', { class: 'hint' }, t('history.off')), results,
        passwordForm(ctx, { submitKey: 'history.enable', onPassword: (password) => act(async () => {
          await api.post('/reading-history/enable', { password });
          return t('history.enabled');
        })() }));
      return;
    }
    const off = h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'danger',
      onclick: act(async () => {
        await api.post('/reading-history/disable');
        return t('history.disabled');
      }) }, t('history.disable')));
    const since = status.since ? h('p', { class: 'meta' }, t('history.since', { date: formatDate(status.since) })) : '';
    if (!status.unlocked) {
      replace(body, since, results, h('p', { class: 'hint' }, t('history.locked')),
        passwordForm(ctx, { submitKey: 'history.unlock', onPassword: (password) => act(async () => {
          await api.post('/reading-history/unlock', { password });
          return t('history.enabled');
        })() }), off);
      return;
    }
    const rows = page.entries.map((entry) => h('li', { class: 'row', 'data-entry-id': entry.entry_id },
      h('div', { class: 'row-main' }, h('p', { class: 'title' }, entry.title),
        h('p', { class: 'meta' }, entry.author ? h('span', {}, entry.author) : '',
          h('span', {}, `${t('history.loaned')}: ${formatDate(entry.loaned_at)}`))),
      h('div', { class: 'row-actions' }, h('button', { type: 'button', class: 'secondary',
        'aria-label': t('history.delete', { title: entry.title }),
        onclick: act(async () => {
          await api.del(`/reading-history/entries/${seg(entry.entry_id)}`);
          return t('history.deleted');
        }) }, t('history.delete_short')))));
    replace(body, since, results,
      page.unreadable_entries ? h('p', { class: 'notice' }, t('history.unreadable', { count: page.unreadable_entries })) : '',
      rows.length ? h('ul', { class: 'rows' }, rows) : h('p', { class: 'empty' }, t('history.empty')),
      off);
  },
};
