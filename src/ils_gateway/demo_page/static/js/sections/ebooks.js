// E-books (GET …/ebooks/loans, …/ebooks/holds): the e-library's loans and holds, also merged,
// marked as e-books, into the loans and holds sections (the API's lists carry them with
// `source: "ebook"`). Borrow or reserve by the e-book's number; return early; cancel a hold.
import { seg } from '../api.js';
import { replace, showAndFocus, uid } from '../dom.js';
import { formatDate } from '../i18n.js';
import { problemBox } from '../problems.js';
import { ebookBadge } from './ebook_badge.js';

export default {
  id: 'ebooks',
  titleKey: 'ebooks.title',
  async render(ctx) {
    const { api, h, t, body, announce } = ctx;
    // a tenant without an e-library answers 403 feature-disabled: the section is left out
    const [loans, holds] = await Promise.all([api.get('/ebooks/loans'), api.get('/ebooks/holds')]);
    const results = h('div', { class: 'results', 'aria-live': 'polite' });
    const done = async (text) => {
      await ctx.refresh('ebooks', 'loans', 'holds', 'summary');
      const fresh = body.querySelector('.results');
      if (fresh) showAndFocus(fresh, h('p', { class: 'ok' }, text));
      announce(text);
    };
    const act = (work) => async () => {
      try {
        await work();
      } catch (error) {
        replace(results, problemBox(error));
      }
    };
    const badge = () => ebookBadge(ctx, { source: 'ebook' });
    const loanRows = loans.loans.map((loan) => h('li', { class: 'row', 'data-title-id': loan.title.id },
      h('div', { class: 'row-main' },
        h('p', { class: 'title' }, badge(), loan.title.title),
        h('p', { class: 'meta' },
          loan.title.author ? h('span', {}, loan.title.author) : '',
          h('span', {}, `${t('ebooks.due')}: `, h('strong', {}, formatDate(loan.due))),
          loan.returns_itself ? h('span', {}, t('ebook.returns_itself')) : '')),
      h('div', { class: 'row-actions' }, h('button', { type: 'button', class: 'secondary',
        'aria-label': t('ebooks.return', { title: loan.title.title }),
        onclick: act(async () => {
          await api.del(`/ebooks/loans/${seg(loan.title.id)}`);
          await done(t('ebooks.returned', { title: loan.title.title }));
        }) }, t('ebooks.return_short')))));
    const holdRows = holds.holds.map((hold) => h('li', { class: 'row', 'data-title-id': hold.title.id },
      h('div', { class: 'row-main' },
        h('p', { class: 'title' }, badge(), hold.title.title),
        h('p', { class: 'meta' },
          h('span', { class: 'status' }, hold.status_label || hold.status),
          hold.queue_position ? h('span', {}, t('holds.queue', { position: hold.queue_position })) : '',
          hold.ready_until ? h('span', {}, `${t('holds.deadline')}: ${formatDate(hold.ready_until)}`) : '')),
      h('div', { class: 'row-actions' }, h('button', { type: 'button', class: 'secondary',
        'aria-label': t('ebooks.cancel', { title: hold.title.title }),
        onclick: act(async () => {
          await api.del(`/ebooks/holds/${seg(hold.title.id)}`);
          await done(t('ebooks.cancelled', { title: hold.title.title }));
        }) }, t('ebooks.cancel_short')))));

    const field = uid('ebook-title');
    const form = h('form', { class: 'inline-form ebook-form', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: field }, t('ebooks.title_id')),
        h('input', { id: field, name: 'title_id', maxlength: '64', autocomplete: 'off', required: true })),
      h('button', { type: 'submit', class: 'primary', value: 'borrow' }, t('ebooks.borrow')),
      h('button', { type: 'submit', class: 'secondary', value: 'reserve' }, t('ebooks.reserve')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const titleId = form.elements.title_id.value.trim();
      if (!titleId) { form.elements.title_id.focus(); return; }
      const reserve = event.submitter?.value === 'reserve';
      act(async () => {
        if (reserve) {
          const hold = await api.post('/ebooks/holds', { title_id: titleId });
          await done(t('ebooks.reserved', { title: hold.title.title }));
        } else {
          const loan = await api.post('/ebooks/loans', { title_id: titleId });
          await done(t('ebooks.borrowed', { title: loan.title.title, due: formatDate(loan.due) }));
        }
      })();
    });
    replace(body,
      h('p', { class: 'hint' }, t('ebooks.intro')),
      results,
      h('h3', {}, t('ebooks.loans')),
      loanRows.length ? h('ul', { class: 'rows' }, loanRows) : h('p', { class: 'empty' }, t('ebooks.no_loans')),
      h('h3', {}, t('ebooks.holds')),
      holdRows.length ? h('ul', { class: 'rows' }, holdRows) : h('p', { class: 'empty' }, t('ebooks.no_holds')),
      h('h3', {}, t('ebooks.borrow_heading')),
      form);
  },
};
