import type { SignedIn } from '@concierge/sdk/agent';
import { APIError } from '@concierge/sdk/agent';
import { useState } from 'preact/hooks';
import { agent } from './client.js';

const MIN_PASSWORD = 12;

function explain(e: unknown): string {
  if (e instanceof APIError) {
    if (e.status === 401) return e.code === 'INVALID_CREDENTIALS' ? 'Wrong email or password.' : e.message;
    if (e.status === 429) return 'Too many attempts. Wait a minute and try again.';
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

function Card(props: { title: string; children: preact.ComponentChildren }) {
  return (
    <main class="auth">
      <div class="auth-card">
        <div class="brand dark" aria-hidden="true">
          <span class="logo">C</span> Concierge
        </div>
        <h1>{props.title}</h1>
        {props.children}
      </div>
    </main>
  );
}

export function SignIn(props: { onSignedIn: (s: SignedIn) => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.onSignedIn(await agent.signIn({ email, password }));
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Sign in">
      <form onSubmit={(e) => void submit(e)}>
        <label for="email">Email</label>
        <input
          id="email"
          type="email"
          autocomplete="username"
          required
          value={email}
          onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
        />
        <label for="password">Password</label>
        <input
          id="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
        {error !== null && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn primary wide" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </Card>
  );
}

/** The page a one-time sign-in link opens (`/console/setup#token=…`): choose a password, and you are in. */
export function Setup(props: { token: string; onSignedIn: (s: SignedIn) => void }) {
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if ([...password].length < MIN_PASSWORD) return setError(`Use at least ${MIN_PASSWORD} characters.`);
    if (password !== again) return setError('The two passwords differ.');
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await agent.setup({ token: props.token, password }));
    } catch (err) {
      setError(
        err instanceof APIError && err.status === 401
          ? 'This sign-in link was already used or has expired. Ask an admin for a new one.'
          : explain(err),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Choose your password">
      <p class="muted">This link works once. Your password needs at least {MIN_PASSWORD} characters.</p>
      <p class="muted">
        Already an agent of another organisation here? Choose the same password to switch between them after one
        sign-in.
      </p>
      <form onSubmit={(e) => void submit(e)}>
        <label for="new-password">New password</label>
        <input
          id="new-password"
          type="password"
          autocomplete="new-password"
          required
          minLength={MIN_PASSWORD}
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
        <label for="repeat-password">Repeat password</label>
        <input
          id="repeat-password"
          type="password"
          autocomplete="new-password"
          required
          value={again}
          onInput={(e) => setAgain((e.target as HTMLInputElement).value)}
        />
        {error !== null && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn primary wide" disabled={busy}>
          {busy ? 'Saving…' : 'Set password and sign in'}
        </button>
      </form>
    </Card>
  );
}
