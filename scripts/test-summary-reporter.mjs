// A node:test reporter that writes one JSON line per finished test (not per suite) to its destination, so that
// scripts/test.mjs can count the tests of a run and name every failed one with its file at the end, after the
// spec reporter's long output has scrolled by. Top-level entries also carry their duration, which adds up to the
// time each file took.
export default async function* summary(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, file, details, skip, todo, nesting } = event.data;
    yield `${JSON.stringify({
      suite: details?.type === 'suite',
      top: nesting === 0,
      ms: details?.duration_ms ?? 0,
      ok: event.type === 'test:pass',
      skipped: skip !== undefined || todo !== undefined,
      name,
      file: file ?? null,
    })}\n`;
  }
}
