// Hold sequences (順番予約): waiting holds filled one at a time in the patron's order. Where the
// library cannot suspend holds the API answers feature-disabled and the section is left out.
import { ApiProblem, seg } from '../api.js';
import { replace, uid } from '../dom.js';
import { problemBox } from '../problems.js';

export default {
  id: 'sequences',
  titleKey: 'sequences.title',
  async render(ctx) {
    const { api, h, t, body, announce } = ctx;
    const [list, holdList] = await Promise.all([api.get('/hold-sequences'), api.get('/holds')]);
    const results = h('div', { class: 'results', 'aria-live': 'polite' });
    const done = async (text) => {
      await ctx.refresh('sequences', 'holds');
      const fresh = body.querySelector('.results');
      if (fresh) replace(fresh, h('p', { class: 'ok' }, text));
      announce(text);
    };
    const sequences = list.sequences.map((sequence) => {
      const dissolve = h('button', { type: 'button', class: 'secondary' }, t('sequences.dissolve'));
      dissolve.addEventListener('click', async () => {
        try {
          await api.del(`/hold-sequences/${seg(sequence.sequence_id)}`);
          await done(t('sequences.dissolved'));
        } catch (error) {
          replace(results, problemBox(error));
        }
      });
      return h('li', { class: 'row sequence' },
        h('ol', { class: 'members' }, sequence.members.map((member) => h('li', {},
          member.hold ? `${member.hold.item.title} — ${member.hold.status_label || member.hold.status}`
            : `${member.item_id} ${t('sequences.member_gone')}`))),
        h('div', { class: 'row-actions' }, dissolve));
    });
    // waiting holds not yet in a sequence may be ordered into a new one
    const candidates = holdList.holds.filter((hold) => hold.status === 'waiting' && !hold.sequence
      && hold.source !== 'ebook');
    let create;
    if (candidates.length < 2) {
      create = h('p', { class: 'hint' }, t('sequences.none'));
    } else {
      const positions = candidates.map((hold) => {
        const id = uid('order');
        return h('div', { class: 'field order-field' },
          h('label', { for: id }, t('sequences.order', { title: hold.item.title })),
          h('select', { id, name: 'order', 'data-hold-id': hold.id },
            h('option', { value: '' }, '—'),
            candidates.map((_, index) => h('option', { value: String(index + 1) }, String(index + 1)))));
      });
      create = h('form', { class: 'sequence-form', novalidate: true }, positions,
        h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('sequences.create'))));
      create.addEventListener('submit', async (event) => {
        event.preventDefault();
        const chosen = [...create.querySelectorAll('select[name="order"]')]
          .filter((select) => select.value)
          .sort((a, b) => Number(a.value) - Number(b.value))
          .map((select) => select.dataset.holdId);
        if (chosen.length < 2) {
          replace(results, h('p', { class: 'alert', role: 'alert' }, t('sequences.select_two')));
          return;
        }
        try {
          await api.post('/hold-sequences', { hold_ids: chosen });
          await done(t('sequences.created'));
        } catch (error) {
          replace(results, problemBox(error));
          // not offered here (a library system that cannot hold back holds): no form to retry
          if (error instanceof ApiProblem && error.slug === 'feature-disabled') create.remove();
        }
      });
    }
    replace(body, h('p', {}, t('sequences.intro')), results,
      sequences.length ? h('ul', { class: 'rows' }, sequences) : h('p', { class: 'empty' }, t('sequences.empty')),
      create);
  },
};
