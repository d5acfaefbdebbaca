import type { SignedIn } from '@concierge/sdk/agent';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { App } from './app.js';
import { agent } from './client.js';
import { Setup, SignIn } from './sign-in.js';
import './styles.css';
import './layout.css';

/** The setup link's token travels in the fragment, which never reaches the server's logs; read it, then drop it. */
function setupToken(): string | null {
  if (!location.pathname.replace(/\/+$/, '').endsWith('/console/setup')) return null;
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  return token === null || token === '' ? null : token;
}

/** The org this browser last worked in: a person in several orgs lands there after signing in. */
const LAST_ORG = 'concierge.orgID';

/** Tells the other tabs that this one switched org: their session ended with it, so they start again. */
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('concierge-console') : null;

function remember(s: SignedIn): SignedIn {
  try {
    localStorage.setItem(LAST_ORG, s.agent.orgID);
  } catch {
    // Storage may be off (a private window): the person then lands in their oldest org.
  }
  return s;
}

function lastOrg(): string | null {
  try {
    return localStorage.getItem(LAST_ORG);
  } catch {
    return null;
  }
}

function Root() {
  const [token] = useState(setupToken);
  const [me, setMe] = useState<SignedIn | null>(null);
  const [checking, setChecking] = useState(token === null);
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    if (tabs !== null) tabs.onmessage = () => location.reload();
    if (token !== null) {
      // Out of the address bar and the history: the link is single-use anyway.
      history.replaceState(null, '', location.pathname);
      return;
    }
    // A reload: the refresh cookie may still hold a session.
    agent.resume().then(
      (s) => {
        setMe(s === null ? null : remember(s));
        setChecking(false);
      },
      (e: unknown) => {
        setFailure(e instanceof Error ? e.message : String(e));
        setChecking(false);
      },
    );
  }, []);

  /** `home`: start from the inbox (after the setup page, or in another org, where the open link means nothing). */
  const signedIn = (s: SignedIn, home = false) => {
    if (home || token !== null) history.replaceState(null, '', '/console/');
    setMe(remember(s));
  };

  const switchOrg = async (orgID: string) => {
    signedIn(await agent.switchOrg({ orgID }), true);
    tabs?.postMessage('switched');
  };

  /** A fresh sign-in lands in the org this browser last worked in, when the password opens it too. */
  const signedInWithPassword = async (s: SignedIn) => {
    const last = lastOrg();
    // A link (a conversation, a view) opens where the password signed in: it was meant for that org.
    const link = location.pathname !== '/console/' || location.search !== '';
    if (!link && last !== null && last !== s.agent.orgID && s.orgs.some((o) => o.orgID === last)) {
      try {
        return await switchOrg(last);
      } catch {
        // Still signed in where the answer put us.
      }
    }
    signedIn(s);
  };

  if (me !== null) {
    // Only the session on screen signs out: a request of the org just left may still fail after the switch.
    const signedOut = () => setMe((now) => (now === me ? null : now));
    return <App key={me.agent.id} me={me.agent} orgs={me.orgs} onSwitchOrg={switchOrg} onSignedOut={signedOut} />;
  }
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
      <SignIn onSignedIn={signedInWithPassword} />
    </>
  );
}

render(<Root />, document.getElementById('app')!);
