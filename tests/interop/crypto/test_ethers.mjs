// Interop: ethers v6 and sealroom's C crypto agree on Keccak-256, EIP-55,
// EIP-191 and EIP-712 (both directions: ethers recovers C signatures, C
// recovers ethers signatures), and on the EIP-712 "Mail" example numbers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

// ESM imports ignore NODE_PATH; require() honours it.
const { ethers } = createRequire(import.meta.url)('ethers');

const TOOL = `${process.env.SR_BUILD_DIR}/tests/sr_crypto_tool`;
const SEALROOM = process.env.SEALROOM;
const tool = (...args) => execFileSync(TOOL, args, { encoding: 'utf8' }).trim();
const toolFails = (...args) => {
  try {
    execFileSync(TOOL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return false;
  } catch (e) {
    return e.status === 1;
  }
};
const strip0x = (h) => h.replace(/^0x/, '');

// --- Keccak-256 and EIP-55
for (const n of [0, 1, 31, 32, 135, 136, 137, 300]) {
  const b = randomBytes(n);
  assert.equal('0x' + tool('keccak', b.toString('hex')), ethers.keccak256(b), `keccak len ${n}`);
}
for (let i = 0; i < 20; i++) {
  const a = randomBytes(20).toString('hex');
  assert.equal(tool('address-string', a), ethers.getAddress('0x' + a), 'EIP-55');
}

// --- keys from the C side: `sealroom keygen` and the tool (in a fresh folder:
// the scratch folder survives between runs)
const keys = [];
const dir = mkdtempSync('./keys.');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
for (let i = 0; i < 3; i++) {
  const file = `${dir}/k${i}.key`;
  const out = JSON.parse(execFileSync(SEALROOM, ['keygen', '--out', file, '--json'], { encoding: 'utf8' }));
  const sk = readFileSync(file, 'utf8');
  assert.match(sk, /^[0-9a-f]{64}\n$/, 'key file format');
  const w = new ethers.Wallet('0x' + sk.trim());
  assert.equal(out.address, w.address, 'keygen address = ethers address');
  assert.equal('0x' + out.public_key, w.signingKey.compressedPublicKey, 'keygen public key');
  assert.equal(tool('address', sk.trim()), w.address, 'tool address');
  keys.push(w);
}

// --- EIP-191 both ways
for (const w of keys) {
  for (const msg of ['hello sealroom', '', 'x'.repeat(200), 'ünïcødé ✓']) {
    const sig = '0x' + tool('eip191-sign', strip0x(w.privateKey), msg);
    assert.equal(ethers.verifyMessage(msg, sig), w.address, 'ethers recovers the C EIP-191 signature');
    assert.equal(sig, await w.signMessage(msg), 'RFC 6979: same signature as ethers');
    const esig = await w.signMessage(msg + '!');
    assert.equal(tool('eip191-recover', msg + '!', strip0x(esig)), w.address, 'C recovers the ethers EIP-191 signature');
    assert.notEqual(tool('eip191-recover', msg + '?', strip0x(esig)), w.address, 'other message, other signer');
  }
}

// --- EIP-712 with sealroom's domain and an Approve struct, both ways
const types = { Approve: [{ name: 'composeHash', type: 'bytes32' }, { name: 'app', type: 'address' }] };
for (const w of keys) {
  const domain = {
    name: 'sealroom', version: '1', chainId: 31337 + Math.floor(Math.random() * 1000),
    verifyingContract: ethers.getAddress('0x' + randomBytes(20).toString('hex')),
  };
  const value = { composeHash: '0x' + randomBytes(32).toString('hex'), app: ethers.getAddress('0x' + randomBytes(20).toString('hex')) };
  const args = [domain.name, domain.version, String(domain.chainId), domain.verifyingContract, strip0x(value.composeHash), value.app];
  const digest = tool('approve-digest', ...args);
  assert.equal('0x' + digest, ethers.TypedDataEncoder.hash(domain, types, value), 'EIP-712 digest');
  const sig = '0x' + tool('approve-sign', strip0x(w.privateKey), ...args);
  assert.equal(ethers.verifyTypedData(domain, types, value, sig), w.address, 'ethers recovers the C EIP-712 signature');
  const esig = await w.signTypedData(domain, types, value);
  assert.equal(sig, esig, 'RFC 6979: same EIP-712 signature as ethers');
  assert.equal(tool('recover', digest, strip0x(esig)), w.address, 'C recovers the ethers EIP-712 signature');
  // a high-s twin of the ethers signature is refused by C
  const s = ethers.Signature.from(esig);
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const highS = ethers.toBeHex(n - BigInt(s.s), 32);
  const twin = strip0x(s.r) + strip0x(highS) + (s.v === 27 ? '1c' : '1b');
  assert.ok(toolFails('recover', digest, twin), 'high-s twin refused');
}

// --- the EIP-712 specification's "Mail" example
const mailDomain = { name: 'Ether Mail', version: '1', chainId: 1, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' };
const mailTypes = {
  Person: [{ name: 'name', type: 'string' }, { name: 'wallet', type: 'address' }],
  Mail: [{ name: 'from', type: 'Person' }, { name: 'to', type: 'Person' }, { name: 'contents', type: 'string' }],
};
const mail = {
  from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
  to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
  contents: 'Hello, Bob!',
};
assert.equal(ethers.TypedDataEncoder.hashDomain(mailDomain), '0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f');
const mailDigest = ethers.TypedDataEncoder.hash(mailDomain, mailTypes, mail);
assert.equal(mailDigest, '0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2');
const cow = new ethers.Wallet(ethers.keccak256(ethers.toUtf8Bytes('cow')));
assert.equal(cow.address, '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826');
const cowSig = await cow.signTypedData(mailDomain, mailTypes, mail);
assert.equal(cowSig, '0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d' +
  '07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562' + '1c');
assert.equal('0x' + tool('sign', strip0x(cow.privateKey), strip0x(mailDigest)), cowSig, 'C signs the Mail digest like ethers');

console.log('ok: ethers v6 and the C crypto agree (keccak, EIP-55, EIP-191, EIP-712 both ways)');
