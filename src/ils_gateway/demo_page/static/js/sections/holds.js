// Holds: each with the library's own status word (status_label), queue place, pickup library
// and deadline; cancel and change of pickup library where allowed_actions says so.
import { seg } from '../api.js';
import { replace } from '../dom.js';
import { formatDate, language } from '../i18n.js';
import { problemBox } from '../problems.js';
import { pickupChooser, pickupName } from './pickup.js';
import { ebookBadge } from './ebook_badge.js';

function holdRow(ctx, hold, libraries, actions) {
  const { h, t } = ctx;
  const title = hold.item.title;
  const message = h('div', { class: 'row-message', 'aria-live': 'polite' });
  const allowed = new Set(hold.allowed_actions || []);
  const buttons = h('div', { class: 'row-actions' });

  const cancelButton = allowed.has('cancel') && h('button', { type: 'button', class: 'secondary',
    'aria-label': `${t('holds.cancel')}: ${title}` }, t('holds.cancel'));
  if (cancelButton) {
    cancelButton.addEventListener('click', () => {
      const no = h('button', { type: 'button', class: 'secondary' }, t('holds.cancel_no'));
      const yes = h('button', { type: 'button', class: 'danger' }, t('holds.cancel_yes'));
      const confirm = h('div', { class: 'confirm', role: 'group', 'aria-label': t('holds.cancel') },
        h('p', {}, t('holds.cancel_confirm', { title })), yes, no);
      no.addEventListener('click', () => { replace(message); cancelButton.focus(); });
      yes.addEventListener('click', () => actions.cancel(hold, message));
      replace(message, confirm);
      yes.focus();
    });
  }
  const changeButton = allowed.has('change_pickup') && libraries.length && h('button',
    { type: 'button', class: 'secondary', 'aria-label': `${t('holds.change_pickup')}: ${title}`,
      'aria-expanded': 'false' }, t('holds.change_pickup'));
  if (changeButton) {
    changeButton.addEventListener('click', () => {
      const chooser = pickupChooser(libraries, { label: t('holds.change_pickup_for', { title }),
        selected: hold.pickup_library });
      const form = h('form', { class: 'inline-form', novalidate: true }, chooser.element,
        h('button', { type: 'submit', class: 'primary' }, t('holds.change_submit')));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        actions.changePickup(hold, chooser.select.value, message);
      });
      replace(message, form);
      changeButton.setAttribute('aria-expanded', 'true');
      chooser.select.focus();
    });
  }
  buttons.append(...[changeButton, cancelButton].filter(Boolean));
  const details = [
    h('span', { class: 'status', 'data-status': hold.status }, hold.status_label || hold.status),
    hold.queue_position ? h('span', {}, t('holds.queue', { position: hold.queue_position })) : '',
    // (SIP2 does not list a waiting title hold's pickup library: then nothing is said)
    hold.pickup_library ? h('span', {}, `${t('holds.pickup')}: `,
      h('span', { class: 'pickup' }, pickupName(libraries, hold.pickup_library))) : '',
    hold.pickup_deadline ? h('span', {}, `${t('holds.deadline')}: ${formatDate(hold.pickup_deadline)}`) : '',
    hold.sequence ? h('span', {}, t('holds.sequence', hold.sequence)) : '',
    hold.cancellation_requested ? h('span', { class: 'notice-inline' }, t('holds.cancellation_requested')) : '',
  ];
  return h('li', { class: 'row', 'data-hold-id': hold.id },
    h('div', { class: 'row-main' }, h('p', { class: 'title' }, ebookBadge(ctx, hold), title),
      h('p', { class: 'meta' }, details)),
    buttons, message);
}

export default {
  id: 'holds',
  titleKey: 'holds.title',
  async render(ctx) {
    const { api, h, t, body } = ctx;
    const [answer, libraries] = await Promise.all([api.get('/holds'), ctx.libraries().catch(() => [])]);
    const holds = answer.holds;
    const done = async (text) => {
      await ctx.refresh('holds', 'summary', 'sequences', 'ebooks');
      // the row acted on is gone or redrawn: the focus goes to what happened
      const notice = h('p', { class: 'ok', role: 'status', tabindex: '-1' }, text);
      body.prepend(notice);
      notice.focus();
    };
    const actions = {
      async cancel(hold, message) {
        try {
          // an e-book hold (merged into the list) is cancelled at the e-library
          const answer = await api.del(hold.source === 'ebook'
            ? `/ebooks/holds/${seg(hold.id)}` : `/holds/${seg(hold.id)}`);
          await done(answer && answer.status === 'cancellation_requested'
            ? (language() === 'ja' ? answer.label : answer.label_en)
            : t('holds.cancelled', { title: hold.item.title }));
        } catch (error) {
          replace(message, problemBox(error));
        }
      },
      async changePickup(hold, code, message) {
        try {
          await api.patch(`/holds/${seg(hold.id)}`, { pickup_library: code });
          await done(t('holds.changed', { title: hold.item.title, library: pickupName(libraries, code) }));
        } catch (error) {
          replace(message, problemBox(error));
        }
      },
    };
    if (!holds.length) {
      replace(body, h('p', { class: 'empty' }, t('holds.empty')));
      return;
    }
    replace(body, answer.stale ? h('p', { class: 'notice' }, t('summary.stale', { time: answer.as_of })) : '',
      h('ul', { class: 'rows' }, holds.map((hold) => holdRow(ctx, hold, libraries, actions))));
  },
};
