// The page's words, one dictionary per language (i18n/ja.js, i18n/en.js). Sections may add
// their own with addStrings(); the library's own words (hold statuses, refusal reasons…) are not
// here: they come from the API in the chosen language (Accept-Language).
import ja from './i18n/ja.js';
import en from './i18n/en.js';

const dictionaries = { ja: { ...ja }, en: { ...en } };
export const LANGUAGES = Object.keys(dictionaries);
let current = 'ja';

export function language() {
  return current;
}

export function setLanguage(lang) {
  current = LANGUAGES.includes(lang) ? lang : 'ja';
  document.documentElement.lang = current;
}

/** Add a section's strings: {ja: {...}, en: {...}}. */
export function addStrings(strings) {
  for (const [lang, table] of Object.entries(strings || {})) {
    if (dictionaries[lang]) Object.assign(dictionaries[lang], table);
  }
}

/** The text for `key` in the current language, with {name} replaced from `vars`. */
export function t(key, vars = {}) {
  const text = dictionaries[current][key] ?? dictionaries.ja[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

/** Elements marked data-i18n="key" get their text in the current language. */
export function translateStatic(root = document) {
  for (const element of root.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
}

/** A date (YYYY-MM-DD) as the patron reads it. */
export function formatDate(value) {
  if (!value) return '';
  const [year, month, day] = value.slice(0, 10).split('-').map(Number);
  if (current === 'ja') return `${year}年${month}月${day}日`;
  return new Date(Date.UTC(year, month - 1, day)).toLocaleDateString('en-GB', {
    year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC',
  });
}
