// DuckDB CSV -> Parquet, the reference point for `sealroom seal` (bench/seal.sh).
// usage: NODE_PATH=tests/node/node_modules node bench/seal_duckdb.cjs IN.csv OUT.parquet [THREADS]
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const [csv, out, threads = '2'] = process.argv.slice(2);
  if (!csv || !out) {
    console.error('usage: seal_duckdb.cjs IN.csv OUT.parquet [THREADS]');
    process.exit(2);
  }
  const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const con = await inst.connect();
  const q = (s) => s.replace(/'/g, "''");
  const t0 = process.hrtime.bigint();
  await con.run(`COPY (SELECT * FROM read_csv('${q(csv)}', header = true)) TO '${q(out)}' (FORMAT parquet)`);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const r = await con.runAndReadAll(`SELECT count(*) FROM read_parquet('${q(out)}')`);
  console.log(JSON.stringify({ seconds: secs, rows: Number(r.getRows()[0][0]) }));
}
main().catch((e) => { console.error(e); process.exit(1); });
