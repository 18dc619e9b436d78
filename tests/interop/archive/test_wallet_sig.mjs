// Interop: MANIFEST.sig is an ordinary Ethereum personal_sign (EIP-191)
// signature of the 32-byte manifest hash, so wallets can make and check it.
//  - ethers 6 recovers the owner's address from a sealed archive's signature;
//  - an ethers Wallet holding the owner's key signs the manifest hash to the
//    very same 65 bytes (RFC 6979, low-s, v = 27/28);
//  - an archive whose MANIFEST.sig is replaced by another wallet's signature
//    fails `sealroom inspect`.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import { createRequire } from "node:module";

const { ethers } = createRequire(import.meta.url)("ethers");
const S = process.env.SEALROOM;
const run = (...args) => execFileSync(S, args, { encoding: "utf8" });
process.env.SEALROOM_KEYSTORE = process.cwd() + "/keystore";

const owner = JSON.parse(run("keygen", "--out", "owner.key", "--json", "--force"));
const kmsPub = spawnSync(S, ["kms", "init", "--dir", "kms"], { encoding: "utf8" }).stdout.trim() ||
  readFileSync("kms/root.pub", "utf8").trim();
writeFileSync("recipe.json", JSON.stringify({
  version: 1,
  consortium: { name: "wallet", app_id: "0x" + "12".repeat(20), owners: [{ id: "w", address: owner.address }] },
  datasets: { w: { schema: [{ name: "a", type: "int" }, { name: "b", type: "string" }] } },
}, null, 1));
writeFileSync("data.csv", "a,b\n1,x\n2,\n,z\n");
run("seal", "--owner", "w", "--key", "owner.key", "--recipe", "recipe.json", "--kms-pubkey", kmsPub,
  "--in", "data.csv", "--out", "data.tar");

mkdirSync("x", { recursive: true });
execFileSync("tar", ["xf", "data.tar", "-C", "x"]);
const manifest = readFileSync("x/MANIFEST.json");
const sig = readFileSync("x/MANIFEST.sig");
assert.equal(sig.length, 65);
const hash = ethers.sha256(manifest);

// ethers recovers the owner from our signature
const recovered = ethers.verifyMessage(ethers.getBytes(hash), ethers.hexlify(sig));
assert.equal(recovered, owner.address);
console.log("ok   ethers.verifyMessage recovers the owner's address");

// an ethers wallet with the owner's key makes the same signature
const sk = "0x" + readFileSync("owner.key", "utf8").trim();
const wallet = new ethers.Wallet(sk);
assert.equal(wallet.address, owner.address);
const walletSig = await wallet.signMessage(ethers.getBytes(hash));
assert.equal(walletSig, ethers.hexlify(sig));
console.log("ok   an ethers Wallet signs the manifest hash to the same 65 bytes");

// another wallet's signature in MANIFEST.sig: inspect refuses the archive
const other = ethers.Wallet.createRandom();
const otherSig = ethers.getBytes(await other.signMessage(ethers.getBytes(hash)));
const tar = readFileSync("data.tar");
// MANIFEST.sig's content starts after the manifest member and the sig header
const sigOff = 512 + Math.ceil(manifest.length / 512) * 512 + 512;
assert.deepEqual(tar.subarray(sigOff, sigOff + 65), sig);
const forged = Buffer.from(tar);
Buffer.from(otherSig).copy(forged, sigOff);
writeFileSync("forged.tar", forged);
const r = spawnSync(S, ["inspect", "forged.tar"], { encoding: "utf8" });
assert.equal(r.status, 1);
assert.match(r.stderr, /not by the owner/);
console.log("ok   a manifest signed by another wallet fails inspect");
copyFileSync("data.tar", "again.tar");
assert.equal(spawnSync(S, ["inspect", "again.tar"]).status, 0);
console.log("ok   the original archive still inspects");
