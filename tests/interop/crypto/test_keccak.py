"""Interop: sealroom's hand-written Keccak-256, HKDF, AES-256-GCM and ECDH
against python3-pycryptodome and python3-cryptography (Debian packages)."""
import hashlib
import os
import random
import subprocess
import sys

import ecdsa

from Cryptodome.Hash import keccak
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOOL = os.path.join(os.environ["SR_BUILD_DIR"], "tests", "sr_crypto_tool")
rng = random.Random(20261124)
failures = 0


def tool(*args, stdin=None, ok=True):
    p = subprocess.run([TOOL, *args], input=stdin, capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"sr_crypto_tool {args[0]} failed: {p.stderr}")
    return p


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def randbytes(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def ref_keccak(b):
    h = keccak.new(digest_bits=256)
    h.update(b)
    return h.hexdigest()


# --- Keccak-256: a few hundred random lengths 0..1000, plus every length
# around the 136-byte rate boundaries, in one tool process.
lengths = [rng.randrange(0, 1001) for _ in range(300)]
lengths += list(range(0, 3)) + list(range(130, 142)) + list(range(268, 276)) + [408, 544, 1000]
inputs = [randbytes(n) for n in lengths]
out = tool("keccak-lines", stdin="".join(b.hex() + "\n" for b in inputs)).stdout.split()
check(len(out) == len(inputs), f"keccak-lines returned {len(out)} digests for {len(inputs)} inputs")
bad = [len(b) for b, got in zip(inputs, out) if got != ref_keccak(b)]
check(not bad, f"keccak differs from pycryptodome at lengths {bad[:10]}")
# the one-shot command agrees too
for b in inputs[:5]:
    check(tool("keccak", b.hex()).stdout.strip() == ref_keccak(b), "keccak one-shot")

# --- HKDF-SHA256
for i in range(20):
    ikm, salt, info = randbytes(rng.randrange(1, 80)), randbytes(rng.randrange(0, 80)), randbytes(rng.randrange(0, 80))
    n = rng.randrange(1, 255 * 32 + 1) if i % 5 == 0 else rng.randrange(1, 100)
    want = HKDF(hashes.SHA256(), n, salt or None, info).derive(ikm).hex()
    got = tool("hkdf", ikm.hex(), salt.hex(), info.hex(), str(n)).stdout.strip()
    check(got == want, f"hkdf ikm={len(ikm)} salt={len(salt)} info={len(info)} n={n}")
check(tool("hkdf", "00", "", "", str(255 * 32 + 1), ok=False).returncode == 1, "hkdf too long refused")

# --- AES-256-GCM both ways
for i in range(20):
    key, nonce = randbytes(32), randbytes(12)
    aad, pt = randbytes(rng.randrange(0, 64)), randbytes(rng.choice([0, 1, 15, 16, 17, rng.randrange(0, 5000)]))
    want = AESGCM(key).encrypt(nonce, pt, aad)
    got = tool("gcm-seal", key.hex(), nonce.hex(), aad.hex(), pt.hex()).stdout.strip()
    check(got == want.hex(), f"gcm-seal len={len(pt)}")
    back = tool("gcm-open", key.hex(), nonce.hex(), aad.hex(), want.hex()).stdout.strip()
    check(back == pt.hex(), f"gcm-open len={len(pt)}")
    # tamper: any flipped bit of ciphertext/tag, or a changed aad, must fail
    t = bytearray(want)
    t[rng.randrange(len(t))] ^= 1 << rng.randrange(8)
    p = tool("gcm-open", key.hex(), nonce.hex(), aad.hex(), bytes(t).hex(), ok=False)
    check(p.returncode == 1 and "verify" in p.stderr, "gcm tampered ciphertext refused")
    p = tool("gcm-open", key.hex(), nonce.hex(), (aad + b"x").hex(), want.hex(), ok=False)
    check(p.returncode == 1, "gcm changed aad refused")

# --- ECDH: libsecp256k1's default hash is SHA-256(0x02|0x03 parity || X) of
# the shared point; the point itself comes from python3-ecdsa.
for i in range(10):
    a = ec.generate_private_key(ec.SECP256K1())
    b = ec.generate_private_key(ec.SECP256K1())
    a_sk = a.private_numbers().private_value.to_bytes(32, "big")
    b_sk = b.private_numbers().private_value.to_bytes(32, "big")
    b_pub = b.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    a_pub = a.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    x = a.exchange(ec.ECDH(), b.public_key())  # raw X of the shared point
    point = ecdsa.SECP256k1.generator * (a.private_numbers().private_value * b.private_numbers().private_value)
    check(point.x().to_bytes(32, "big") == x, "python3-ecdsa and python3-cryptography agree")
    want = hashlib.sha256(bytes([2 | (point.y() & 1)]) + x).hexdigest()
    got = tool("ecdh", a_sk.hex(), b_pub.hex()).stdout.strip()
    check(got == want, "ecdh = sha256(parity || X) of the shared point")
    got2 = tool("ecdh", b_sk.hex(), a_pub.hex()).stdout.strip()
    check(got == got2, "ecdh symmetric")
    comp = tool("pubkey", b_sk.hex()).stdout.strip()
    check(comp == b_pub.hex(), "compressed public key matches python3-cryptography")

if failures:
    print(f"{failures} failure(s)")
    sys.exit(1)
print("ok: keccak (%d inputs), hkdf, aes-gcm, ecdh agree with pycryptodome / cryptography" % len(inputs))
