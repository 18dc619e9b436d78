#!/usr/bin/python3
"""Independent unsealer written from docs/FORMAT.md and docs/CSV.md alone.

The C CLI makes the keys, the recipe's archive and the KMS root; this script
then does everything else with Debian's python3-cryptography (HKDF, AES-GCM),
python3-ecdsa (secp256k1 point arithmetic, signature recovery),
python3-pycryptodome (Keccak-256 for the Ethereum address) and tarfile:
checks the tar layout and the owner's signature, derives the recipe key,
unwraps the DEK, decrypts every column stream, decodes the chunks and compares
every value with the original CSV. It also checks that changing the compose
hash, app id or owner id makes the unwrap fail.
"""
import csv
import datetime
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tarfile

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from Cryptodome.Hash import keccak
from ecdsa import SECP256k1, VerifyingKey
from ecdsa.ellipticcurve import PointJacobi

SEALROOM = os.environ["SEALROOM"]
N = SECP256k1.order
G = SECP256k1.generator
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def run(*args):
    return subprocess.run([SEALROOM, *args], check=True, capture_output=True, text=True).stdout


def hkdf(ikm, salt, info, length=32):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def compress(point):
    x, y = point.x(), point.y()
    return bytes([2 | (y & 1)]) + x.to_bytes(32, "big")


def decompress(b):
    return VerifyingKey.from_string(b, curve=SECP256k1).pubkey.point


def ecdh(k, point):  # SHA-256 of the compressed shared point
    return hashlib.sha256(compress(point * k)).digest()


def keccak256(b):
    h = keccak.new(digest_bits=256)
    h.update(b)
    return h.digest()


def eth_address(point):
    return keccak256(point.x().to_bytes(32, "big") + point.y().to_bytes(32, "big"))[12:]


# --- setup with the C tools ------------------------------------------------------
os.environ["SEALROOM_KEYSTORE"] = os.path.abspath("keystore")
for f in ("owner.key",):
    if os.path.exists(f):
        os.remove(f)
owner = json.loads(run("keygen", "--out", "owner.key", "--json"))
if not os.path.exists("kms/root.key"):
    run("kms", "init", "--dir", "kms")
kms_pub_hex = open("kms/root.pub").read().strip()

recipe = {
    "version": 1,
    "consortium": {"name": "python interop", "app_id": "0x" + "ab" * 20,
                   "owners": [{"id": "lab.one", "address": owner["address"]}]},
    "datasets": {"lab.one": {"schema": [
        {"name": "id", "type": "int"}, {"name": "label", "type": "string"},
        {"name": "x", "type": "float"}, {"name": "flag", "type": "bool"},
        {"name": "day", "type": "date"}]}},
}
with open("recipe.json", "w") as f:
    json.dump(recipe, f, indent=1)
rows = [["1", "alpha", "1.5", "true", "2024-02-29"],
        ["2", "", "0.1", "false", ""],
        ["-9223372036854775808", "with,comma", "", "true", "1970-01-01"],
        ["", 'quote "q"', "-2.5e-300", "", "0001-01-01"],
        ["9223372036854775807", "two\nlines", "1e300", "true", "9999-12-31"],
        ["7", "caf\u00e9", "-0.0001", "false", "2000-03-01"]]
for i in range(2000):
    rows.append([str(100 + i), "k%d" % (i % 300), "%d.125" % (i * 7 - 5000),
                 "true" if i % 3 else "false", "20%02d-%02d-%02d" % (i % 50, 1 + i % 12, 1 + i % 28)])
with open("data.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "label", "x", "flag", "day"])
    w.writerows(rows)
run("seal", "--owner", "lab.one", "--key", "owner.key", "--recipe", "recipe.json",
    "--kms-pubkey", kms_pub_hex, "--in", "data.csv", "--out", "data.tar",
    "--segment-size", "4096", "--chunk-rows", "500", "--epsilon-budget", "0.75")

# --- §8 tar layout ------------------------------------------------------------------
raw = open("data.tar", "rb").read()
check(len(raw) % 512 == 0, "archive size is a multiple of 512")
with tarfile.open("data.tar", "r:") as t:
    members = t.getmembers()
    names = [m.name for m in members]
    contents = {m.name: t.extractfile(m).read() for m in members}
check(names == ["MANIFEST.json", "MANIFEST.sig"] + ["col/%04d.bin" % i for i in range(5)],
      "member order: manifest, signature, columns")
check(all(m.type == tarfile.REGTYPE and m.mode == 0o644 and m.uname == "sealroom" for m in members),
      "regular members, mode 0644, owner sealroom")


def tar_header(name, size, mtime):  # the canonical header of §8
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % mtime
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[265:273] = b"sealroom"
    h[297:305] = b"sealroom"
    h[329:337] = b"0000000\0"
    h[337:345] = b"0000000\0"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


manifest_bytes = contents["MANIFEST.json"]
m = json.loads(manifest_bytes)
created = int(datetime.datetime.strptime(m["created"], "%Y-%m-%dT%H:%M:%SZ")
              .replace(tzinfo=datetime.timezone.utc).timestamp())
off, ok = 0, True
for name in names:
    size = len(contents[name])
    ok &= raw[off:off + 512] == tar_header(name, size, created)
    off += 512
    ok &= raw[off:off + size] == contents[name]
    off += size + (-size % 512)
check(ok, "every header is the canonical one of FORMAT.md §8")
check(len(raw) - off >= 1024 and raw[off:] == bytes(len(raw) - off), "two zero blocks end the archive")

# --- §6 manifest and §7 signature --------------------------------------------------------
check(m["format"] == "sealroom-archive" and m["version"] == 1, "format and version")
check(m["owner"] == {"id": "lab.one", "address": owner["address"]}, "owner id and address")
compose_hash = hashlib.sha256(open("recipe.json", "rb").read()).digest()
check(m["recipe"]["compose_hash"] == compose_hash.hex(), "compose hash = SHA-256 of the recipe bytes")
check(m["recipe"]["app_id"] == "0x" + "ab" * 20, "app id")
check(m["key"]["kms_root_pubkey"] == kms_pub_hex, "KMS root public key")
check(m["epsilon_total"] == 0.75, "epsilon_total")
check(m["data"]["rows"] == len(rows) and m["data"]["segment_size"] == 4096 and m["data"]["chunk_rows"] == 500,
      "rows, segment size, chunk rows")
for i, c in enumerate(m["columns"]):
    data = contents[c["member"]]
    check(c["size"] == len(data) and c["sha256"] == hashlib.sha256(data).hexdigest(),
          "column %d size and SHA-256" % i)

manifest_hash = hashlib.sha256(manifest_bytes).digest()
sig = contents["MANIFEST.sig"]
check(len(sig) == 65 and sig[64] in (27, 28), "signature is r||s||v with v in {27, 28}")
digest = keccak256(b"\x19Ethereum Signed Message:\n32" + manifest_hash)
candidates = VerifyingKey.from_public_key_recovery_with_digest(sig[:64], digest, curve=SECP256k1,
                                                              sigdecode=lambda s, o: (int.from_bytes(s[:32], "big"),
                                                                                      int.from_bytes(s[32:], "big")))
recovered = eth_address(candidates[sig[64] - 27].pubkey.point)
check("0x" + recovered.hex() == owner["address"].lower(), "EIP-191 signature recovers the owner's address")

# --- §3 key derivation and unwrap ------------------------------------------------------------
sk_root = int(open("kms/root.key").read().strip(), 16)
p_root = bytes.fromhex(kms_pub_hex)
check(compress(G * sk_root) == p_root, "root.pub is sk_root·G")


def tweak(app_id, ch, owner_id):
    context = app_id + ch + owner_id
    t = int.from_bytes(hkdf(p_root, b"sealroom/v1/recipe-key", context), "big")
    c = 0
    while not 1 <= t < N:
        c += 1
        t = int.from_bytes(hkdf(p_root, b"sealroom/v1/recipe-key", context + bytes([c])), "big")
    return t, context


def unwrap(app_id, ch, owner_id):
    t, context = tweak(app_id, ch, owner_id)
    recipe_pub = decompress(p_root) + G * t  # P = P_root + t·G
    sk = (sk_root + t) % N
    assert compress(G * sk) == compress(recipe_pub)
    e_pub = bytes.fromhex(m["key"]["ephemeral"])
    shared = ecdh(sk, decompress(e_pub))
    k_wrap = hkdf(shared, b"sealroom/v1/dek-wrap", e_pub + compress(recipe_pub) + context)
    return AESGCM(k_wrap).decrypt(bytes(12), bytes.fromhex(m["key"]["wrapped_dek"]), b"")


app_id = bytes.fromhex(m["recipe"]["app_id"][2:])
dek = unwrap(app_id, compose_hash, b"lab.one")
check(len(dek) == 32, "DEK unwrapped")
for label, args in [("compose hash", (app_id, bytes([compose_hash[0] ^ 1]) + compose_hash[1:], b"lab.one")),
                    ("app id", (bytes([app_id[0] ^ 1]) + app_id[1:], compose_hash, b"lab.one")),
                    ("owner id", (app_id, compose_hash, b"lab.onf"))]:
    try:
        unwrap(*args)
        check(False, "a changed %s must not unwrap" % label)
    except InvalidTag:
        check(True, "a changed %s does not unwrap" % label)

# --- §4, §5 column streams ---------------------------------------------------------------------
archive_id = bytes.fromhex(m["archive_id"])
schema = m["schema"]
type_code = {"int": 1, "float": 2, "bool": 3, "date": 4, "string": 5}
header = b"sealroom/v1/data" + archive_id + bytes.fromhex(m["owner"]["address"][2:])
header += struct.pack(">III", m["data"]["segment_size"], m["data"]["chunk_rows"], len(schema))
for col in schema:
    name = col["name"].encode()
    header += bytes([type_code[col["type"]], len(name)]) + name
data_hash = hashlib.sha256(header).digest()
S = m["data"]["segment_size"]


def decrypt_stream(i, ct):
    key = hkdf(dek, b"sealroom/v1/column-key", archive_id + struct.pack(">I", i))
    gcm, full = AESGCM(key), S + 16
    nseg = -(-len(ct) // full)
    out = b""
    for j in range(nseg):
        seg = ct[j * full:(j + 1) * full]
        last = 1 if j == nseg - 1 else 0
        nonce = j.to_bytes(11, "big") + bytes([last])
        out += gcm.decrypt(nonce, seg, data_hash + struct.pack(">IQ", i, j))
    return out, nseg


def decode_chunk(b, want_type):
    typ, flags, width, _, n = struct.unpack_from("<BBBBI", b, 0)
    assert typ == want_type, (typ, want_type)
    pos, nulls = 8, [False] * n
    if flags & 1:
        nb = (n + 7) // 8
        nulls = [bool(b[pos + r // 8] >> (r % 8) & 1) for r in range(n)]
        pos += nb
    if typ in (1, 2, 3, 4):
        fmt, size = {1: ("<q", 8), 2: ("<d", 8), 3: ("<B", 1), 4: ("<i", 4)}[typ]
        vals = [struct.unpack_from(fmt, b, pos + r * size)[0] for r in range(n)]
        pos += n * size
    else:
        count = struct.unpack_from("<I", b, pos)[0]
        offs = struct.unpack_from("<%dI" % (count + 1), b, pos + 4)
        pos += 4 + 4 * (count + 1)
        blob = b[pos:pos + offs[-1]]
        pos += offs[-1]
        entries = [blob[offs[k]:offs[k + 1]].decode() for k in range(count)]
        fmt = {1: "<B", 2: "<H", 4: "<I"}[width]
        vals = [entries[struct.unpack_from(fmt, b, pos + r * width)[0]] if not nulls[r] else None
                for r in range(n)]
        pos += n * width
    assert pos == len(b), "chunk length"
    return [None if nulls[r] else vals[r] for r in range(n)]


columns, nsegs = [], []
for i, col in enumerate(schema):
    stream, nseg = decrypt_stream(i, contents["col/%04d.bin" % i])
    nsegs.append(nseg)
    values, pos, nchunks = [], 0, 0
    while pos < len(stream):
        (length,) = struct.unpack_from("<I", stream, pos)
        values += decode_chunk(stream[pos + 4:pos + 4 + length], type_code[col["type"]])
        pos += 4 + length
        nchunks += 1
    check(pos == len(stream) and nchunks == m["data"]["chunks"] and len(values) == len(rows),
          "column %d: %d chunks, %d rows, stream ends on a record" % (i, nchunks, len(values)))
    columns.append(values)
check(max(nsegs) > 2, "streams span several segments (%s)" % nsegs)

# --- compare with the CSV -----------------------------------------------------------------------
epoch = datetime.date(1970, 1, 1)


def expect(text, typ):
    if text == "":
        return None
    if typ == "int":
        return int(text)
    if typ == "float":
        return float(text)
    if typ == "bool":
        return 1 if text == "true" else 0
    if typ == "date":
        return (datetime.date.fromisoformat(text) - epoch).days
    return text


mismatch = 0
for r, row in enumerate(rows):
    for i, col in enumerate(schema):
        if expect(row[i], col["type"]) != columns[i][r]:
            mismatch += 1
            if mismatch < 5:
                print("row %d column %s: %r != %r" % (r, col["name"], row[i], columns[i][r]))
check(mismatch == 0, "every value of %d rows x %d columns equals the CSV" % (len(rows), len(schema)))

# a segment swap and a truncation are detected
ct = contents["col/0001.bin"]
full = S + 16
swapped = ct[:full] + ct[2 * full:3 * full] + ct[full:2 * full] + ct[3 * full:]
for label, bad in [("swapped segments", swapped), ("dropped last segment", ct[:len(ct) - (len(ct) % full or full)])]:
    try:
        decrypt_stream(1, bad)
        check(False, label + " must fail")
    except InvalidTag:
        check(True, label + " fail to authenticate")

print("%d failed" % failures)
sys.exit(1 if failures else 0)
