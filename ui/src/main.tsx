/**
 * The StreamTrack web UI, served by the API under /ui: sign in with a read
 * key, then Live, Explore, a user's page, Insights and Pipeline, all through
 * the API's public routes (what the UI can do, any client can). Pages are
 * routed in the URL's hash (#/live, #/users/<id>), so the API serves one
 * page and a reload keeps the place.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson, session } from './api.js';
import { ExplorePage } from './explore.js';
import { InsightsPage } from './insights.js';
import { LivePage } from './live.js';
import { PipelinePage } from './pipeline.js';
import { UserPage } from './user.js';

type Route = { page: 'signin' } | { page: 'live' } | { page: 'explore' } | { page: 'user'; userId: string } | { page: 'insights' } | { page: 'pipeline' };

function parseRoute(hash: string): Route {
  const [, first, ...rest] = hash.replace(/^#/, '').split('/');
  switch (first) {
    case 'explore':
      return { page: 'explore' };
    case 'users':
      return rest.length > 0 ? { page: 'user', userId: decodeURIComponent(rest.join('/')) } : { page: 'explore' };
    case 'insights':
      return { page: 'insights' };
    case 'pipeline':
      return { page: 'pipeline' };
    case 'signin':
      return { page: 'signin' };
    default:
      return { page: 'live' };
  }
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [checking, setChecking] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const candidate = key.trim();
    if (!candidate) {
      setError('Enter a read key (st_sk_…) with the events:read and stats:read scopes.');
      return;
    }
    setChecking(true);
    setError(undefined);
    try {
      // The cheapest read the UI needs: a key that may list events may open the UI.
      await getJson('/activities', { limit: 1 }, { key: candidate });
      session.signIn(candidate);
      onSignedIn();
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setChecking(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>Sign in to StreamTrack</h1>
      <p>
        Use a <strong>read key</strong> of your project (<span class="mono">st_sk_…</span>, scopes <span class="mono">events:read</span> and{' '}
        <span class="mono">stats:read</span>). It stays in this tab only and is sent to this API alone.
      </p>
      <form onSubmit={submit} aria-describedby={error ? 'signin-error' : undefined}>
        <div class="field">
          <label for="key">Read key</label>
          <input id="key" name="key" type="password" autoComplete="off" spellcheck={false} value={key} onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)} aria-invalid={error ? true : undefined} />
        </div>
        <button type="submit" disabled={checking}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      {error && (
        <div id="signin-error" class="problem" role="alert" data-testid="signin-error">
          <p>{error}</p>
        </div>
      )}
      <p class="muted">
        Create one with <span class="mono">npm run cli -- keys create --project NAME --scope events:read --scope stats:read</span>. The API is documented at <a href="/docs">/docs</a>.
      </p>
    </main>
  );
}

const PAGES: Array<[Route['page'], string, string]> = [
  ['live', '#/live', 'Live'],
  ['explore', '#/explore', 'Explore'],
  ['insights', '#/insights', 'Insights'],
  ['pipeline', '#/pipeline', 'Pipeline'],
];

function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => session.key() !== null);
  useEffect(() => {
    const page = !signedIn ? 'Sign in' : route.page === 'user' ? `User ${route.userId}` : route.page[0]!.toUpperCase() + route.page.slice(1);
    document.title = `StreamTrack · ${page}`;
  }, [route, signedIn]);
  if (!signedIn || route.page === 'signin') {
    return (
      <SignIn
        onSignedIn={() => {
          setSignedIn(true);
          if (route.page === 'signin') location.hash = '#/live';
        }}
      />
    );
  }
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">StreamTrack</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map(([page, href, label]) => (
              <li key={page}>
                <a href={href} aria-current={route.page === page ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button
          type="button"
          class="signout"
          onClick={() => {
            session.signOut();
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === 'live' && <LivePage />}
        {route.page === 'explore' && <ExplorePage />}
        {route.page === 'user' && <UserPage key={route.userId} userId={route.userId} />}
        {route.page === 'insights' && <InsightsPage />}
        {route.page === 'pipeline' && <PipelinePage />}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
// The page's own "Loading…" goes: render adds to what is there.
root.textContent = '';
render(<App />, root);
