import { randomBytes } from 'node:crypto';
import { newID, nowISO } from '@concierge/ids';
import type { NewApiKey, WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import { DEFAULT_TIER, NotFoundInStore, type ApiKeyRecord, type OrgRecord } from '../store.js';
import { nothing } from './common-steps.js';

/** Orgs and their API keys: the first org of a database, keys made and revoked, the default tier. */

function newOrg(name: string): OrgRecord {
  return {
    id: newID('org'),
    name,
    signingSecret: new Uint8Array(randomBytes(32)),
    createdAt: nowISO(),
    defaultTier: DEFAULT_TIER,
  };
}

export function* createOrg(tx: WriteTx, name: string): Rule<WriteResult<OrgRecord>> {
  const org = newOrg(name);
  yield* step(tx.insertOrg(org));
  return nothing(org);
}

/** Creates the org and its first key only if the database has none yet; instances starting at once make one. */
export function* createFirstOrg(tx: WriteTx, name: string, key: NewApiKey): Rule<WriteResult<OrgRecord | null>> {
  yield* step(tx.lockFirstOrg());
  if (yield* step(tx.anyOrg())) return nothing(null);
  const org = newOrg(name);
  yield* step(tx.insertOrg(org));
  yield* step(tx.insertApiKey(org.id, key, org.createdAt));
  return nothing(org);
}

export function* createApiKey(tx: WriteTx, orgID: string, key: NewApiKey): Rule<WriteResult<ApiKeyRecord>> {
  if (!(yield* step(tx.orgExists(orgID)))) throw new NotFoundInStore('org');
  const createdAt = nowISO();
  yield* step(tx.insertApiKey(orgID, key, createdAt));
  return nothing({ id: key.id, orgID, hint: key.hint, createdAt, revokedAt: null });
}

export function* revokeApiKey(tx: WriteTx, orgID: string, keyID: string): Rule<WriteResult<boolean>> {
  return nothing(yield* step(tx.revokeApiKey(orgID, keyID, nowISO())));
}

export function* setOrgDefaultTier(tx: WriteTx, orgID: string, tier: string): Rule<WriteResult<boolean>> {
  return nothing(yield* step(tx.updateOrgDefaultTier(orgID, tier)));
}
