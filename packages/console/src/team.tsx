import type { Agent } from '@concierge/sdk/agent';
import { useEffect, useState } from 'preact/hooks';
import { agent } from './client.js';

/** Admins: the org's agents, adding one (with their one-time sign-in link to hand over), disabling one. */
export function TeamPanel(props: { me: Agent; onError: (error: unknown) => void; onChanged: () => void }) {
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<'agent' | 'admin'>('agent');
  const [link, setLink] = useState<{ email: string; url: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setAgents(await agent.listAgents());
    } catch (e) {
      props.onError(e);
    }
  };
  useEffect(() => void load(), []);

  const add = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const created = await agent.createAgent({ email, name, role });
      setLink({ email: created.agent.email, url: created.signInLink });
      setEmail('');
      setName('');
      setRole('agent');
      await load();
      props.onChanged();
    } catch (err) {
      props.onError(err);
    } finally {
      setBusy(false);
    }
  };

  const setDisabled = async (target: Agent, disabled: boolean) => {
    try {
      await agent.updateAgent({ agentID: target.id, disabled });
      await load();
      props.onChanged();
    } catch (e) {
      props.onError(e);
    }
  };

  return (
    <div class="panel">
      <h2>Team</h2>
      <table class="grid">
        <caption class="visually-hidden">Agents of this org</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(agents ?? []).map((a) => (
            <tr key={a.id}>
              <td>{a.name}</td>
              <td>{a.email}</td>
              <td>{a.role === 'admin' ? 'Admin' : 'Agent'}</td>
              <td>{a.disabledAt === null ? 'Active' : 'Disabled'}</td>
              <td>
                {a.id === props.me.id ? (
                  <span class="muted">You</span>
                ) : (
                  <button type="button" class="btn small" onClick={() => void setDisabled(a, a.disabledAt === null)}>
                    {a.disabledAt === null ? `Disable ${a.name}` : `Enable ${a.name}`}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Add an agent</h3>
      <form class="inline-form" onSubmit={(e) => void add(e)}>
        <label>
          Name
          <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Email
          <input type="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as 'agent' | 'admin')}>
            <option value="agent">Agent</option>
            <option value="admin">Admin</option>
          </select>
        </label>
        <button type="submit" class="btn primary" disabled={busy}>
          Add agent
        </button>
      </form>
      {link !== null && (
        <div class="link-box" role="status">
          <label for="sign-in-link">
            One-time sign-in link for {link.email} (valid 24 hours; send it to them, it sets their password)
          </label>
          <input id="sign-in-link" readOnly value={link.url} onFocus={(e) => (e.target as HTMLInputElement).select()} />
        </div>
      )}
    </div>
  );
}
