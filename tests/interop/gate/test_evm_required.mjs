// ConsortiumApp's required owners (RequireOwners) on anvil, driven by ethers 6
// (independent ABI / EIP-712 code) against the committed contract and the C
// client / CLI:
//  - isAppAllowed and allowedComposeHashes say no, naming the required owner,
//    until every declared owner approved, even with k approvals; yes after;
//    the C status adds the declared owners to the decision;
//  - requireOwners refused after the first approval, from a non-owner, a
//    second time, with a non-owner / duplicate / empty list;
//  - requireOwnersBySig with an ethers signTypedData signature accepted, the
//    same signature for another compose hash refused;
//  - `sealroom approve --recipe` declares the recipe's dataset owners first,
//    `status` shows them (text and JSON), and an approval whose recipe
//    disagrees with the declared set is refused before anything is signed.
// anvil runs on a free loopback port and is stopped by its PID.
import { execFileSync, spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startAnvil } from "./anvil.mjs";
import { createRequire } from "node:module";

const require = createRequire(process.env.NODE_PATH + "/");
const { JsonRpcProvider, Wallet, Contract, sha256, toUtf8Bytes, ZeroHash, TypedDataEncoder } = require("ethers");

const src = process.env.SR_SOURCE_DIR;
const tool = process.env.EVM_TOOL || `${process.env.SR_BUILD_DIR}/tests/sr_evm_tool`;
const sealroom = process.env.SEALROOM;
const run = (...args) => execFileSync(tool, args, { encoding: "utf8" }).trim();

const { url, stop } = await startAnvil(src);
const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
const fresh = async (w) => ({ nonce: Number(await provider.send("eth_getTransactionCount", [w.address, "pending"])) });
const work = fs.mkdtempSync(path.join(os.tmpdir(), "sr-required-"));

// expects a contract call to revert with a reason matching re (checked by a
// static call, so nothing is sent)
async function refused(fn, args, re) {
  let err = null;
  try { await fn.staticCall(...args); } catch (e) { err = e; }
  assert.ok(err, `expected a revert matching ${re}`);
  const why = err.reason || err.shortMessage || err.message;
  assert.match(why, re);
}

try {
  const deployer = new Wallet("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", provider);
  const carol = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", provider);
  const alice = new Wallet(sha256(toUtf8Bytes("sealroom required test alice")));
  const bob = new Wallet(sha256(toUtf8Bytes("sealroom required test bob")));
  const kms = "0x02" + "22".repeat(32);
  const app = run("gate-create", url, deployer.privateKey.slice(2), "required", "2", kms,
    `alice=${alice.address}:US:HIPAA`, `bob=${bob.address}:EU:GDPR`, `carol=${carol.address}:EU:GDPR`);
  const spec = `evm:${url}@${app}`;
  const abi = JSON.parse(fs.readFileSync(`${src}/contracts/ConsortiumApp.abi`, "utf8"));
  const c = new Contract(app, abi, provider);
  const asDeployer = c.connect(deployer);
  const asCarol = c.connect(carol);
  const chainId = (await provider.getNetwork()).chainId;
  const domain = { name: "sealroom", version: "1", chainId, verifyingContract: app };
  const Approve = { Approve: [{ name: "composeHash", type: "bytes32" }] };
  const RequireOwners = { RequireOwners: [{ name: "composeHash", type: "bytes32" },
                                          { name: "owners", type: "address[]" }] };
  const approveBy = async (w, h) => {
    const sig = await w.signTypedData(domain, Approve, { composeHash: h });
    await (await asDeployer.approveBySig(h, w.address, sig, await fresh(deployer))).wait();
  };
  const boot = (h) => [app, h, deployer.address, ZeroHash, ZeroHash, ZeroHash, ZeroHash, "UpToDate", []];
  const cstatus = (h, ...req) => JSON.parse(run("gate-status", spec, h, ...req));

  // 1. declared [bob, carol] by carol's own transaction; k = 2
  const h1 = sha256(toUtf8Bytes("required: recipe one"));
  assert.deepEqual([...(await c.requiredOwners(h1))], []);
  const rc1 = await (await asCarol.requireOwners(h1, [bob.address, carol.address], await fresh(carol))).wait();
  const ev = rc1.logs.map((l) => c.interface.parseLog(l)).filter(Boolean);
  assert.equal(ev.length, 1);
  assert.equal(ev[0].name, "OwnersRequired");
  assert.equal(ev[0].args.composeHash, h1);
  assert.deepEqual([...ev[0].args.owners], [bob.address, carol.address]);
  assert.deepEqual([...(await c.requiredOwners(h1))], [bob.address, carol.address]);
  let [ok, why] = await c.isAppAllowed(boot(h1));
  assert.deepEqual([ok, why], [false, "compose hash not approved"]);
  await approveBy(alice, h1);
  await approveBy(bob, h1);
  assert.equal(await c.approvals(h1), 2n);        // k reached ...
  [ok, why] = await c.isAppAllowed(boot(h1));     // ... but carol is required
  assert.deepEqual([ok, why], [false, "required owner carol has not approved"]);
  assert.equal(await c.allowedComposeHashes(h1), false);
  // the C status (no required list given) applies the declared set too
  let st = cstatus(h1);
  assert.equal(st.allowed, false);
  assert.equal(st.reason, "not approved: 2/3 (k=2), missing carol");
  assert.deepEqual(st.required_on_chain, ["bob", "carol"]);
  // a second declaration is refused, even by another owner through a signature
  await refused(asCarol.requireOwners, [h1, [bob.address]], /^state: required owners already declared/);
  await approveBy(carol, h1);
  [ok, why] = await c.isAppAllowed(boot(h1));
  assert.deepEqual([ok, why], [true, ""]);
  assert.equal(await c.allowedComposeHashes(h1), true);
  st = cstatus(h1);
  assert.equal(st.allowed, true, st.reason);

  // 2. refusals
  const h2 = sha256(toUtf8Bytes("required: recipe two"));
  await approveBy(alice, h2);
  await refused(asCarol.requireOwners, [h2, [alice.address]], /^state: compose hash already has approvals$/);
  const h3 = sha256(toUtf8Bytes("required: recipe three"));
  await refused(asDeployer.requireOwners, [h3, [alice.address]], /^denied: signer is not an owner/);
  await refused(asCarol.requireOwners, [h3, [alice.address, deployer.address]],
    /^invalid: required address is not a current owner$/);
  await refused(asCarol.requireOwners, [h3, [alice.address, alice.address]], /^invalid: duplicate required owner$/);
  await refused(asCarol.requireOwners, [h3, []], /^invalid: 1\.\.32 required owners$/);
  assert.deepEqual([...(await c.requiredOwners(h3))], []);

  // 3. BySig: an ethers signTypedData signature, relayed by the deployer
  const h4 = sha256(toUtf8Bytes("required: recipe four"));
  const msg = { composeHash: h4, owners: [alice.address, bob.address] };
  const sigA = await alice.signTypedData(domain, RequireOwners, msg);
  // the contract hashes the struct as ethers does
  assert.equal(await c.requireOwnersHash(h4, msg.owners), TypedDataEncoder.hashStruct("RequireOwners", RequireOwners, msg));
  const h5 = sha256(toUtf8Bytes("required: recipe five"));
  await refused(asDeployer.requireOwnersBySig, [h5, msg.owners, alice.address, sigA],
    /^verify: signature does not match the signer$/);
  await (await asDeployer.requireOwnersBySig(h4, msg.owners, alice.address, sigA, await fresh(deployer))).wait();
  assert.deepEqual([...(await c.requiredOwners(h4))], [alice.address, bob.address]);
  assert.deepEqual([...(await c.requiredOwners(h5))], []);
  // a signature by a non-owner is refused as such
  const stranger = Wallet.createRandom();
  const sigS = await stranger.signTypedData(domain, RequireOwners, { composeHash: h5, owners: [alice.address] });
  await refused(asDeployer.requireOwnersBySig, [h5, [alice.address], stranger.address, sigS], /^denied: /);

  // 4. the CLI
  const key = (w, name) => {
    const p = path.join(work, name);
    fs.writeFileSync(p, w.privateKey.slice(2) + "\n", { mode: 0o600 });
    return p;
  };
  const kA = key(alice, "alice.key"), kB = key(bob, "bob.key"), kS = key(deployer, "sender.key");
  const recipe = (name, readers) => {
    const p = path.join(work, name);
    const datasets = {};
    for (const r of readers) datasets[r] = { schema: [{ name: "x", type: "int" }] };
    fs.writeFileSync(p, JSON.stringify({
      version: 1,
      consortium: { name: "required", app_id: app, owners: [
        { id: "alice", address: alice.address }, { id: "bob", address: bob.address },
        { id: "carol", address: carol.address }] },
      datasets,
    }, null, 2) + "\n");
    return [p, sha256(fs.readFileSync(p))];
  };
  const cli = (...args) => spawnSync(sealroom, args, { encoding: "utf8" });

  // 4a. first approval through the CLI declares the recipe's dataset owners
  const [r6, h6] = recipe("six.json", ["bob", "carol"]);
  let out = cli("approve", "--gate", spec, "--recipe", r6, "--key", kA, "--sender-key", kS);
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /required owners declared on chain: bob,carol/);
  assert.deepEqual([...(await c.requiredOwners(h6))], [bob.address, carol.address]);
  assert.ok((await c.approvedAt(h6, alice.address)) > 0n);
  out = cli("status", "--gate", spec, "--compose-hash", h6.slice(2), "--json");
  assert.equal(out.status, 0, out.stderr);
  st = JSON.parse(out.stdout);
  assert.deepEqual(st.required_on_chain, ["bob", "carol"]);
  assert.equal(st.reason, "not approved: 1/3 (k=2), missing bob,carol");
  out = cli("status", "--gate", spec, "--recipe", r6);
  assert.match(out.stdout, /^required: +bob,carol \(declared on chain\)$/m);
  // bob's approval (same recipe) does not declare again and is accepted
  out = cli("approve", "--gate", spec, "--recipe", r6, "--key", kB, "--sender-key", kS);
  assert.equal(out.status, 0, out.stderr);
  assert.doesNotMatch(out.stdout, /declared on chain/);
  [ok, why] = await c.isAppAllowed(boot(h6));
  assert.deepEqual([ok, why], [false, "required owner carol has not approved"]);

  // 4b. a declared set that differs from the recipe's: refused before signing
  const [r7, h7] = recipe("seven.json", ["bob"]);
  await (await asCarol.requireOwners(h7, [alice.address], await fresh(carol))).wait();
  const before = await provider.getBlockNumber();
  out = cli("approve", "--gate", spec, "--recipe", r7, "--key", kB, "--sender-key", kS);
  assert.equal(out.status, 1);
  assert.match(out.stderr, /the gate requires owners \[alice\] for this compose hash but the recipe reads datasets of \[bob\]/);
  assert.equal(await c.approvedAt(h7, bob.address), 0n);
  assert.equal(await provider.getBlockNumber(), before);      // nothing was sent
  // the same with a signature made elsewhere
  const sigB7 = await bob.signTypedData(domain, Approve, { composeHash: h7 });
  out = cli("approve", "--gate", spec, "--recipe", r7, "--signature", sigB7, "--signer", bob.address,
    "--sender-key", kS);
  assert.equal(out.status, 1);
  assert.match(out.stderr, /the gate requires owners \[alice\]/);
  assert.equal(await c.approvedAt(h7, bob.address), 0n);

  // 4c. --compose-hash never declares
  const [, h8] = recipe("eight.json", ["carol"]);
  out = cli("approve", "--gate", spec, "--compose-hash", h8.slice(2), "--key", kA, "--sender-key", kS);
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual([...(await c.requiredOwners(h8))], []);

  console.log("ok: requireOwners / BySig, isAppAllowed with required owners, CLI declares and refuses a mismatch");
} finally {
  stop();
  provider.destroy();
  fs.rmSync(work, { recursive: true, force: true });
}
