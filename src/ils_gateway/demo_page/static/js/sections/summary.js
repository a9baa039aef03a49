// The patron's summary: counts, blocks (in the library's words), and the card's barcode (the
// API's SVG in the tenant's symbology — Codabar/NW-7 for Japanese library cards).
import { ApiProblem } from '../api.js';
import { formatDate } from '../i18n.js';

function figure(h, t, labelKey, value, warn = false) {
  return h('div', { class: warn ? 'figure warn' : 'figure' },
    h('dt', {}, t(labelKey)), h('dd', {}, value));
}

async function barcode(ctx, card) {
  const { api, h, t } = ctx;
  try {
    const svg = await api.get('/patron/card.svg', { blob: true });
    const url = URL.createObjectURL(svg);
    return h('figure', { class: 'card-barcode' },
      h('img', { src: url, alt: t('summary.barcode_alt', { card }), onload: () => URL.revokeObjectURL(url) }),
      h('figcaption', {}, t('summary.barcode')));
  } catch (error) {
    if (error instanceof ApiProblem && error.slug === 'feature-disabled') return null; // kiosk
    throw error;
  }
}

export default {
  id: 'summary',
  titleKey: 'summary.title',
  async render(ctx) {
    const { api, h, t, body } = ctx;
    const answer = await api.get('/patron');
    const patron = answer.patron;
    const count = (n) => t('summary.count', { count: n });
    const blocks = patron.blocks_labels && patron.blocks_labels.length
      ? h('ul', { class: 'blocks' }, patron.blocks_labels.map((label) => h('li', {}, label)))
      : h('p', { class: 'ok' }, t('summary.no_blocks'));
    const card = await barcode(ctx, patron.masked_card);
    body.replaceChildren(
      answer.stale ? h('p', { class: 'notice' }, t('summary.stale', { time: answer.as_of })) : '',
      h('p', { class: 'greeting' }, t('summary.greeting', { name: patron.name })),
      h('dl', { class: 'figures' },
        figure(h, t, 'summary.card', patron.masked_card),
        patron.card_expires && figure(h, t, 'summary.expires', formatDate(patron.card_expires)),
        figure(h, t, 'summary.loans', count(patron.loans_count)),
        figure(h, t, 'summary.overdue', count(patron.overdue_count), patron.overdue_count > 0),
        figure(h, t, 'summary.holds', count(patron.holds_count)),
        figure(h, t, 'summary.ready', count(patron.holds_ready_count), patron.holds_ready_count > 0),
        patron.fees_owed ? figure(h, t, 'summary.fees', t('summary.yen',
          { amount: patron.fees_owed.toLocaleString() }), true) : null),
      h('h3', {}, t('summary.blocks')),
      blocks,
      card || '');
  },
};
