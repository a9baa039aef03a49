// Loans: due dates, whether each can be renewed (and why not, in the library's words), renew one
// or several at once.
import { seg } from '../api.js';
import { replace } from '../dom.js';
import { formatDate } from '../i18n.js';
import { problemBox, resultLines } from '../problems.js';
import { ebookBadge } from './ebook_badge.js';

function loanRow(ctx, loan, onRenewOne) {
  const { h, t } = ctx;
  const title = loan.item.title;
  const ebook = loan.source === 'ebook';
  const canTry = loan.renewable !== false && !ebook;
  // an e-book (merged from the e-library) is not renewed here: it returns itself when due
  const reason = ebook ? h('p', { class: 'hint' }, t('ebook.returns_itself'))
    : loan.renewable === false
    ? h('p', { class: 'refusal' }, `${t('loans.not_renewable')}: ${loan.refusal_reason_label || loan.refusal_reason || ''}`,
      loan.backend_message ? h('span', { class: 'library-words' }, ` ${t('problem.library_says', { text: loan.backend_message })}`) : '')
    : loan.renewable === null ? h('p', { class: 'hint' }, t('loans.unknown')) : '';
  return h('li', { class: 'row', 'data-item-id': loan.item.id },
    h('div', { class: 'row-select' }, canTry
      ? h('input', { type: 'checkbox', name: 'renew', value: loan.item.id,
        'aria-label': t('loans.select', { title }) })
      : ''),
    h('div', { class: 'row-main' },
      h('p', { class: 'title' }, ebookBadge(ctx, loan), title),
      h('p', { class: 'meta' },
        h('span', {}, `${t('loans.due')}: `, h('strong', { class: 'due' }, formatDate(loan.due_date))),
        loan.days_overdue > 0 ? h('span', { class: 'overdue' }, t('loans.overdue_days', { days: loan.days_overdue })) : '',
        loan.renewals_allowed !== null && loan.renewals_used !== null
          ? h('span', {}, t('loans.renewals', { used: loan.renewals_used, allowed: loan.renewals_allowed })) : '',
        loan.item.material_type_label ? h('span', {}, loan.item.material_type_label) : ''),
      reason),
    h('div', { class: 'row-actions' }, canTry
      ? h('button', { type: 'button', class: 'secondary', 'aria-label': t('loans.renew_one', { title }),
        onclick: () => onRenewOne(loan) }, t('loans.renew'))
      : ''));
}

export default {
  id: 'loans',
  titleKey: 'loans.title',
  async render(ctx) {
    const { api, h, t, body, announce } = ctx;
    const answer = await api.get('/loans');
    const loans = answer.loans;
    const results = h('div', { class: 'results', 'aria-live': 'polite' });
    const titles = new Map(loans.map((loan) => [loan.item.id, loan.item.title]));

    const showResults = (list) => {
      const lines = list.map((result) => {
        const title = titles.get(result.item_id) || result.item_id;
        if (result.outcome === 'ok') {
          return h('li', { class: 'ok' }, t('loans.renewed', { title, due: formatDate(result.loan?.due_date) }));
        }
        const [first, ...more] = resultLines(result);
        return h('li', { class: 'refused' }, t('loans.refused', { title, reason: first }),
          more.map((line) => h('span', { class: 'library-words' }, ` ${line}`)));
      });
      replace(results, h('ul', { class: 'result-list' }, lines));
      announce(results.textContent);
    };
    const afterRenewal = async (list) => {
      await ctx.refresh('loans', 'summary');
      const fresh = body.querySelector('.results');
      if (fresh) {
        replace(fresh);
        fresh.replaceWith(results);
      }
      showResults(list);
    };
    const renewOne = async (loan) => {
      try {
        const result = await api.post(`/loans/${seg(loan.item.id)}/renewal`);
        await afterRenewal([result]);
      } catch (error) {
        replace(results, problemBox(error));
      }
    };
    if (!loans.length) {
      replace(body, h('p', { class: 'empty' }, t('loans.empty')));
      return;
    }
    const form = h('form', { class: 'loan-form', novalidate: true },
      h('ul', { class: 'rows' }, loans.map((loan) => loanRow(ctx, loan, renewOne))),
      loans.some((loan) => loan.renewable !== false && loan.source !== 'ebook') && h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'primary' }, t('loans.renew_selected'))));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const ids = [...form.querySelectorAll('input[name="renew"]:checked')].map((box) => box.value);
      if (!ids.length) {
        replace(results, h('p', { class: 'alert', role: 'alert' }, t('loans.select_some')));
        return;
      }
      try {
        const batch = await api.post('/loans/renewals', { item_ids: ids });
        await afterRenewal(batch.results);
      } catch (error) {
        replace(results, problemBox(error));
      }
    });
    replace(body, answer.stale ? h('p', { class: 'notice' }, t('summary.stale', { time: answer.as_of })) : '',
      results, form);
  },
};
