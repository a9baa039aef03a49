// Refusals and errors as the patron reads them: the gateway's detail (in the patron's language,
// chosen by Accept-Language) and, when the library system gave its own words, those too.
import { ApiProblem } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';

/** The lines that explain `error` (an ApiProblem, NetworkProblem or anything thrown). */
export function problemLines(error) {
  if (!(error instanceof ApiProblem)) return [t('error.network')];
  const problem = error.problem;
  const lines = [problem.detail || problem.title || t('error.unknown')];
  if (problem.backend_message) lines.push(t('problem.library_says', { text: problem.backend_message }));
  return lines;
}

/** An alert box for `error`; `extra` nodes (a link to the library's page…) go inside it. */
export function problemBox(error, ...extra) {
  const lines = problemLines(error);
  return h('div', { class: 'alert', role: 'alert', 'data-problem': problemSlug(error) },
    h('p', { class: 'alert-main' }, lines[0]),
    lines.slice(1).map((line) => h('p', { class: 'library-words' }, line)),
    extra);
}

export function problemSlug(error) {
  return error instanceof ApiProblem ? error.slug : 'network';
}

/** One item's line of a batch (renew several, holds from the basket): ok, refused or error. */
export function resultLines(result) {
  const lines = [];
  if (result.outcome === 'refused') lines.push(result.reason_label || result.detail || result.reason);
  else if (result.outcome === 'error') lines.push(result.detail || result.error_type);
  if (result.backend_message) lines.push(t('problem.library_says', { text: result.backend_message }));
  return lines;
}
