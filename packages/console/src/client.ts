import { ConciergeAgent } from '@concierge/sdk/agent';

/** One agent client for the page: it talks to the origin that served the console, so the refresh cookie is ours. */
export const agent = new ConciergeAgent({ baseURL: location.origin });
