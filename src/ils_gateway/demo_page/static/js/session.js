// What the page remembers of the login, for this tab only (sessionStorage): the token, the
// channel, and whether a temporary password must be changed first. The kiosk key, when the page
// was opened as a kiosk (#kiosk=KEY), is kept the same way.
const SESSION = 'ils-demo-session';
const KIOSK = 'ils-demo-kiosk-key';

export function loadSession(tenant) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION) || 'null');
    return saved && saved.tenant === tenant ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(SESSION, JSON.stringify(session));
}

export function forgetSession() {
  sessionStorage.removeItem(SESSION);
}

/** The kiosk key from the address (#kiosk=KEY, then removed from it) or from before. */
export function kioskKey() {
  const match = /^#kiosk=(.*)$/.exec(location.hash);
  if (match) {
    const key = decodeURIComponent(match[1]);
    if (key) sessionStorage.setItem(KIOSK, key);
    else sessionStorage.removeItem(KIOSK);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KIOSK);
}
