// Interop: the ledger gate and ethers 6 agree on the EIP-712 actions.
//  - approvals, revocations, freezes and owner-change votes signed by ethers'
//    signTypedData are accepted by the C ledger (sealroom ... --signature);
//  - ethers recovers the signer of every action signed by the C code
//    (sealroom ... --sign-only) and computes the same digest;
//  - ethers signatures for another chain id, app or action type are refused.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

// ESM imports ignore NODE_PATH; require() honours it.
const { ethers } = createRequire(import.meta.url)("ethers");

const SEALROOM = process.env.SEALROOM;
const run = (...args) => execFileSync(SEALROOM, args, { encoding: "utf8" }).trim();
const runFail = (...args) => {
  const r = spawnSync(SEALROOM, args, { encoding: "utf8" });
  assert.equal(r.status, 1, `expected exit 1 from ${args.join(" ")}: ${r.stdout} ${r.stderr}`);
  return r.stderr;
};

// a fresh folder for every run (the scratch folder is kept between runs)
const work = mkdtempSync(`${process.cwd()}/ethers.`);
process.chdir(work);
process.on("exit", (code) => { if (code === 0) rmSync(work, { recursive: true, force: true }); });

let checks = 0;
const ok = () => checks++;

// owners: ethers wallets, with key files for the C side
const names = ["hospital-A", "hospital-B", "bank-C"];
const wallets = names.map(() => ethers.Wallet.createRandom());
wallets.forEach((w, i) => writeFileSync(`${names[i]}.key`, w.privateKey.slice(2) + "\n", { mode: 0o600 }));
const deployer = ethers.Wallet.createRandom();
writeFileSync("deployer.key", deployer.privateKey.slice(2) + "\n", { mode: 0o600 });
const outsider = ethers.Wallet.createRandom();

const ownerArgs = names.flatMap((n, i) => ["--owner", `${n}=${wallets[i].address}:US:HIPAA`]);
const gate = `ledger:${process.cwd()}/ethers.db`;
const app = run("consortium", "create", "--name", "ethers interop", ...ownerArgs, "--threshold", "2",
  "--kms-pubkey", ethers.SigningKey.computePublicKey(deployer.privateKey, true), "--gate", gate, "--key", "deployer.key");
assert.match(app, /^0x[0-9a-fA-F]{40}$/);
const info = JSON.parse(run("consortium", "info", "--gate", gate, "--json"));
assert.equal(info.app, app);
const chainId = info.chain_id;
assert.equal(chainId, 24225);
ok();

const domain = { name: "sealroom", version: "1", chainId, verifyingContract: app };
const T = {
  Approve: { Approve: [{ name: "composeHash", type: "bytes32" }] },
  Revoke: { Revoke: [{ name: "composeHash", type: "bytes32" }] },
  Freeze: { Freeze: [{ name: "reason", type: "bytes32" }] },
  ChangeOwners: {
    ChangeOwners: [{ name: "owners", type: "Owner[]" }, { name: "threshold", type: "uint256" },
                   { name: "nonce", type: "uint256" }],
    Owner: [{ name: "id", type: "string" }, { name: "addr", type: "address" },
            { name: "jurisdiction", type: "string" }, { name: "grades", type: "string" }],
  },
};
const hex32 = () => ethers.hexlify(ethers.randomBytes(32));
const status = (h) => JSON.parse(run("status", "--gate", gate, "--compose-hash", h, "--json"));

// ---- ethers signs, C accepts ------------------------------------------------
const h1 = hex32();
const sigA = await wallets[0].signTypedData(domain, T.Approve, { composeHash: h1 });
run("approve", "--gate", gate, "--compose-hash", h1, "--signature", sigA, "--signer", wallets[0].address);
let st = status(h1);
assert.equal(st.owners[0].approved, true);
assert.equal(st.approvals, 1);
assert.equal(st.allowed, false);
ok();
// the same signature again is counted once
assert.match(runFail("approve", "--gate", gate, "--compose-hash", h1, "--signature", sigA, "--signer",
  wallets[0].address), /already approved/);
ok();
// wrong chain id, wrong app, wrong primary type, non-owner: refused
const h2 = hex32();
const bad = [
  await wallets[1].signTypedData({ ...domain, chainId: chainId + 1 }, T.Approve, { composeHash: h2 }),
  await wallets[1].signTypedData({ ...domain, verifyingContract: ethers.Wallet.createRandom().address }, T.Approve,
    { composeHash: h2 }),
  await wallets[1].signTypedData(domain, T.Revoke, { composeHash: h2 }),
  await wallets[1].signTypedData({ ...domain, version: "2" }, T.Approve, { composeHash: h2 }),
  await wallets[1].signTypedData({ ...domain, name: "other" }, T.Approve, { composeHash: h2 }),
];
for (const s of bad) {
  assert.match(runFail("approve", "--gate", gate, "--compose-hash", h2, "--signature", s, "--signer",
    wallets[1].address), /signature/);
  ok();
}
const sigOut = await outsider.signTypedData(domain, T.Approve, { composeHash: h2 });
assert.match(runFail("approve", "--gate", gate, "--compose-hash", h2, "--signature", sigOut, "--signer",
  outsider.address), /not an owner/);
ok();
assert.equal(status(h2).approvals, 0);
// second owner via ethers: quorum (k = 2)
const sigB = await wallets[1].signTypedData(domain, T.Approve, { composeHash: h1 });
run("approve", "--gate", gate, "--compose-hash", h1, "--signature", sigB, "--signer", wallets[1].address);
st = status(h1);
assert.equal(st.allowed, true);
assert.equal(st.reason, "allowed: 2/3 approvals (k=2)");
ok();

// ---- C signs, ethers recovers ---------------------------------------------------
const h3 = hex32();
for (const [word, type] of [["approve", "Approve"], ["revoke", "Revoke"]]) {
  const out = JSON.parse(run(word, "--gate", gate, "--compose-hash", h3, "--key", "bank-C.key", "--sign-only"));
  assert.equal(out.signer, wallets[2].address);
  assert.equal(out.digest, ethers.TypedDataEncoder.hash(domain, T[type], { composeHash: h3 }));
  assert.equal(ethers.verifyTypedData(domain, T[type], { composeHash: h3 }, out.signature), wallets[2].address);
  ok();
}
// a C approval (submitted) has a signature ethers recovers, read back via sign-only determinism (RFC 6979)
const c1 = JSON.parse(run("approve", "--gate", gate, "--compose-hash", h3, "--key", "bank-C.key", "--sign-only"));
run("approve", "--gate", gate, "--compose-hash", h3, "--key", "bank-C.key");
assert.equal(status(h3).owners[2].approved, true);
assert.equal(ethers.recoverAddress(ethers.TypedDataEncoder.hash(domain, T.Approve, { composeHash: h3 }),
  c1.signature), wallets[2].address);
ok();

// ---- revoke signed by ethers ----------------------------------------------------
const sigR = await wallets[2].signTypedData(domain, T.Revoke, { composeHash: h1 });
run("revoke", "--gate", gate, "--compose-hash", h1, "--signature", sigR, "--signer", wallets[2].address);
st = status(h1);
assert.equal(st.allowed, false);
assert.match(st.reason, /^revoked by bank-C at seq \d+$/);
ok();

// ---- owner change votes: one by ethers, one by C ----------------------------------------
const newOwners = [
  { id: "hospital-A", addr: wallets[0].address, jurisdiction: "US", grades: "HIPAA" },
  { id: "hospital-B", addr: wallets[1].address, jurisdiction: "US", grades: "HIPAA" },
];
const ownerOpts = newOwners.flatMap((o) => ["--owner", `${o.id}=${o.addr}:${o.jurisdiction}:${o.grades}`]);
const cOut = JSON.parse(run("consortium", "change-owners", "--gate", gate, ...ownerOpts, "--threshold", "1",
  "--key", "hospital-B.key", "--sign-only"));
const msg = { owners: newOwners, threshold: 1, nonce: 0 };
assert.equal(cOut.digest, ethers.TypedDataEncoder.hash(domain, T.ChangeOwners, msg));
assert.equal(ethers.verifyTypedData(domain, T.ChangeOwners, msg, cOut.signature), wallets[1].address);
ok();
const sigCO = await wallets[0].signTypedData(domain, T.ChangeOwners, msg);
let out = run("consortium", "change-owners", "--gate", gate, ...ownerOpts, "--threshold", "1", "--signature", sigCO,
  "--signer", wallets[0].address);
assert.match(out, /vote recorded/);
out = run("consortium", "change-owners", "--gate", gate, ...ownerOpts, "--threshold", "1", "--signature",
  cOut.signature, "--signer", wallets[1].address);
assert.match(out, /applied/);
const info2 = JSON.parse(run("consortium", "info", "--gate", gate, "--json"));
assert.equal(info2.n_owners, 2);
assert.equal(info2.threshold, 1);
assert.equal(info2.config_nonce, 1);
ok();

// ---- freeze signed by ethers --------------------------------------------------------
const reason = ethers.keccak256(ethers.toUtf8Bytes("incident"));
const cF = JSON.parse(run("freeze", "--gate", gate, "--key", "hospital-A.key", "--reason", "incident", "--sign-only"));
assert.equal(ethers.verifyTypedData(domain, T.Freeze, { reason }, cF.signature), wallets[0].address);
ok();
const sigF = await wallets[1].signTypedData(domain, T.Freeze, { reason });
run("freeze", "--gate", gate, "--reason-hash", reason, "--signature", sigF, "--signer", wallets[1].address);
st = status(h3);
assert.equal(st.frozen, true);
assert.equal(st.allowed, false);
assert.match(st.reason, /^frozen by hospital-B at seq \d+$/);
ok();

console.log(`${checks} checks passed`);
