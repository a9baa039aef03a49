// Notice settings (GET/PUT …/patron/notices): how a ready hold is told (mail, telephone or
// not at all), the opt-in due-date reminder and its days, the overdue notice and, where the
// tenant mails a child's guardian, that mail. The saved settings are read back from the answer.
import { replace, showAndFocus, uid } from '../dom.js';
import { problemBox } from '../problems.js';

const METHODS = ['mail', 'phone', 'none'];

function checkbox(h, name, label, checked) {
  const id = uid(`notices-${name}`);
  return h('div', { class: 'field check' },
    h('input', { id, name, type: 'checkbox', checked }),
    h('label', { for: id }, label));
}

export default {
  id: 'notices',
  titleKey: 'notices.title',
  async render(ctx) {
    const { api, h, t, body, announce } = ctx;
    const prefs = await api.get('/patron/notices');
    const results = h('div', { class: 'results', 'aria-live': 'polite' });
    const legend = uid('notices-contact');
    const contact = h('fieldset', { class: 'field', 'aria-labelledby': legend },
      h('legend', { id: legend }, t('notices.contact')),
      METHODS.map((method) => {
        const id = uid(`notices-contact-${method}`);
        return h('div', { class: 'check' },
          h('input', { id, type: 'radio', name: 'contact_method', value: method,
            checked: prefs.contact_method === method }),
          h('label', { for: id }, t(`notices.contact_${method}`)));
      }));
    const daysField = uid('notices-days');
    const form = h('form', { class: 'notices-form', novalidate: true },
      h('p', { class: 'hint' }, prefs.email ? t('notices.email', { email: prefs.email }) : t('notices.no_email')),
      contact,
      checkbox(h, 'due_reminder', t('notices.due_reminder'), prefs.due_reminder),
      h('div', { class: 'field' },
        h('label', { for: daysField }, t('notices.due_days', { min: prefs.due_reminder_days_min, max: prefs.due_reminder_days_max })),
        h('input', { id: daysField, name: 'due_reminder_days', type: 'number', inputmode: 'numeric',
          min: prefs.due_reminder_days_min, max: prefs.due_reminder_days_max, value: prefs.due_reminder_days })),
      checkbox(h, 'overdue_notice', t('notices.overdue'), prefs.overdue_notice),
      checkbox(h, 'child_entry_mail', t('notices.child_entry'), prefs.child_entry_mail),
      results,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('notices.save'))));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const fields = form.elements;
      const days = fields.due_reminder_days.value.trim();
      const change = {
        contact_method: form.querySelector('input[name="contact_method"]:checked')?.value ?? null,
        due_reminder: fields.due_reminder.checked,
        // a number the gateway checks against the tenant's limits (its 400 names the field)
        due_reminder_days: days === '' ? null : Number(days),
        overdue_notice: fields.overdue_notice.checked,
      };
      if (fields.child_entry_mail.checked !== prefs.child_entry_mail) {
        change.child_entry_mail = fields.child_entry_mail.checked;
      }
      try {
        await api.request('PUT', '/patron/notices', change);
        await ctx.refresh('notices');
        const fresh = body.querySelector('.results');
        if (fresh) showAndFocus(fresh, h('p', { class: 'ok' }, t('notices.saved')));
        announce(t('notices.saved'));
      } catch (error) {
        replace(results, problemBox(error));
      }
    });
    replace(body, form);
  },
};
