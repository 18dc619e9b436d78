// ConsortiumApp on anvil, C <-> ethers 6 (independent EIP-712 / ABI code):
//  - the committed bytecode is what the pinned solc produces (recompiled here);
//  - the C code deploys; ethers reads the config through the committed ABI;
//  - an approval signed by ethers' signTypedData is accepted by the C gate;
//  - ethers recovers the signer of an approval signed by the C code;
//  - an owner's own transaction sent by ethers is seen by the C status read;
//  - dstack's isAppAllowed(AppBootInfo) answers as the C decision does.
// anvil runs on a free loopback port and is stopped by its PID.
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startAnvil } from "./anvil.mjs";
import { createRequire } from "node:module";

const require = createRequire(process.env.NODE_PATH + "/");
const { JsonRpcProvider, Wallet, Contract, verifyTypedData, sha256, toUtf8Bytes, ZeroHash } = require("ethers");

const src = process.env.SR_SOURCE_DIR;
const tool = process.env.EVM_TOOL || `${process.env.SR_BUILD_DIR}/tests/sr_evm_tool`;
const run = (...args) => execFileSync(tool, args, { encoding: "utf8" }).trim();

// 1. the committed build output is reproducible with the pinned solc
{
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "sr-contract-"));
  execFileSync("bash", [`${src}/scripts/build-contract.sh`, out], { stdio: "pipe" });
  for (const [mine, committed] of [
    ["ConsortiumApp.bin", "contracts/ConsortiumApp.bin"],
    ["ConsortiumApp.abi", "contracts/ConsortiumApp.abi"],
    ["evm_code.c", "src/gate/evm_code.c"],
  ]) {
    assert.equal(fs.readFileSync(path.join(out, mine), "utf8"), fs.readFileSync(path.join(src, committed), "utf8"),
      `${committed} differs from a fresh solc build: run scripts/build-contract.sh`);
  }
  fs.rmSync(out, { recursive: true });
}

// 2. anvil
const { url, stop } = await startAnvil(src);
const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
// ethers must not reuse a nonce the C code already consumed: ask the node each time
const fresh = async (w) => ({ nonce: Number(await provider.send("eth_getTransactionCount", [w.address, "pending"])) });

try {
  const deployer = new Wallet("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", provider);
  const funded = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", provider);
  const a = Wallet.createRandom();           // signs with ethers, relayed by C
  const b = new Wallet(sha256(toUtf8Bytes("sealroom contract test owner B")));  // signs in C
  const kms = "0x02" + "11".repeat(32);
  const app = run("gate-create", url, deployer.privateKey.slice(2), "interop", "2", kms,
    `alice=${a.address}:US:HIPAA`, `bob=${b.address}:EU-DE:GDPR`, `carol=${funded.address}:EU-FR:GDPR,PCI`);
  const spec = `evm:${url}@${app}`;
  const abi = JSON.parse(fs.readFileSync(`${src}/contracts/ConsortiumApp.abi`, "utf8"));
  const c = new Contract(app, abi, provider);
  const [name, owners, threshold, kmsRoot, nonce] = await c.getConfig();
  assert.equal(name, "interop");
  assert.equal(owners.length, 3);
  assert.equal(owners[1].addr, b.address);
  assert.equal(owners[2].grades, "GDPR,PCI");
  assert.equal(threshold, 2n);
  assert.equal(kmsRoot, kms);
  assert.equal(nonce, 0n);

  const chainId = (await provider.getNetwork()).chainId;
  const domain = { name: "sealroom", version: "1", chainId, verifyingContract: app };
  const Approve = { Approve: [{ name: "composeHash", type: "bytes32" }] };
  const h = sha256(toUtf8Bytes("recipe for the contract interop test"));
  const status = (...req) => JSON.parse(run("gate-status", spec, h, ...req));

  // ethers signs, C submits (approveBySig relayed by the deployer key)
  const sigA = await a.signTypedData(domain, Approve, { composeHash: h });
  assert.equal(run("gate-submit", spec, deployer.privateKey.slice(2), "approve", h, a.address, sigA), "ok");
  let st = status();
  assert.equal(st.allowed, false);
  assert.equal(st.approvals, 1);
  // the same signature for another compose hash is refused
  assert.throws(() => execFileSync(tool, ["gate-submit", spec, deployer.privateKey.slice(2), "approve",
    sha256(toUtf8Bytes("other")), a.address, sigA], { stdio: "pipe" }));

  // C signs, ethers recovers the signer
  const [signerB, sigB] = run("gate-sign", spec, b.privateKey.slice(2), "approve", h).split(" ");
  assert.equal(signerB.toLowerCase(), b.address.toLowerCase());
  assert.equal(verifyTypedData(domain, Approve, { composeHash: h }, sigB), b.address);
  // and the contract accepts it when ethers relays it
  await (await c.connect(deployer).approveBySig(h, b.address, sigB, await fresh(deployer))).wait();
  st = status();
  assert.equal(st.approvals, 2);
  assert.equal(st.allowed, true);
  assert.equal(st.pos_unit, "block");

  // dstack interface
  const boot = [app, h, deployer.address, ZeroHash, ZeroHash, ZeroHash, ZeroHash, "UpToDate", []];
  let [ok, why] = await c.isAppAllowed(boot);
  assert.equal(ok, true, why);
  const iAppAuth = c.interface.getFunction("isAppAllowed").selector;
  assert.equal(await c.supportsInterface(iAppAuth), true);
  assert.equal(await c.supportsInterface("0x01ffc9a7"), true);
  assert.equal(await c.supportsInterface("0xffffffff"), false);
  [ok, why] = await c.isAppAllowed([funded.address, ...boot.slice(1)]);
  assert.equal(ok, false);
  assert.equal(why, "wrong app id");

  // the owner's own transaction (sent by ethers), seen by the C status
  const req = status("carol");
  assert.equal(req.allowed, false);
  assert.match(req.reason, /missing carol/);
  const rcpt = await (await c.connect(funded).approve(h, await fresh(funded))).wait();
  assert.ok(rcpt.logs.length >= 1);
  st = status("carol");
  assert.equal(st.allowed, true, st.reason);
  assert.equal(st.approvals, 3);
  // a revoke by ethers' own tx: dstack ComposeHashRemoved event, C sees "revoked by carol"
  const rr = await (await c.connect(funded).revoke(h, await fresh(funded))).wait();
  const ev = rr.logs.map((l) => c.interface.parseLog(l)).filter(Boolean).map((l) => l.name);
  assert.ok(ev.includes("ComposeHashRemoved") && ev.includes("Revoked"), ev.join(","));
  st = status();
  assert.equal(st.allowed, false);
  assert.match(st.reason, /^revoked by carol at block \d+$/);
  [ok, why] = await c.isAppAllowed(boot);
  assert.equal(ok, false);
  assert.equal(why, "compose hash revoked");
  console.log("ok: ConsortiumApp reproducible build, C <-> ethers signatures, isAppAllowed, status");
} finally {
  stop();
  provider.destroy();
}
