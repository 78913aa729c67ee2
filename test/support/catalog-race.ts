// One contender in a race on the catalog, as its own process: opens the catalog named
// by TASKSD_CATALOG (or SQLite under TASKSD_DATA), prints "ready", waits for "go" on
// stdin so every contender starts at once, does one operation and prints the result
// as JSON. Used by test/catalog.test.ts.
//
//   tsx test/support/catalog-race.ts open | flip ORG NS FROM TO JOB | claim ORG NS JOB
import * as readline from 'node:readline';
import { catalogSetting, dataRoot } from '../../common/config';
import { catalogLocation, openCatalog } from '../../catalog/open';

async function main(): Promise<void> {
  const [op, ...args] = process.argv.slice(2);
  const location = catalogLocation(dataRoot(), catalogSetting());
  // Opening is itself raced ("open"): the schema upgrade must not trip over another process's.
  const lines = readline.createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
  if (op !== 'open') {
    const catalog = await openCatalog(location);
    console.log('ready');
    await go;
    try {
      const result =
        op === 'flip'
          ? await catalog.flipOwner(args[0], args[1], args[2], args[3], args[4])
          : await catalog.claim(args[0], args[1], args[2]).then(
              () => 'claimed',
              (err: Error) => `refused: ${err.message}`,
            );
      console.log(JSON.stringify({ result }));
    } finally {
      await catalog.close();
    }
  } else {
    console.log('ready');
    await go;
    const catalog = await openCatalog(location);
    console.log(JSON.stringify({ result: catalog.clusterId }));
    await catalog.close();
  }
  lines.close();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
