/** Where the examples find the server: `CONCIERGE_URL` and the Org-API-Key of the first-run banner. */
export function env(): { baseURL: string; apiKey: string } {
  const baseURL = process.env.CONCIERGE_URL ?? 'http://127.0.0.1:8080';
  const apiKey = process.env.CONCIERGE_API_KEY;
  if (apiKey === undefined)
    throw new Error('Set CONCIERGE_API_KEY to the Org-API-Key the server printed on first run.');
  return { baseURL, apiKey };
}
