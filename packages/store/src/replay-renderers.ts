import type { ReplayRendering, StoredResponse } from './idempotency-records.js';

/** The renderers of replayed answers, loaded in every thread that writes (see `ReplayRendering`). */

/** A renderer: the write's result and the call's context → the exact status and body the client gets. */
export type ReplayRenderer = (result: any, context: any) => StoredResponse;
export type ReplayRenderers = Readonly<Record<string, ReplayRenderer>>;

let registry: ReplayRenderers = {};
let loadedFrom: string | null = null;

/**
 * Loads the renderers of this thread from a module that exports `replayRenderers` (an `import()` URL). Every
 * thread of one process loads the same module, so a route's answer is made by the same code wherever its write ran.
 */
export async function loadReplayRenderers(moduleURL: string): Promise<void> {
  if (loadedFrom === moduleURL) return;
  const mod = (await import(moduleURL)) as { replayRenderers?: ReplayRenderers };
  if (mod.replayRenderers === undefined) throw new Error(`${moduleURL} exports no replayRenderers`);
  registry = mod.replayRenderers;
  loadedFrom = moduleURL;
}

/** Where this thread's renderers came from, for a writer thread to load the same. */
export function replayRenderersURL(): string | null {
  return loadedFrom;
}

/**
 * Answers rendered, by result object: the transaction renders to record, and the caller renders again to send, with
 * the same object (in the thread that wrote) or its copy (the writer thread sends what it rendered with the result:
 * `renderedFor`, `rememberRendered`). Renderers are pure, so that is one rendering per write, not two. One result
 * object belongs to one write, so its renderer's name is enough to tell a hit.
 */
export interface Rendered {
  renderer: string;
  response: StoredResponse;
}

const rendered = new WeakMap<object, Rendered>();

const keyOf = (result: unknown): object | null => (typeof result === 'object' && result !== null ? result : null);

export function renderReplay(rendering: ReplayRendering, result: unknown): StoredResponse {
  const key = keyOf(result);
  const hit = key === null ? undefined : rendered.get(key);
  if (hit !== undefined && hit.renderer === rendering.renderer) return hit.response;
  const render = registry[rendering.renderer];
  if (render === undefined) throw new Error(`no replay renderer named ${rendering.renderer}`);
  const response = render(result, rendering.context);
  if (key !== null) rendered.set(key, { renderer: rendering.renderer, response });
  return response;
}

/** What this thread rendered for a result, if anything (the writer thread sends it back with the result). */
export function renderedFor(result: unknown): Rendered | undefined {
  const key = keyOf(result);
  return key === null ? undefined : rendered.get(key);
}

/** Takes a rendering made in the writer thread for the copy of its result that arrived here. */
export function rememberRendered(result: unknown, done: Rendered): void {
  const key = keyOf(result);
  if (key !== null) rendered.set(key, done);
}
