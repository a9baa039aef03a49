// Search the catalogue and a record's copies, with the hold button (GET …/catalog/search,
// GET …/catalog/records/{id}, POST …/catalog/records/{id}/holds). Where the tenant's catalogue
// has no search source (a SIP2 library without SRU), the gateway's 501 search-unavailable says
// why, in the patron's language.
import { seg } from '../api.js';
import { replace, showAndFocus, uid } from '../dom.js';
import { formatDate } from '../i18n.js';
import { problemBox, problemSlug, resultLines } from '../problems.js';
import { pickupChooser } from './pickup.js';

const PER_PAGE = 10;

function copyRow(ctx, copy, libraries) {
  const { h, t } = ctx;
  const branch = libraries.find((library) => library.code === copy.branch)?.name || copy.branch;
  return h('li', { class: 'copy', 'data-barcode': copy.barcode },
    h('span', { class: 'status' }, copy.status_label || copy.status),
    h('span', {}, branch),
    copy.shelf_location ? h('span', {}, copy.shelf_location) : '',
    copy.call_number ? h('span', {}, copy.call_number) : '',
    copy.due_date ? h('span', {}, t('search.copy_due', { date: formatDate(copy.due_date) })) : '',
    copy.hold_queue_length ? h('span', {}, t('search.queue', { count: copy.hold_queue_length })) : '',
    copy.reference_only ? h('span', {}, t('search.reference_only')) : '');
}

async function showRecord(ctx, recordId, target) {
  const { api, h, t, announce } = ctx;
  const [answer, libraries] = await Promise.all([
    api.get(`/catalog/records/${seg(recordId)}`), ctx.libraries().catch(() => [])]);
  const title = answer.record.title;
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const parts = [
    h('h4', {}, t('search.copies')),
    h('ul', { class: 'copies' }, answer.copies.map((copy) => copyRow(ctx, copy, libraries))),
    results,
  ];
  if (answer.holdable) {
    const offered = answer.pickup_libraries?.length ? answer.pickup_libraries : libraries;
    const chooser = pickupChooser(offered, { label: t('search.pickup') });
    const form = h('form', { class: 'inline-form hold-form', novalidate: true }, chooser.element,
      h('button', { type: 'submit', class: 'primary', 'aria-label': t('search.hold_for', { title }) },
        t('search.hold')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        const result = await api.post(`/catalog/records/${seg(recordId)}/holds`,
          { pickup_library: chooser.select.value });
        if (result.outcome && result.outcome !== 'ok') {
          const [first, ...more] = resultLines(result);
          replace(results, h('p', { class: 'refused', role: 'alert' }, t('search.refused', { title, reason: first }),
            more.map((line) => h('span', { class: 'library-words' }, ` ${line}`))));
          return;
        }
        form.remove();
        await ctx.refresh('holds', 'summary'); // (the result shows once the lists say it too)
        const text = t('search.placed', { title });
        showAndFocus(results, h('p', { class: 'ok' }, text));
        announce(text);
      } catch (error) {
        replace(results, problemBox(error));
      }
    });
    parts.push(form);
  } else {
    parts.push(h('p', { class: 'refusal' }, t('search.not_holdable', {
      reason: answer.not_holdable_reason_label || answer.not_holdable_reason || '' })));
  }
  replace(target, ...parts);
}

function recordRow(ctx, record) {
  const { h, t } = ctx;
  const detail = h('div', { class: 'record-detail row-message' });
  const button = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false',
    'aria-label': t('search.details', { title: record.title }) }, t('search.details_short'));
  button.addEventListener('click', async () => {
    button.setAttribute('aria-expanded', 'true');
    try {
      await showRecord(ctx, record.id, detail);
      detail.querySelector('h4')?.setAttribute('tabindex', '-1');
      detail.querySelector('h4')?.focus();
    } catch (error) {
      replace(detail, problemBox(error));
    }
  });
  const availability = record.availability;
  return h('li', { class: 'row', 'data-record-id': record.id },
    h('div', { class: 'row-main' },
      h('p', { class: 'title' }, record.title),
      h('p', { class: 'meta' },
        record.authors?.length ? h('span', {}, record.authors.join(', ')) : '',
        record.publisher ? h('span', {}, record.publisher) : '',
        record.year ? h('span', {}, String(record.year)) : '',
        record.material_type_label ? h('span', {}, record.material_type_label) : '',
        availability && availability.available !== null
          ? h('span', {}, t('search.availability', availability)) : '')),
    h('div', { class: 'row-actions' }, button),
    detail);
}

export default {
  id: 'search',
  titleKey: 'search.title',
  async render(ctx) {
    const { api, h, t, body, announce } = ctx;
    const field = uid('search-keyword');
    const results = h('div', { class: 'search-results', 'aria-live': 'polite' });
    const form = h('form', { class: 'inline-form search-form', role: 'search', novalidate: true },
      h('div', { class: 'field' },
        h('label', { for: field }, t('search.keyword')),
        h('input', { id: field, name: 'keyword', type: 'search', maxlength: '200', required: true })),
      h('button', { type: 'submit', class: 'primary' }, t('search.submit')));
    const run = async (keyword, page) => {
      try {
        const query = new URLSearchParams({ keyword, page: String(page), per_page: String(PER_PAGE) });
        const answer = await api.get(`/catalog/search?${query}`);
        const count = answer.total ? t('search.total', { total: answer.total }) : t('search.none');
        const pages = Math.ceil(answer.total / PER_PAGE);
        const turn = (to, key) => h('button', { type: 'button', class: 'secondary',
          onclick: async () => {
            await run(keyword, to);
            results.querySelector('.meta')?.focus();
          } }, t(key));
        replace(results, h('p', { class: 'meta', tabindex: '-1' }, count,
          pages > 1 ? ` ${t('search.page', { page, pages })}` : ''),
        h('ul', { class: 'rows' }, answer.records.map((record) => recordRow(ctx, record))),
        pages > 1 ? h('nav', { class: 'pager', 'aria-label': t('search.pages') },
          page > 1 ? turn(page - 1, 'search.previous') : '',
          page < pages ? turn(page + 1, 'search.next') : '') : '');
        announce(count);
      } catch (error) {
        if (problemSlug(error) === 'search-unavailable') {
          // the tenant's catalogue has no search source: the section says why, and no form
          replace(body, problemBox(error));
          return;
        }
        replace(results, problemBox(error));
      }
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const keyword = form.elements.keyword.value.trim();
      if (!keyword) { form.elements.keyword.focus(); return; }
      run(keyword, 1);
    });
    replace(body, form, results);
  },
};
