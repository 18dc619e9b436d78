// DuckDB on Parquet: the reference point for the engine's grouped queries
// (bench/engine.sh). Runs the same two queries as the recipe and prints
// {"seconds": s, "groups": ..., "medians": ...}.
// usage: NODE_PATH=tests/node/node_modules node bench/engine_duckdb.cjs IN.parquet [THREADS]
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const [pq, threads = '2'] = process.argv.slice(2);
  if (!pq) {
    console.error('usage: engine_duckdb.cjs IN.parquet [THREADS]');
    process.exit(2);
  }
  const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const con = await inst.connect();
  const f = pq.replace(/'/g, "''");
  const t0 = process.hrtime.bigint();
  const g = await con.runAndReadAll(`SELECT channel, count(*) AS n, avg(amount) AS mean, sum(amount) AS total
    FROM read_parquet('${f}') WHERE channel IS NOT NULL GROUP BY channel ORDER BY channel`);
  const m = await con.runAndReadAll(`SELECT merchant_category, quantile_cont(amount, 0.5) AS median
    FROM read_parquet('${f}') WHERE merchant_category IS NOT NULL GROUP BY merchant_category ORDER BY merchant_category`);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ seconds: secs, groups: g.getRowObjectsJson(), medians: m.getRowObjectsJson() }));
}
main().catch((e) => { console.error(e); process.exit(1); });
