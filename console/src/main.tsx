import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { token, whenUnauthorized } from './api.js';
import { startLive, stopLive } from './live.js';
import { linkProps, navigate, useRoute } from './router.js';
import { Overview } from './pages/overview.js';
import { Incidents } from './pages/incidents.js';
import { IncidentPage } from './pages/incident.js';
import { Events } from './pages/events.js';
import { Hosts } from './pages/hosts.js';
import { Detections } from './pages/detections.js';
import './style.css';

const PAGES = [
  { path: '/', key: '1', label: 'Overview' },
  { path: '/incidents', key: '2', label: 'Incidents' },
  { path: '/events', key: '3', label: 'Events' },
  { path: '/hosts', key: '4', label: 'Hosts' },
  { path: '/detections', key: '5', label: 'Detections' },
];

/** Asks for the API token; the data is never shown without it. */
function Login({ why, onToken }: { why: string | null; onToken: (t: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="login">
      <h1>Vigil console</h1>
      {why ? (
        <p class="error" role="alert">
          The control plane refused the token ({why}). Enter the API token again.
        </p>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onToken(value.trim());
        }}
      >
        <label>
          API token (the control plane's <code>api-token</code> file, or <code>VIGIL_API_TOKEN</code>)
          <input
            name="token"
            type="password"
            autoComplete="off"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Open</button>
      </form>
    </main>
  );
}

function Page({ path }: { path: string }) {
  const incident = /^\/incidents\/([^/]+)$/.exec(path);
  if (incident) return <IncidentPage id={decodeURIComponent(incident[1] ?? '')} />;
  switch (path) {
    case '/':
      return <Overview />;
    case '/incidents':
      return <Incidents />;
    case '/events':
      return <Events />;
    case '/hosts':
      return <Hosts />;
    case '/detections':
      return <Detections />;
    default:
      return <p class="error">No page at {path}.</p>;
  }
}

function App() {
  const path = useRoute();
  const [authed, setAuthed] = useState(token.get() !== null);
  const [why, setWhy] = useState<string | null>(null);
  useEffect(() => {
    whenUnauthorized((message) => {
      token.clear();
      stopLive();
      setWhy(message);
      setAuthed(false);
    });
  }, []);
  useEffect(() => {
    if (authed) startLive();
  }, [authed]);
  // Keys 1-5 open the pages; "/" goes to the page's first field. Not while typing in a field.
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || (t && /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      const page = PAGES.find((p) => p.key === e.key);
      if (page) navigate(page.path);
      else if (e.key === '/') {
        e.preventDefault();
        document.querySelector<HTMLElement>('main input, main select, main textarea')?.focus();
      }
    };
    addEventListener('keydown', on);
    return () => removeEventListener('keydown', on);
  }, []);
  if (!authed)
    return (
      <Login
        why={why}
        onToken={(t) => {
          token.set(t);
          setWhy(null);
          setAuthed(true);
        }}
      />
    );
  const top = `/${path.split('/')[1] ?? ''}`;
  return (
    <>
      <header>
        <strong>Vigil</strong>
        <nav>
          {PAGES.map((p) => (
            <a {...linkProps(p.path)} aria-current={top === p.path ? 'page' : undefined} title={`key ${p.key}`}>
              {p.label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="quiet"
          onClick={() => {
            token.clear();
            stopLive();
            setAuthed(false);
          }}
        >
          Forget token
        </button>
      </header>
      <main>
        <Page path={path} />
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
