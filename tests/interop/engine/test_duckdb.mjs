// Grouped aggregates, histograms, quantiles, filters and derived columns of
// `sealroom analyze` (privacy none) against DuckDB on the same generated CSV
// files (three owners, union). Values must agree to 1e-9 relative.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// ESM imports ignore NODE_PATH; require() honours it.
const { DuckDBInstance } = createRequire(import.meta.url)('@duckdb/node-api');

const SEALROOM = process.env.SEALROOM;
assert.ok(SEALROOM, 'SEALROOM must point at the CLI');

// deterministic generator (xorshift32)
let s = 0x12345678;
const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
const regions = ['north', 'south', 'east', 'west', 'elsewhere'];
const owners = ['clinic-a', 'clinic-b', 'clinic-c'];
const header = 'pid,region,sex,age,amount,admit,discharge,flag\n';
let pid = 0;
for (const [k, o] of owners.entries()) {
  let out = header;
  const n = 4000 + 1500 * k;
  for (let i = 0; i < n; i++) {
    pid++;
    const region = regions[Math.floor(rnd() * 5)];
    const sex = rnd() < 0.5 ? 'F' : 'M';
    const age = 18 + Math.floor(rnd() * 73);
    const amount = rnd() < 0.05 ? '' : (Math.round(rnd() * 1e6) / 100 - 2000).toFixed(2);
    const d0 = Math.floor(rnd() * 700);
    const day = (d) => new Date(Date.UTC(2023, 0, 1) + d * 86400000).toISOString().slice(0, 10);
    const flag = rnd() < 0.1 ? '' : (rnd() < 0.3 ? 'true' : 'false');
    out += `${pid},${region},${sex},${age},${amount},${day(d0)},${day(d0 + Math.floor(rnd() * 30))},${flag}\n`;
  }
  writeFileSync(`${o}.csv`, out);
}

const schema = [['pid', 'int'], ['region', 'string'], ['sex', 'string'], ['age', 'int'],
  ['amount', 'float'], ['admit', 'date'], ['discharge', 'date'], ['flag', 'bool']]
  .map(([name, type]) => ({ name, type }));
const addrs = ['0x3EeBe73e7136573878c460A56CeEBD2ee93f138E', '0xfb9D126B2FdA74c3d8D2ac136a03d7f79256E823',
  '0x0000000000000000000000000000000000000001'];
const REG = ['north', 'south', 'east', 'west'];
const recipe = {
  version: 1,
  consortium: { name: 'duckdb oracle', app_id: '0x00112233445566778899aabbccddeeff00112233',
    owners: owners.map((id, i) => ({ id, address: addrs[i] })) },
  datasets: Object.fromEntries(owners.map((o) => [o, { schema }])),
  analysis: {
    sources: { union: owners },
    filter: { op: 'not', args: [{ col: 'flag' }] },
    derive: [
      { name: 'stay', expr: { op: 'date_diff', args: [{ col: 'discharge' }, { col: 'admit' }] } },
      { name: 'band', expr: { op: 'bucket', args: [{ col: 'age' }], edges: [18, 40, 65, 91] } },
      { name: 'net', expr: { op: '-', args: [{ op: '*', args: [{ col: 'amount' }, 1.5] }, 3] } },
    ],
  },
  outputs: [
    { name: 'n', type: 'count', group_by: [{ column: 'region', domain: REG }, { column: 'sex', domain: ['F', 'M'] }], privacy: 'none' },
    { name: 'n_amount', type: 'count', column: 'amount', privacy: 'none' },
    { name: 'sum_amount', type: 'sum', column: 'amount', group_by: [{ column: 'region', domain: REG }], privacy: 'none' },
    { name: 'mean_net', type: 'mean', column: 'net', group_by: [{ column: 'sex', domain: ['F', 'M'] }], privacy: 'none' },
    { name: 'var_amount', type: 'variance', column: 'amount', group_by: [{ column: 'region', domain: REG }], privacy: 'none' },
    { name: 'mean_stay', type: 'mean', column: 'stay', group_by: [{ column: 'band', domain: [0, 1, 2] }], privacy: 'none' },
    { name: 'q_amount', type: 'quantiles', column: 'amount', quantiles: [0, 0.1, 0.5, 0.9, 1], group_by: [{ column: 'region', domain: REG }], privacy: 'none' },
    { name: 'h_age', type: 'histogram', column: 'age', bins: [18, 30, 50, 70, 90], privacy: 'none' },
    { name: 'h_region', type: 'histogram', column: 'region', categories: ['west', 'north', 'nowhere'], privacy: 'none' },
  ],
  privacy: { epsilon: 0 },
};
writeFileSync('recipe.json', JSON.stringify(recipe, null, 1));
const res = JSON.parse(execFileSync(SEALROOM, ['analyze', '--recipe', 'recipe.json', '--json',
  ...owners.map((o) => ['--data', `${o}=${o}.csv`]).flat()], { encoding: 'utf8' }));
assert.equal(res.mode, 'unsigned local dry run');
assert.deepEqual(Object.keys(res.outputs), recipe.outputs.map((o) => o.name));

const db = await (await DuckDBInstance.create(':memory:')).connect();
await db.run(`create table t as select * from read_csv([${owners.map((o) => `'${o}.csv'`).join(',')}],
  header=true, columns={'pid':'BIGINT','region':'VARCHAR','sex':'VARCHAR','age':'BIGINT','amount':'DOUBLE',
  'admit':'DATE','discharge':'DATE','flag':'BOOLEAN'})`);
await db.run(`create view v as select *, discharge - admit as stay,
  case when age >= 18 and age < 40 then 0 when age >= 40 and age < 65 then 1 when age >= 65 and age < 91 then 2 end as band,
  amount * 1.5 - 3 as net from t where not flag`);
const q = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJson();

const close = (a, b, what) => {
  const ok = (a === null && b === null) || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  assert.ok(ok, `${what}: sealroom ${a} vs duckdb ${b}`);
};
const num = (x) => (x === null ? null : Number(x));
let checks = 0;

// grouped count region x sex (cells in domain order)
for (const [i, cell] of res.outputs.n.groups.entries()) {
  const [r, sx] = [REG[Math.floor(i / 2)], ['F', 'M'][i % 2]];
  assert.deepEqual(cell.key, { region: r, sex: sx });
  const [row] = await q(`select count(*) c from v where region='${r}' and sex='${sx}'`);
  close(cell.value, num(row.c), `n[${r},${sx}]`); checks++;
}
close(res.outputs.n_amount.value, num((await q('select count(amount) c from v'))[0].c), 'n_amount'); checks++;
for (const [i, r] of REG.entries()) {
  const [row] = await q(`select sum(amount) s, var_samp(amount) v,
    quantile_cont(amount, [0, 0.1, 0.5, 0.9, 1]) qs from v where region='${r}'`);
  close(res.outputs.sum_amount.groups[i].value, num(row.s), `sum[${r}]`);
  close(res.outputs.var_amount.groups[i].value, num(row.v), `var[${r}]`);
  const qs = row.qs.map(Number);
  res.outputs.q_amount.groups[i].quantiles.forEach((e, k) => close(e.value, qs[k], `q${e.q}[${r}]`));
  checks += 7;
}
for (const [i, sx] of ['F', 'M'].entries()) {
  const [row] = await q(`select avg(net) m from v where sex='${sx}'`);
  close(res.outputs.mean_net.groups[i].value, num(row.m), `mean_net[${sx}]`); checks++;
}
for (let b = 0; b < 3; b++) {
  const [row] = await q(`select avg(stay) m from v where band=${b}`);
  close(res.outputs.mean_stay.groups[b].value, num(row.m), `mean_stay[${b}]`); checks++;
}
const edges = [18, 30, 50, 70, 90];
for (let b = 0; b < 4; b++) {
  const last = b === 3;
  const [row] = await q(`select count(*) c from v where age >= ${edges[b]} and (age < ${edges[b + 1]} ${last ? `or age = ${edges[b + 1]}` : ''})`);
  const bin = res.outputs.h_age.bins[b];
  assert.equal(bin.lo, edges[b]); assert.equal(bin.hi, edges[b + 1]);
  close(bin.count, num(row.c), `h_age[${b}]`); checks++;
}
for (const [k, cat] of ['west', 'north', 'nowhere'].entries()) {
  const [row] = await q(`select count(*) c from v where region='${cat}'`);
  assert.equal(res.outputs.h_region.bins[k].category, cat);
  close(res.outputs.h_region.bins[k].count, num(row.c), `h_region[${cat}]`); checks++;
}

// vertical join: clinic-a's rows with a lab owner's table on pid (unique keys)
{
  let lab = 'pid,hba1c,lab_day\n';
  for (let id = 1; id <= pid; id += 1 + Math.floor(rnd() * 3)) {
    const v = rnd() < 0.05 ? '' : (4 + rnd() * 8).toFixed(3);
    lab += `${id},${v},${rnd() < 0.5 ? '2024-02-01' : ''}\n`;
  }
  writeFileSync('lab.csv', lab);
  const labSchema = [{ name: 'pid', type: 'int' }, { name: 'hba1c', type: 'float' }, { name: 'lab_day', type: 'date' }];
  const r2 = {
    ...recipe,
    consortium: { ...recipe.consortium, owners: [{ id: 'clinic-a', address: addrs[0] }, { id: 'lab', address: addrs[1] }] },
    datasets: { 'clinic-a': { schema }, lab: { schema: labSchema } },
    analysis: { sources: { join: { left: 'clinic-a', right: 'lab', on: 'pid' } },
      filter: { op: 'not', args: [{ op: 'is_null', args: [{ col: 'lab_day' }] }] } },
    outputs: [
      { name: 'n', type: 'count', group_by: [{ column: 'region', domain: REG }], privacy: 'none' },
      { name: 'm', type: 'mean', column: 'hba1c', group_by: [{ column: 'sex', domain: ['F', 'M'] }], privacy: 'none' },
    ],
  };
  writeFileSync('recipe2.json', JSON.stringify(r2));
  const j = JSON.parse(execFileSync(SEALROOM, ['analyze', '--recipe', 'recipe2.json', '--json',
    '--data', 'lab=lab.csv', '--data', 'clinic-a=clinic-a.csv'], { encoding: 'utf8' }));
  await db.run(`create table lab as select * from read_csv('lab.csv', header=true,
    columns={'pid':'BIGINT','hba1c':'DOUBLE','lab_day':'DATE'})`);
  await db.run(`create view jv as select t.*, lab.hba1c from read_csv('clinic-a.csv', header=true,
    columns={'pid':'BIGINT','region':'VARCHAR','sex':'VARCHAR','age':'BIGINT','amount':'DOUBLE',
    'admit':'DATE','discharge':'DATE','flag':'BOOLEAN'}) t join lab on t.pid = lab.pid where lab.lab_day is not null`);
  for (const [i, r] of REG.entries()) {
    const [row] = await q(`select count(*) c from jv where region='${r}'`);
    close(j.outputs.n.groups[i].value, num(row.c), `join n[${r}]`); checks++;
  }
  for (const [i, sx] of ['F', 'M'].entries()) {
    const [row] = await q(`select avg(hba1c) m from jv where sex='${sx}'`);
    close(j.outputs.m.groups[i].value, num(row.m), `join mean[${sx}]`); checks++;
  }
}
console.log(`ok: ${checks} statistics agree with DuckDB`);
