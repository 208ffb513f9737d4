/** The page's state lives in the URL (#/view?param=…), so any view can be shared as a link. */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  view: string;
  /** The rest of the path: a container id on its page. */
  arg: string;
  params: Record<string, string>;
}

export function parseRoute(hash = location.hash): Route {
  const h = hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  const path = q >= 0 ? h.slice(0, q) : h;
  const [view = '', ...rest] = path.split('/');
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(q >= 0 ? h.slice(q + 1) : '')) params[k] = v;
  return { view: decodeURIComponent(view) || 'live', arg: rest.map(decodeURIComponent).join('/'), params };
}

export function href(view: string, params: Record<string, string | undefined> = {}, arg = ''): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `#/${encodeURIComponent(view)}${arg ? `/${encodeURIComponent(arg)}` : ''}${s ? `?${s}` : ''}`;
}

/** Changes the URL: a new history entry, or (replace) the current one, e.g. while typing. */
export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute);
  useEffect(() => {
    const on = () => setRoute(parseRoute());
    window.addEventListener('hashchange', on);
    window.addEventListener('popstate', on);
    return () => {
      window.removeEventListener('hashchange', on);
      window.removeEventListener('popstate', on);
    };
  }, []);
  return route;
}
