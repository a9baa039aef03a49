// The page's shell: language, login, and the sections of My Library (sections/index.js).
import { Api, ApiProblem } from './api.js';
import { h, replace } from './dom.js';
import { language, setLanguage, t, translateStatic, addStrings } from './i18n.js';
import { showLogin, showPasswordChange } from './login.js';
import { problemBox } from './problems.js';
import { forgetSession, kioskKey, loadSession, saveSession } from './session.js';
import { SECTIONS } from './sections/index.js';

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || '';
const tenant = meta('ils-tenant');
const app = document.getElementById('app');
const announcer = document.getElementById('announcer');
const nav = document.getElementById('sections-nav');
const navList = document.getElementById('sections-list');
const logoutButton = document.getElementById('logout');
const languageButton = document.getElementById('language-switch');
const api = new Api(tenant);
const LANGUAGE = 'ils-demo-language';

let session = null; // {tenant, token, channel, passwordChangeRequired, passwordChangeUrl}
let panels = new Map(); // section id -> {section, panel, body, navItem}
let libraries = null;

function announce(text) {
  announcer.textContent = '';
  // a new text node each time, so screen readers say a repeated message again
  setTimeout(() => { announcer.textContent = text; }, 20);
}

function showLanguage() {
  translateStatic();
  languageButton.textContent = t('language_switch');
  languageButton.setAttribute('lang', language() === 'ja' ? 'en' : 'ja');
  languageButton.setAttribute('aria-label', t('language_switch_label'));
  nav.setAttribute('aria-label', t('nav_label'));
  document.getElementById('library-name').textContent =
    language() === 'ja' ? meta('ils-tenant-name') : meta('ils-tenant-name-en');
  document.title = `${document.getElementById('library-name').textContent} — ${t('page_title')}`;
}

/** The tenant's pickup libraries (one request a page), for the hold and basket sections. */
function pickupLibraries() {
  if (!libraries) {
    libraries = api.get('/libraries').then((body) => body.libraries).catch((error) => {
      libraries = null;
      throw error;
    });
  }
  return libraries;
}

function context(id) {
  const entry = panels.get(id);
  return {
    api, t, h, announce,
    body: entry.body,
    session,
    libraries: pickupLibraries,
    refresh: (...ids) => Promise.all(ids.map((other) => renderSection(other))),
  };
}

async function renderSection(id) {
  const entry = panels.get(id);
  if (!entry || entry.unavailable) return;
  entry.panel.setAttribute('aria-busy', 'true');
  try {
    await entry.section.render(context(id));
  } catch (error) {
    if (error instanceof ApiProblem && error.slug === 'feature-disabled') {
      // the tenant's rules for this channel (a kiosk) leave the section out
      entry.unavailable = true;
      entry.panel.hidden = true;
      entry.panel.dataset.unavailable = 'true';
      entry.navItem.hidden = true;
      return;
    }
    if (error instanceof ApiProblem && error.slug === 'session-expired') return;
    replace(entry.body, problemBox(error));
  } finally {
    entry.panel.removeAttribute('aria-busy');
  }
}

function select(id, focus = false) {
  const wanted = panels.has(id) && !panels.get(id).unavailable ? id : [...panels.keys()].find(
    (key) => !panels.get(key).unavailable);
  for (const [key, entry] of panels) {
    const on = key === wanted;
    entry.panel.hidden = !on;
    const link = entry.navItem.querySelector('a');
    if (on) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (focus && wanted) panels.get(wanted).heading.focus();
}

async function showLibrary() {
  logoutButton.hidden = false;
  panels = new Map();
  replace(navList);
  const sections = [];
  for (const section of SECTIONS) {
    addStrings(section.strings);
    const headingId = `heading-${section.id}`;
    const heading = h('h2', { id: headingId, tabindex: '-1', 'data-i18n': section.titleKey },
      t(section.titleKey));
    const body = h('div', { class: 'section-body' });
    const panel = h('section', { id: `section-${section.id}`, class: 'panel',
      'aria-labelledby': headingId, 'data-section': section.id }, heading, body);
    const link = h('a', { href: `#${section.id}`, 'data-i18n': section.titleKey },
      t(section.titleKey));
    const navItem = h('li', {}, link);
    navList.append(navItem);
    panels.set(section.id, { section, panel, body, heading, navItem, unavailable: false });
    sections.push(panel);
  }
  replace(app, sections);
  nav.hidden = false;
  select(location.hash.slice(1));
  await Promise.all([...panels.keys()].map((id) => renderSection(id)));
  // the focus moves to the new view's heading (the login form it was in is gone)
  select(location.hash.slice(1), true);
  document.body.dataset.ready = 'true';
}

function loggedIn(created) {
  session = {
    tenant,
    token: created.token,
    channel: created.channel,
    passwordChangeRequired: created.password_change_required,
    passwordChangeUrl: created.password_change_url || null,
  };
  api.token = created.token;
  saveSession(session);
  route();
}

function route(notice = null) {
  delete document.body.dataset.ready;
  document.body.dataset.view = !session ? 'login'
    : session.passwordChangeRequired ? 'password' : 'library';
  if (!session) {
    logoutButton.hidden = true;
    nav.hidden = true;
    showLogin(app, { api, onLoggedIn: loggedIn, announce, notice });
    document.body.dataset.ready = 'true';
  } else if (session.passwordChangeRequired) {
    logoutButton.hidden = false;
    nav.hidden = true;
    showPasswordChange(app, {
      api, session, announce,
      onChanged: () => {
        session.passwordChangeRequired = false;
        saveSession(session);
        route();
      },
    });
    document.body.dataset.ready = 'true';
  } else {
    showLibrary();
  }
}

function endSession(message) {
  session = null;
  api.token = null;
  libraries = null;
  forgetSession();
  route(message);
}

async function logout() {
  try {
    await api.del('/sessions/current');
  } catch {
    // the session may have ended already: the page forgets it either way
  }
  endSession(t('login.logged_out'));
}

function switchLanguage() {
  setLanguage(language() === 'ja' ? 'en' : 'ja');
  localStorage.setItem(LANGUAGE, language());
  showLanguage();
  if (session && !session.passwordChangeRequired) {
    // the library's words (statuses, reasons) come from the API in the new language
    for (const id of panels.keys()) renderSection(id);
  }
}

function boot() {
  setLanguage(localStorage.getItem(LANGUAGE) || meta('ils-default-language') || 'ja');
  showLanguage();
  api.kioskKey = kioskKey();
  document.getElementById('kiosk-badge').hidden = !api.kioskKey;
  session = loadSession(tenant);
  if (session) api.token = session.token;
  api.onSessionEnded = () => endSession(t('login.session_ended'));
  languageButton.addEventListener('click', switchLanguage);
  logoutButton.addEventListener('click', logout);
  window.addEventListener('hashchange', () => {
    if (panels.has(location.hash.slice(1))) select(location.hash.slice(1), true);
  });
  route();
}

boot();
