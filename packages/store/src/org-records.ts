/** Orgs and their API keys. */

export interface OrgRecord {
  id: string;
  name: string;
  /** HMAC key that signs this org's member tokens: a token signed with another org's key does not verify. */
  signingSecret: Uint8Array;
  createdAt: string;
  /** The tier a member without one reports (`tier` is never null on the wire); `concierge orgs default-tier`. */
  defaultTier: string;
}

/** An org's default tier until it is set (`concierge orgs default-tier`). */
export const DEFAULT_TIER = 'standard';

export interface ApiKeyRecord {
  id: string;
  orgID: string;
  /** The first characters of the key, enough for a person to tell keys apart in a listing. */
  hint: string;
  createdAt: string;
  revokedAt: string | null;
}

/** The orgs and keys part of the Store port (store.ts). */
export interface OrgStore {
  createOrg(name: string): Promise<OrgRecord>;
  /**
   * The first-start org: creates the org and its first key only if the database has no org yet, atomically, so
   * several instances starting at once on an empty database create one between them. Null if an org existed.
   */
  createFirstOrg(name: string, key: { id: string; hash: string; hint: string }): Promise<OrgRecord | null>;
  getOrg(orgID: string): Promise<OrgRecord | null>;
  listOrgs(): Promise<OrgRecord[]>;

  createApiKey(orgID: string, key: { id: string; hash: string; hint: string }): Promise<ApiKeyRecord>;
  listApiKeys(orgID: string): Promise<ApiKeyRecord[]>;
  /** Returns false when no such unrevoked key exists in that org. */
  revokeApiKey(orgID: string, keyID: string): Promise<boolean>;
  /** Only unrevoked keys are found. */
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  /** Sets the tier members without one report; false if there is no such org. */
  setOrgDefaultTier(orgID: string, tier: string): Promise<boolean>;
}
