// A node:test reporter that writes one JSON line per finished test (not per suite) to its destination, so that
// scripts/test.mjs can count the tests of a run and name every failed one with its file at the end, after the
// spec reporter's long output has scrolled by. Top-level entries also carry their duration, which adds up to the
// time each file took. A suite the harness declares around a file's own (`acrossStores`) is reported under the file
// of the tests inside it, which finish before it does.
export default async function* summary(source) {
  let inner = null;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, details, skip, todo, nesting } = event.data;
    let file = event.data.file;
    if (file !== undefined && !file.includes('/harness/')) inner = file;
    else if (file !== undefined) file = inner ?? file;
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
