// Bookshelves (本棚; GET/POST …/shelves, …/shelves/{id}/items): the patron's own lists of
// titles. Create a shelf, put an item on it by its number, take it off, delete the shelf.
import { seg } from '../api.js';
import { replace, showAndFocus, uid } from '../dom.js';
import { problemBox } from '../problems.js';

export default {
  id: 'shelves',
  titleKey: 'shelves.title',
  async render(ctx) {
    const { api, h, t, body, announce } = ctx;
    const list = await api.get('/shelves');
    const contents = await Promise.all(list.shelves.map(
      (shelf) => api.get(`/shelves/${seg(shelf.shelf_id)}/items`)));
    const results = h('div', { class: 'results', 'aria-live': 'polite' });
    const act = (work) => async () => {
      try {
        const text = await work();
        await ctx.refresh('shelves');
        const fresh = body.querySelector('.results');
        if (fresh) showAndFocus(fresh, h('p', { class: 'ok' }, text));
        announce(text);
      } catch (error) {
        replace(results, problemBox(error));
      }
    };

    const nameField = uid('shelf-name');
    const createForm = h('form', { class: 'inline-form shelf-create', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: nameField }, t('shelves.name')),
        h('input', { id: nameField, name: 'name', maxlength: '50', autocomplete: 'off', required: true })),
      h('button', { type: 'submit', class: 'primary' }, t('shelves.create')));
    createForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = createForm.elements.name.value.trim();
      if (!name) { createForm.elements.name.focus(); return; }
      act(async () => {
        const shelf = await api.post('/shelves', { name });
        return t('shelves.created', { name: shelf.name });
      })();
    });

    // deleting a shelf loses its entries: asked once more, as cancelling a hold is
    const deleteControl = (shelf) => {
      const name = shelf.name;
      const holder = h('div', { class: 'form-actions' });
      const ask = h('button', { type: 'button', class: 'danger', 'aria-label': t('shelves.delete', { name }) },
        t('shelves.delete_short'));
      ask.addEventListener('click', () => {
        const no = h('button', { type: 'button', class: 'secondary' }, t('holds.cancel_no'));
        const yes = h('button', { type: 'button', class: 'danger' }, t('shelves.delete_yes'));
        no.addEventListener('click', () => { replace(holder, ask); ask.focus(); });
        yes.addEventListener('click', act(async () => {
          await api.del(`/shelves/${seg(shelf.shelf_id)}`);
          return t('shelves.deleted', { name });
        }));
        replace(holder, h('div', { class: 'confirm', role: 'group', 'aria-label': t('shelves.delete', { name }) },
          h('p', {}, t('shelves.delete_confirm', { name, count: shelf.item_count })), yes, no));
        yes.focus();
      });
      holder.append(ask);
      return holder;
    };

    const shelfBlock = (shelf, items) => {
      const name = shelf.name;
      const rows = items.items.map((item) => h('li', { class: 'row', 'data-item-id': item.item_id },
        h('div', { class: 'row-main' }, h('p', { class: 'title' }, item.title),
          h('p', { class: 'meta' }, item.item_id)),
        h('div', { class: 'row-actions' }, h('button', { type: 'button', class: 'secondary',
          'aria-label': t('shelves.remove', { title: item.title }),
          onclick: act(async () => {
            await api.del(`/shelves/${seg(shelf.shelf_id)}/items/${seg(item.item_id)}`);
            return t('shelves.removed', { title: item.title });
          }) }, t('shelves.remove_short')))));
      const itemField = uid('shelf-item');
      const addForm = h('form', { class: 'inline-form shelf-add', novalidate: true },
        h('div', { class: 'field' }, h('label', { for: itemField }, t('shelves.item_id', { name })),
          h('input', { id: itemField, name: 'item_id', inputmode: 'numeric', maxlength: '128',
            autocomplete: 'off', required: true })),
        h('button', { type: 'submit', class: 'secondary' }, t('shelves.add')));
      addForm.addEventListener('submit', (event) => {
        event.preventDefault();
        const itemId = addForm.elements.item_id.value.trim();
        if (!itemId) { addForm.elements.item_id.focus(); return; }
        act(async () => {
          const added = await api.post(`/shelves/${seg(shelf.shelf_id)}/items`, { item_id: itemId });
          return t('shelves.added', { title: added.title, name });
        })();
      });
      return h('section', { class: 'shelf', 'data-shelf-id': shelf.shelf_id, 'aria-label': name },
        h('h3', {}, name, ' ', h('span', { class: 'meta' }, t('shelves.item_count', { count: shelf.item_count }))),
        rows.length ? h('ul', { class: 'rows' }, rows) : h('p', { class: 'empty' }, t('shelves.no_items')),
        addForm,
        deleteControl(shelf));
    };

    replace(body,
      list.max_shelves ? h('p', { class: 'hint' }, t('shelves.intro', {
        shelves: list.max_shelves, items: list.max_items_per_shelf ?? '' })) : '',
      results,
      list.shelves.length ? list.shelves.map((shelf, i) => shelfBlock(shelf, contents[i]))
        : h('p', { class: 'empty' }, t('shelves.empty')),
      createForm);
  },
};
