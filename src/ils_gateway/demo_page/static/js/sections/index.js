// The sections of My Library, in navigation order. A section is a module whose default export is
//   { id, titleKey, strings?: {ja: {...}, en: {...}}, async render(ctx) }
// render(ctx) fills ctx.body from the API (ctx.api) and may throw the API's problem: a
// `feature-disabled` problem (the tenant's rules for this channel, e.g. a kiosk) leaves the
// section out of the page; any other is shown in the section. ctx also offers t, h, announce,
// libraries() (the pickup libraries) and refresh(...ids) (render other sections again).
// To add a section: write sections/<name>.js and list it here.
import summary from './summary.js';
import loans from './loans.js';
import holds from './holds.js';
import basket from './basket.js';
import sequences from './sequences.js';
import search from './search.js';
import ebooks from './ebooks.js';
import shelves from './shelves.js';
import history from './history.js';
import fees from './fees.js';
import notices from './notices.js';
import account from './account.js';

export const SECTIONS = [
  summary, loans, holds, basket, sequences, search, ebooks, shelves, history, fees, notices, account,
];
