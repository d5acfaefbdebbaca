// A node:test reporter that writes one JSON line per finished test (not per suite) to its destination, so that
// scripts/test.mjs can count the tests of a run and name every failed one with its file at the end, after the
// spec reporter's long output has scrolled by.
export default async function* summary(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, file, details, skip, todo } = event.data;
    if (details?.type === 'suite') continue;
    yield `${JSON.stringify({
      ok: event.type === 'test:pass',
      skipped: skip !== undefined || todo !== undefined,
      name,
      file: file ?? null,
    })}\n`;
  }
}
