// The reservation basket (予約かご): items put aside, then holds placed on the chosen ones for
// one pickup library. Items come from search (another section) or, here, by item number.
import { seg } from '../api.js';
import { h as make, replace, uid } from '../dom.js';
import { problemBox, resultLines } from '../problems.js';
import { pickupChooser } from './pickup.js';

export default {
  id: 'basket',
  titleKey: 'basket.title',
  async render(ctx) {
    const { api, h, t, body, announce } = ctx;
    const [basket, libraries] = await Promise.all([api.get('/basket'), ctx.libraries().catch(() => [])]);
    const results = h('div', { class: 'results', 'aria-live': 'polite' });
    const titles = new Map(basket.items.map((item) => [item.item_id, item.title]));

    const again = async (showing) => {
      await ctx.refresh('basket');
      const fresh = body.querySelector('.results');
      if (fresh) replace(fresh, ...showing);
    };

    // add by item number
    const itemField = uid('basket-item');
    const addForm = h('form', { class: 'inline-form add-form', novalidate: true },
      h('div', { class: 'field' },
        h('label', { for: itemField }, t('basket.item_id')),
        h('input', { id: itemField, name: 'item_id', inputmode: 'numeric', maxlength: '128',
          autocomplete: 'off', required: true })),
      h('button', { type: 'submit', class: 'secondary' }, t('basket.add')));
    addForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const itemId = addForm.elements.item_id.value.trim();
      if (!itemId) { addForm.elements.item_id.focus(); return; }
      try {
        // the title, for the basket's list (an unknown item: the gateway's 404 says so)
        const title = (await api.get(`/items/${seg(itemId)}`)).item?.title || itemId;
        const added = await api.post('/basket/items', { item_id: itemId, title });
        const text = added.added ? t('basket.added', { title }) : t('basket.already');
        await again([make('p', { class: 'ok' }, text)]);
        announce(text);
      } catch (error) {
        replace(results, problemBox(error));
      }
    });

    const removeItem = async (item) => {
      try {
        await api.del(`/basket/items/${seg(item.item_id)}`);
        await again([make('p', { class: 'ok' }, t('basket.removed'))]);
        announce(t('basket.removed'));
      } catch (error) {
        replace(results, problemBox(error));
      }
    };

    const children = [
      h('p', { class: 'meta' }, t('basket.count', { count: basket.count, limit: basket.limit })),
      results,
    ];
    if (!basket.items.length) {
      children.push(h('p', { class: 'empty' }, t('basket.empty')));
    } else {
      const chooser = pickupChooser(libraries, { label: t('basket.pickup') });
      const rows = basket.items.map((item) => h('li', { class: 'row', 'data-item-id': item.item_id },
        h('div', { class: 'row-select' }, h('input', { type: 'checkbox', name: 'place',
          value: item.item_id, checked: true, 'aria-label': t('basket.select', { title: item.title }) })),
        h('div', { class: 'row-main' }, h('p', { class: 'title' }, item.title),
          h('p', { class: 'meta' }, item.item_id)),
        h('div', { class: 'row-actions' }, h('button', { type: 'button', class: 'secondary',
          'aria-label': t('basket.remove', { title: item.title }), onclick: () => removeItem(item) },
        t('basket.remove_short')))));
      const form = h('form', { class: 'basket-form', novalidate: true },
        h('ul', { class: 'rows' }, rows), chooser.element,
        h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('basket.place'))));
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const ids = [...form.querySelectorAll('input[name="place"]:checked')].map((box) => box.value);
        if (!ids.length) {
          replace(results, h('p', { class: 'alert', role: 'alert' }, t('basket.select_some')));
          return;
        }
        try {
          const batch = await api.post('/basket/holds', { item_ids: ids, pickup_library: chooser.select.value });
          const lines = batch.results.map((result) => {
            const title = titles.get(result.item_id) || result.item_id;
            if (result.outcome === 'ok') return make('li', { class: 'ok' }, t('basket.placed', { title }));
            const [first, ...more] = resultLines(result);
            return make('li', { class: 'refused' }, t('basket.refused', { title, reason: first }),
              more.map((line) => make('span', { class: 'library-words' }, ` ${line}`)));
          });
          const list = make('ul', { class: 'result-list' }, lines);
          await Promise.all([again([list]), ctx.refresh('holds', 'summary')]);
          announce(list.textContent);
        } catch (error) {
          replace(results, problemBox(error));
        }
      });
      children.push(form);
    }
    children.push(h('h3', {}, t('basket.add_heading')), addForm);
    replace(body, ...children);
  },
};
