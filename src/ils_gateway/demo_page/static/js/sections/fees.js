// What the patron owes (GET …/patron/fees): each fine or fee in the library's words, the
// total, what the amount restricts (and the rule behind it) and where to pay. The API takes
// no payment.
import { formatDate } from '../i18n.js';

const yen = (amount) => Number(amount).toLocaleString('ja-JP');

export default {
  id: 'fees',
  titleKey: 'fees.title',
  async render(ctx) {
    const { api, h, t, body } = ctx;
    const answer = await api.get('/patron/fees');
    const account = answer.account;
    const stale = answer.stale ? h('p', { class: 'notice' }, t('summary.stale', { time: answer.as_of })) : '';
    if (!account.fees.length && !account.total) {
      body.replaceChildren(stale, h('p', { class: 'empty' }, t('fees.none')));
      return;
    }
    const rows = account.fees.map((fee) => h('li', { class: 'row fee' },
      h('div', { class: 'row-main' },
        h('p', { class: 'title' }, fee.type_label || fee.type, ' ',
          h('strong', { class: 'amount' }, t('fees.amount', { amount: yen(fee.amount) }))),
        h('p', { class: 'meta' },
          fee.title ? h('span', {}, fee.title) : '',
          fee.description ? h('span', {}, fee.description) : '',
          fee.date ? h('span', {}, `${t('fees.date')}: ${formatDate(fee.date)}`) : ''))));
    const blocks = account.blocks.map((block) => h('li', {}, block.reason_label || block.reason,
      block.rule ? h('span', { class: 'library-words' }, ` (${block.rule})`) : '',
      block.backend_message ? h('span', { class: 'library-words' }, ` ${t('problem.library_says', { text: block.backend_message })}`) : ''));
    body.replaceChildren(stale,
      h('ul', { class: 'rows' }, rows),
      h('p', { class: 'fees-total' }, h('strong', {}, t('fees.total', { amount: yen(account.total) }))),
      blocks.length ? h('h3', {}, t('fees.blocks')) : '',
      blocks.length ? h('ul', { class: 'result-list warn' }, blocks) : '',
      account.payment?.where ? h('p', { class: 'hint' }, t('fees.where', { where: account.payment.where })) : '');
  },
};
