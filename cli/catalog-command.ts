// `tasksd catalog copy --to postgres://…`: moves a cluster's catalog (its id, nodes,
// shards, owners and epochs) into another store, so a cluster that outgrew one
// machine keeps its identity and topology. Idempotent; refused while any move holds a
// claim (copy between moves), and refused when the target holds another cluster.
import type { Command } from 'commander';
import { catalogLocation, openCatalog } from '../catalog/open';
import { ErrorType, TasksdError } from '../common/errors';
import { withCluster } from './context';
import type { JsonFlag } from './options';
import { printJson, printLine } from './output';

export function registerCatalogCommands(program: Command): void {
  const catalog = program.command('catalog').description('the cluster catalog (TASKSD_CATALOG)');
  catalog
    .command('copy')
    .description('copy this cluster catalog (nodes, shards, owners) into another store, e.g. PostgreSQL; safe to repeat')
    .requiredOption('--to <catalog>', 'the target: postgres://user:password@host:port/database (or sqlite:PATH)')
    .action(async (opts: JsonFlag & { to: string }) => {
      const result = await withCluster(
        async (cluster) => {
          const target = catalogLocation(cluster.dataRoot, opts.to);
          const claims = await cluster.catalog.listClaims();
          if (claims.length > 0) {
            const { org, ns, jobId } = claims[0];
            throw new TasksdError(
              ErrorType.ShardBusy,
              `shard ${org}/${ns} is claimed by job ${jobId} (${claims.length} claim(s) in all): let running moves end, or run "tasksd repair", then copy`,
            );
          }
          const snapshot = await cluster.catalog.snapshot();
          const into = await openCatalog(target);
          try {
            if (into.location === cluster.catalog.location) {
              throw new TasksdError(ErrorType.InvalidInput, `--to names the catalog being copied (${into.location}); give another one`);
            }
            return { from: cluster.catalog.location, to: into.location, cluster: snapshot.clusterId, ...(await into.adopt(snapshot)) };
          } finally {
            await into.close();
          }
        },
        { mustExist: true },
      );
      if (opts.json) return printJson(result);
      printLine(
        `${result.changed === 0 ? 'already copied' : 'copied'}: cluster ${result.cluster} (${result.nodes} nodes, ${result.shards} shards) ` +
          `from ${result.from} to ${result.to}${result.changed === 0 ? '' : `, ${result.changed} rows written`}`,
      );
      printLine(`next: set TASKSD_CATALOG to the same URL for every tasksd process (workers, CLI, writers)`);
    });
}
