import type { Agent } from '@concierge/sdk/agent';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { App } from './app.js';
import { agent } from './client.js';
import { Setup, SignIn } from './sign-in.js';
import './styles.css';

/** The setup link's token travels in the fragment, which never reaches the server's logs; read it, then drop it. */
function setupToken(): string | null {
  if (!location.pathname.replace(/\/+$/, '').endsWith('/console/setup')) return null;
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  return token === null || token === '' ? null : token;
}

function Root() {
  const [token] = useState(setupToken);
  const [me, setMe] = useState<Agent | null>(null);
  const [checking, setChecking] = useState(token === null);
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    if (token !== null) {
      // Out of the address bar and the history: the link is single-use anyway.
      history.replaceState(null, '', location.pathname);
      return;
    }
    // A reload: the refresh cookie may still hold a session.
    agent.resume().then(
      (s) => {
        setMe(s?.agent ?? null);
        setChecking(false);
      },
      (e: unknown) => {
        setFailure(e instanceof Error ? e.message : String(e));
        setChecking(false);
      },
    );
  }, []);

  const signedIn = (agentNow: Agent) => {
    if (location.pathname !== '/console/') history.replaceState(null, '', '/console/');
    setMe(agentNow);
  };

  if (me !== null) return <App me={me} onSignedOut={() => setMe(null)} />;
  if (token !== null && location.pathname.endsWith('/setup')) return <Setup token={token} onSignedIn={signedIn} />;
  if (checking)
    return (
      <p class="boot" role="status">
        Loading…
      </p>
    );
  return (
    <>
      {failure !== null && (
        <p class="banner error" role="alert">
          The server did not answer: {failure}
        </p>
      )}
      <SignIn onSignedIn={signedIn} />
    </>
  );
}

render(<Root />, document.getElementById('app')!);
