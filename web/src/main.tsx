/** The page: navigation, the views, the token prompt, keyboard shortcuts, light/dark from the system. */
import { render } from 'preact';
import './style.css';
import { useEffect, useState } from 'preact/hooks';
import { setToken, tokenWorks } from './api.js';
import { ContainerPage } from './container-page.js';
import { Containers } from './containers.js';
import { setUtc, useUtc } from './format.js';
import { Live } from './live.js';
import { href, useRoute } from './route.js';
import { Search } from './search.js';
import { needToken } from './state.js';

/** Times a token was accepted: the views mount afresh after each. */
let opened = 0;

function TokenPrompt() {
  const [value, setValue] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!(await tokenWorks(value))) {
      setError('That token is refused.');
      return;
    }
    setToken(value);
    // The views mount again (main's key) and load with the token.
    opened++;
    needToken.set(false);
  };
  return (
    <div class="modal">
      <form class="token" onSubmit={submit}>
        <h2>shiplog</h2>
        <p>This server wants its API token (SHIPLOG_API_TOKEN). It is kept for this browser tab only.</p>
        <input type="password" name="token" autoFocus placeholder="token" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        {error ? <div class="notice error">{error}</div> : null}
        <button type="submit">Open</button>
      </form>
    </div>
  );
}

function App() {
  const route = useRoute();
  const wantToken = needToken.use();
  const [utc, setUtcState] = useState(useUtc());
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      const typing = t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT';
      if (e.key === '/' && !typing) {
        e.preventDefault();
        document.getElementById('q')?.focus();
      } else if (e.key === 'Escape') {
        (document.querySelector('.detail button[title="Esc"]') as HTMLButtonElement | null)?.click();
        if (typing) t.blur();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  const tab = (view: string, label: string) => (
    <a class={route.view === view ? 'on' : ''} href={href(view, view === 'live' || view === 'search' ? pick(route.params) : {})}>
      {label}
    </a>
  );
  let body;
  if (wantToken) body = <TokenPrompt />;
  else if (route.view === 'search') body = <Search params={route.params} />;
  else if (route.view === 'containers') body = <Containers params={route.params} />;
  else if (route.view === 'container') body = <ContainerPage key={route.arg} id={route.arg} params={route.params} />;
  else body = <Live params={route.params} />;
  return (
    <>
      <header>
        <span class="brand">shiplog</span>
        <nav>
          {tab('live', 'Live')}
          {tab('search', 'Search')}
          {tab('containers', 'Containers')}
        </nav>
        <span class="grow" />
        <label class="utc" title="Times in UTC instead of local time">
          <input
            type="checkbox"
            checked={utc}
            onChange={(e) => {
              setUtc((e.target as HTMLInputElement).checked);
              setUtcState((e.target as HTMLInputElement).checked);
            }}
          />{' '}
          UTC
        </label>
      </header>
      <main key={`${utc ? 'utc' : 'local'}-${opened}`}>{body}</main>
    </>
  );
}

/** The filters Live and Search share, carried over when switching between them. */
function pick(p: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['container', 'host', 'service', 'label', 'level', 'stream']) if (p[k]) out[k] = p[k];
  return out;
}

render(<App />, document.getElementById('app') as HTMLElement);
